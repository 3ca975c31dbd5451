"""The DRAM tier's stream engine: every buffer and weight or constant region on one write and one
read port of LiteDRAM's crossbar (docs/dram.md, "The stream engine").

One LiteDRAM FIFO per buffer costs two crossbar ports, and LiteDRAM's crossbar arbitrates every
bank over every port: on insta_resnet18 (71 buffers, 142 ports) that was 21k LUT of arbitration
alone. The engine keeps the tier's outside (a `<name>_s_axis_*` / `<name>_m_axis_*` stream pair
per buffer, a `<name>_m_axis_*` per region, the same DRAM layout) and replaces what sits between
the streams and the controller:

* **Staging, per stream.** Words into a buffer are cut (or packed) into the chip's words and wait
  in a write staging FIFO of `2 * BURST` chip words (one burst for a slow stream); words out of a
  buffer or region land in a read staging FIFO of the same depth and are put back together
  there. Both are LUT-RAM FIFOs.
* **A ring in DRAM, per buffer.** Each buffer owns its `layout` region of `R` chip words (a power
  of two): a write pointer and a read pointer modulo `R`, and `count`, the chip words whose write
  commands the crossbar has accepted and that no read has claimed. A read only ever claims counted
  words, so it sees what was written (a read queued after a write to the same bank executes after
  it), and a write burst only starts while `count <= R - 2 * BURST` (a claimed read burst may not
  have issued its commands yet), so nothing unread is overwritten. With its staging the buffer
  holds at least `R` chip words, as the LiteDRAM FIFO did.
* **Regions** are read-only: once `start` (the loader's `loaded`) is high they always have a
  burst, and their read pointer wraps at their last chip word.
* **Two schedulers.** The write side grants a buffer whose staging holds a whole burst; the read
  side a stream whose DRAM ring holds a burst and whose read staging has room for one (reserved at
  the grant, so returning data never waits). A burst is up to `BURST` consecutive chip words, one
  command each, through LiteDRAM's DMA writer and reader. When no stream has a whole burst, or on
  every `PARTIAL_EVERY`-th grant, any stream with at least one word may go, with a short burst:
  the last words of a frame (or of a shortcut that its consumer waits for) never wait for more
  words that cannot come, and a stream with a tail is served within a bounded number of grants.
  Both schedulers are round-robin and linear in the streams (`round_robin`).
* **Counts without carry chains where possible.** A count changes by one side at a time (no
  read grant in the clock a write burst ends), the thresholds are bit tests, and a staging FIFO's
  level is the difference of its two pointers: the per-stream logic is what scales.
* **Steering.** The read port returns data in the order of its commands; a tag FIFO (stream, burst
  length) per granted read burst says which read staging FIFO the data goes to.

Between two bursts each side idles one clock: the crossbar hands a bank to another port only when
its granted port has no command for it, so the read and write ports alternate on a shared bank.
Pointers live in two small tables (LUT RAM), cleared in the first clocks after reset (one entry a
clock).
"""

from __future__ import annotations

import math

# Chip words per burst (one command each); the staging FIFOs hold two bursts.
BURST = 16
# Every PARTIAL_EVERY-th grant of a side may go to a stream with less than a burst staged.
PARTIAL_EVERY = 4
# Outstanding read words (the DMA reader's FIFO) and granted read bursts (the tag FIFO).
READ_INFLIGHT = 32
# The smallest ring (chip words): a write burst starts only while count <= size - 2 * BURST.
MIN_RING = 4 * BURST


def _bits(n: int) -> int:
    return max(1, math.ceil(math.log2(max(n, 2))))


def round_robin(m, req, above, n: int, name: str):
    """Round-robin arbitration over `req` (n bits), linear in n: the requests in `above` (the
    streams after the previous grant) first, else all of them, lowest index first. Returns
    (one-hot grant, its index, any request, the `above` mask for the next turn). The lowest set
    bit is `x & -x` and the streams after it `-(grant << 1)`, both carry chains; Migen's
    RoundRobin is a case per grant over an if-chain of all the others, quadratic in n."""
    from migen import Cat, Mux, Signal

    hi = Signal(n, name=f"{name}_hi")
    pick = Signal(n, name=f"{name}_pick")
    onehot = Signal(n, name=f"{name}_onehot")
    after = Signal(n + 1, name=f"{name}_after")
    index = Signal(max=max(n, 2), name=f"{name}_index")
    m.comb += [
        hi.eq(req & above),
        pick.eq(Mux(hi != 0, hi, req)),
        onehot.eq(pick & (~pick + 1)),
        after.eq(~Cat(0, onehot) + 1),
    ]
    for b in range(len(index)):  # the index: one OR per bit over the streams with that bit set
        bits = [onehot[i] for i in range(n) if i >> b & 1]
        m.comb += index[b].eq(Cat(*bits) != 0 if bits else 0)
    return onehot, index, req != 0, after[:n]


def _at_most(value, limit: int, bits: int):
    """`value <= limit` for `limit = (2^m - 1) * 2^k` as bit tests (no carry chain): the bits
    above k are below all-ones, or all-ones with the bits below k zero, and no bit above m + k."""
    from migen import Constant

    k = (limit & -limit).bit_length() - 1 if limit else bits
    hi = limit >> k
    m_ = hi.bit_length()
    assert hi == (1 << m_) - 1, limit
    top = value[k + m_ :] if k + m_ < bits else Constant(0, 1)
    ones = value[k : k + m_] == hi
    low_zero = value[:k] == 0 if k else Constant(1, 1)
    return (top == 0) & (~ones | low_zero)


class _Staging:
    """A FIFO of chip words in LUT RAM, `depth` a power of two: free-running pointers one bit wider
    than the address, the level their difference (one subtractor; no level counter)."""

    def __init__(self, m, name: str, bits: int, depth: int) -> None:
        from litex.soc.interconnect import stream
        from migen import If, Memory, Signal

        k = _bits(depth)
        self.sink = stream.Endpoint([("data", bits)], name=f"{name}_sink")
        self.source = stream.Endpoint([("data", bits)], name=f"{name}_source")
        self.level = Signal(k + 1, name=f"{name}_level")
        wp, rp = Signal(k + 1, name=f"{name}_wp"), Signal(k + 1, name=f"{name}_rp")
        mem = Memory(bits, depth, name=f"{name}_mem")
        wr, rd = mem.get_port(write_capable=True), mem.get_port(async_read=True)
        m.specials += mem, wr, rd
        push = self.sink.valid & self.sink.ready
        pop = self.source.valid & self.source.ready
        m.comb += [
            self.level.eq(wp - rp),
            self.sink.ready.eq(~self.level[k]),
            self.source.valid.eq(wp != rp),
            wr.adr.eq(wp[:k]), wr.dat_w.eq(self.sink.data), wr.we.eq(push),
            rd.adr.eq(rp[:k]), self.source.data.eq(rd.dat_r),
        ]  # fmt: skip
        m.sync += [If(push, wp.eq(wp + 1)), If(pop, rp.eq(rp + 1))]


class Stream:
    """One stream as the engine sees it: its name, word width `width`, the bits a word takes in
    DRAM `fw` (packed below the chip's width, a power-of-two multiple above), and where it lives,
    in chip words from `base`:

    * a buffer (`cyclic` 0): a ring of `size` chip words, a power of two of at least MIN_RING,
      aligned to its size; written from `<name>_s_axis_*`, read into `<name>_m_axis_*`;
    * a region (`cyclic` > 0): `cyclic` chip words of constant data (an MVAU's weights, loaded
      once by the tier's loader), read from its first word over and over into `<name>_m_axis_*`
      once the engine's `start` is high."""

    def __init__(
        self, name: str, width: int, fw: int, base: int, size: int = 0, cyclic: int = 0,
        slow: bool = False,
    ) -> None:  # fmt: skip
        if not cyclic and (size & (size - 1) or size < MIN_RING):
            raise ValueError(
                f"{name}: ring of {size} chip words, needs a power of two >= {MIN_RING}"
            )
        self.name, self.width, self.fw, self.base = name, width, fw, base
        self.size, self.cyclic = size, cyclic
        self.depth = BURST if slow else 2 * BURST  # staging: one burst for a slow stream


def _ports(m, s: Stream, sink, source, ios: set) -> None:
    """A stream's AXI-Stream ports: `<name>_s_axis_*` into `sink` (buffers only) and
    `<name>_m_axis_*` out of `source` (its low `width` bits)."""
    from migen import Signal

    if sink is not None:
        s_data = Signal(s.width, name=f"{s.name}_s_axis_tdata")
        s_valid = Signal(name=f"{s.name}_s_axis_tvalid")
        s_ready = Signal(name=f"{s.name}_s_axis_tready")
        m.comb += [sink.valid.eq(s_valid), sink.data.eq(s_data), s_ready.eq(sink.ready)]
        ios |= {s_data, s_valid, s_ready}
    m_data = Signal(s.width, name=f"{s.name}_m_axis_tdata")
    m_valid = Signal(name=f"{s.name}_m_axis_tvalid")
    m_ready = Signal(name=f"{s.name}_m_axis_tready")
    m.comb += [
        m_valid.eq(source.valid), m_data.eq(source.data[: s.width]), source.ready.eq(m_ready),
    ]  # fmt: skip
    ios |= {m_data, m_valid, m_ready}


def _converted(m, s: Stream, chip_bits: int, ws, rs):
    """(sink, source) of a stream's words around its staging FIFOs: cut into (or packed into)
    chip words on the way in, put back together on the way out, lowest bits first (LiteX's
    stream converters)."""
    from litex.soc.interconnect import stream

    if s.fw == chip_bits:
        return (ws.sink if ws else None), rs.source
    sink = None
    if ws is not None:
        to_chip = stream.Converter(s.fw, chip_bits)
        setattr(m.submodules, f"{s.name}_to_chip", to_chip)
        m.comb += [
            ws.sink.valid.eq(to_chip.source.valid), ws.sink.data.eq(to_chip.source.data),
            to_chip.source.ready.eq(ws.sink.ready),
        ]  # fmt: skip
        sink = to_chip.sink
    from_chip = stream.Converter(chip_bits, s.fw)
    setattr(m.submodules, f"{s.name}_from_chip", from_chip)
    m.comb += [
        from_chip.sink.valid.eq(rs.source.valid), from_chip.sink.data.eq(rs.source.data),
        rs.source.ready.eq(from_chip.sink.ready),
    ]  # fmt: skip
    return sink, from_chip.source


def _turn(m, full, any_, n: int, name: str):
    """The requests of one side's turn: the streams with a whole burst, except when there are
    none or on every PARTIAL_EVERY-th turn, when any stream with a word may go. Returns (the
    requests, the turn counter to advance at a grant)."""
    from migen import Mux, Signal

    turn = Signal(max=PARTIAL_EVERY, name=f"{name}_turn")
    req = Signal(n, name=f"{name}_req")
    m.comb += req.eq(Mux((full == 0) | (turn == PARTIAL_EVERY - 1), any_, full))
    return req, turn


def build_engine(m, streams: list[Stream], wport, rport, chip_bits: int, start=None) -> set:
    """Add the engine for `streams` to Migen module `m`, on the crossbar's `wport` (None when
    every stream is a region) and `rport` (native ports at the chip's width); regions are read
    once `start` is high. Returns the streams' ports (`<name>_s_axis_*`, `<name>_m_axis_*`)."""
    from litedram.frontend.dma import LiteDRAMDMAReader, LiteDRAMDMAWriter
    from litex.soc.interconnect import stream
    from migen import FSM, Array, Constant, If, Memory, Mux, NextState, NextValue, Signal

    fifos = [s for s in streams if not s.cyclic]
    regions = [s for s in streams if s.cyclic]
    streams = fifos + regions  # buffers first: the write side's indices are the same
    n, nf = len(streams), len(fifos)
    lb = _bits(BURST + 1)  # a burst length, 0 .. BURST
    kb = _bits(BURST)  # log2(BURST)
    reader = LiteDRAMDMAReader(rport, fifo_depth=READ_INFLIGHT)
    m.submodules.engine_reader = reader
    ptr_bits = _bits(max(s.cyclic or s.size for s in streams))
    abits = len(rport.cmd.addr)
    bases = Array(Constant(s.base, abits) for s in streams)
    masks = Array(Constant((s.size or 1 << ptr_bits) - 1, ptr_bits) for s in streams)
    ios: set = set()

    # Per stream: staging FIFOs, converters, ports; a buffer's ring count; the read room.
    wstage, rstage, count, room = [], [], [], []
    for s in streams:
        ws = None if s.cyclic else _Staging(m, f"{s.name}_wstage", chip_bits, s.depth)
        rs = _Staging(m, f"{s.name}_rstage", chip_bits, s.depth)
        sink, source = _converted(m, s, chip_bits, ws, rs)
        _ports(m, s, sink, source, ios)
        if ws is not None:
            wstage.append(ws)
            count.append(Signal(_bits(s.size) + 1, name=f"{s.name}_count"))
        rstage.append(rs)
        room.append(Signal(lb + 1, reset=s.depth, name=f"{s.name}_room"))

    # Pointer tables (LUT RAM): a write pointer per buffer and a read pointer per stream, cleared
    # for max(n, 2) clocks after reset (Migen needs two entries for an address).
    clearing = Signal(reset=1, name="engine_clearing")
    clear_idx = Signal(max=max(n, 2), name="engine_clear_idx")
    m.sync += If(clearing, clear_idx.eq(clear_idx + 1), If(clear_idx == n - 1, clearing.eq(0)))

    def table(name: str, entries: int):
        mem = Memory(ptr_bits, max(entries, 2), name=name)
        rd, wr = mem.get_port(async_read=True), mem.get_port(write_capable=True)
        m.specials += mem, rd, wr
        return rd, wr

    # ---- write side: a buffer with a burst staged and ring space for it ----
    w_done = Signal(name="engine_w_done")
    w_sel_oh = Signal(max(nf, 1), name="engine_w_sel_oh")
    w_n = Signal(lb, name="engine_w_n")  # the burst's length, added to the count at its end
    if fifos:
        writer = LiteDRAMDMAWriter(wport, fifo_depth=BURST)
        m.submodules.engine_writer = writer
        wt_r, wt_w = table("engine_wtab", nf)
        w_whole = Signal(nf, name="engine_w_whole")  # a whole burst staged
        w_full = Signal(nf, name="engine_w_full")
        w_any = Signal(nf, name="engine_w_any")
        for i, (s, ws) in enumerate(zip(fifos, wstage, strict=True)):
            # one read burst may be claimed and not yet issued: keep 2 * BURST of the ring free
            fits = _at_most(count[i], s.size - 2 * BURST, len(count[i]))
            m.comb += [
                w_whole[i].eq(ws.level[kb:] != 0),
                w_full[i].eq(fits & w_whole[i]),
                w_any[i].eq(fits & ws.source.valid),
            ]  # fmt: skip
        w_req, w_turn = _turn(m, w_full, w_any, nf, "engine_w")
        w_above = Signal(nf, name="engine_w_above")
        w_oh, w_g, w_go, w_after = round_robin(m, w_req, w_above, nf, "engine_w")
        w_sel = Signal(max=max(nf, 2), name="engine_w_sel")
        w_left = Signal(lb, name="engine_w_left")
        w_ptr = Signal(ptr_bits, name="engine_w_ptr")
        w_len = Signal(lb, name="engine_w_len")
        whole = Array(w_whole[i] for i in range(nf))
        m.comb += w_len.eq(Mux(whole[w_g], BURST, Array(ws.level[:kb] for ws in wstage)[w_g]))
        w_hs = Signal(name="engine_w_hs")
        w_next = Signal(ptr_bits, name="engine_w_next")
        m.comb += [
            wt_r.adr.eq(w_g),
            writer.sink.address.eq(bases[w_sel] | w_ptr),  # rings are aligned to their size
            writer.sink.data.eq(Array(ws.source.data for ws in wstage)[w_sel]),
            w_hs.eq(writer.sink.valid & writer.sink.ready),
            w_done.eq(w_hs & (w_left == 1)),
            w_next.eq((w_ptr + 1) & masks[w_sel]),
            wt_w.adr.eq(Mux(clearing, clear_idx, w_sel)),
            wt_w.dat_w.eq(Mux(clearing, 0, w_next)),
            wt_w.we.eq(clearing | w_done),
        ]
        for i, ws in enumerate(wstage):
            m.comb += ws.source.ready.eq(w_hs & w_sel_oh[i])
        wfsm = FSM(reset_state="IDLE")
        m.submodules.engine_wfsm = wfsm
        wfsm.act("IDLE",
            If(~clearing & w_go,
                NextValue(w_sel, w_g), NextValue(w_sel_oh, w_oh), NextValue(w_above, w_after),
                NextValue(w_left, w_len), NextValue(w_n, w_len), NextValue(w_ptr, wt_r.dat_r),
                NextValue(w_turn, Mux(w_turn == PARTIAL_EVERY - 1, 0, w_turn + 1)),
                NextState("BURST")))  # fmt: skip
        wfsm.act("BURST",
            writer.sink.valid.eq(1),
            If(w_hs,
                NextValue(w_ptr, w_next), NextValue(w_left, w_left - 1),
                If(w_left == 1, NextState("IDLE"))))  # fmt: skip

    # ---- read side: words in the ring (a region: always, once started) and room for a burst
    # in the stream's read staging ----
    rt_r, rt_w = table("engine_rtab", n)
    tags = stream.SyncFIFO([("sel", _bits(n)), ("len", lb)], READ_INFLIGHT)
    m.submodules.engine_tags = tags
    r_whole = Signal(n, name="engine_r_whole")
    r_full = Signal(n, name="engine_r_full")
    r_any = Signal(n, name="engine_r_any")
    for i in range(n):
        roomy = room[i][kb:] != 0
        has = (count[i][kb:] != 0, count[i] != 0) if i < nf else (start, start)
        m.comb += [
            r_whole[i].eq(has[0]),
            r_full[i].eq(roomy & r_whole[i]),
            r_any[i].eq(roomy & has[1]),
        ]  # fmt: skip
    r_req, r_turn = _turn(m, r_full, r_any, n, "engine_r")
    r_above = Signal(n, name="engine_r_above")
    r_oh, r_g, r_go, r_after = round_robin(m, r_req, r_above, n, "engine_r")
    r_sel = Signal(max=max(n, 2), name="engine_r_sel")
    r_left = Signal(lb, name="engine_r_left")
    r_ptr = Signal(ptr_bits, name="engine_r_ptr")
    r_len = Signal(lb, name="engine_r_len")
    rwhole = Array(r_whole[i] for i in range(n))
    low = Array([c[:kb] for c in count] + [Constant(0, kb)] * len(regions))
    m.comb += r_len.eq(Mux(rwhole[r_g], BURST, low[r_g]))
    r_grant = Signal(name="engine_r_grant")
    r_hs = Signal(name="engine_r_hs")
    r_next = Signal(ptr_bits, name="engine_r_next")
    ring_next = (r_ptr + 1) & masks[r_sel]
    if regions:  # a region wraps at its last word
        lasts = Array(Constant(max(s.cyclic - 1, 0), ptr_bits) for s in streams)
        cyc_next = Mux(r_ptr == lasts[r_sel], 0, r_ptr + 1)
        ring_next = Mux(r_sel >= nf, cyc_next, ring_next)
    m.comb += [
        rt_r.adr.eq(r_g),
        reader.sink.address.eq(bases[r_sel] + r_ptr),
        r_hs.eq(reader.sink.valid & reader.sink.ready),
        r_next.eq(ring_next),
        rt_w.adr.eq(Mux(clearing, clear_idx, r_sel)),
        rt_w.dat_w.eq(Mux(clearing, 0, r_next)),
        rt_w.we.eq(clearing | (r_hs & (r_left == 1))),
        tags.sink.sel.eq(r_g),
        tags.sink.len.eq(r_len),
    ]
    rfsm = FSM(reset_state="IDLE")
    m.submodules.engine_rfsm = rfsm
    # No grant while a write burst ends: a count then changes by one side only (one adder each).
    rfsm.act("IDLE",
        If(~clearing & r_go & tags.sink.ready & ~w_done,
            r_grant.eq(1), tags.sink.valid.eq(1),
            NextValue(r_sel, r_g), NextValue(r_above, r_after), NextValue(r_left, r_len),
            NextValue(r_ptr, rt_r.dat_r),
            NextValue(r_turn, Mux(r_turn == PARTIAL_EVERY - 1, 0, r_turn + 1)),
            NextState("BURST")))  # fmt: skip
    rfsm.act("BURST",
        reader.sink.valid.eq(1),
        If(r_hs,
            NextValue(r_ptr, r_next), NextValue(r_left, r_left - 1),
            If(r_left == 1, NextState("IDLE"))))  # fmt: skip

    # Returning data goes to the read staging FIFO of the oldest granted burst.
    r_got = Signal(lb, name="engine_r_got")
    d_hs = Signal(name="engine_d_hs")
    stage_ready = Array(rs.sink.ready for rs in rstage)
    m.comb += [
        reader.source.ready.eq(tags.source.valid & stage_ready[tags.source.sel]),
        d_hs.eq(reader.source.valid & reader.source.ready),
        tags.source.ready.eq(d_hs & (r_got == tags.source.len - 1)),
    ]
    m.sync += If(d_hs, r_got.eq(Mux(r_got == tags.source.len - 1, 0, r_got + 1)))
    for i, rs in enumerate(rstage):
        m.comb += [
            rs.sink.valid.eq(d_hs & (tags.source.sel == i)),
            rs.sink.data.eq(reader.source.data),
        ]

    # The counts: + a write burst when its last command is accepted, - a read burst at its grant
    # (never in the same clock); the read room: - a burst at its grant, + each chip word taken.
    neg_r = Signal((lb + 1, True), name="engine_neg_r")
    m.comb += neg_r.eq(-r_len)
    for i, (s, rs) in enumerate(zip(streams, rstage, strict=True)):
        took = r_grant & r_oh[i]
        popped = rs.source.valid & rs.source.ready
        m.sync += room[i].eq(room[i] + Mux(took, neg_r + popped, popped))
        if i < nf:
            delta = Signal((lb + 1, True), name=f"{s.name}_delta")
            m.comb += delta.eq(Mux(took, neg_r, Mux(w_done & w_sel_oh[i], w_n, 0)))
            m.sync += count[i].eq(count[i] + delta)
    return ios
