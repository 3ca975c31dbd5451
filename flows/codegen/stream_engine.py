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
* **Taps** read a buffer's ring a second time: each has its own read pointer, count and read
  staging (`<name>_tap<i>_m_axis_*`), the same words in the same order, and a write burst
  starts only while every reader's count leaves room, so the ring waits for its slowest reader
  (an INSTA-Th's delayed output for the residual shortcut, docs/dram.md).
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


def tap_name(buffer: str, i: int) -> str:
    """The port prefix of tap `i` of a buffer's ring: `<buffer>_tap<i>` (the tier's
    `_m_axis_*`, accel_top's `_s_axis_*`)."""
    return f"{buffer}_tap{i}"


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
        slow: bool = False, taps: int = 0,
    ) -> None:  # fmt: skip
        if not cyclic and (size & (size - 1) or size < MIN_RING):
            raise ValueError(
                f"{name}: ring of {size} chip words, needs a power of two >= {MIN_RING}"
            )
        self.name, self.width, self.fw, self.base = name, width, fw, base
        self.size, self.cyclic, self.slow = size, cyclic, slow
        self.depth = BURST if slow else 2 * BURST  # staging: one burst for a slow stream
        self.taps = 0 if cyclic else taps  # second readers of the ring: `<name>_tap<i>_m_axis_*`

    def tap(self, i: int) -> Stream:
        """The read-only stream of tap `i`: the ring's words again, into `<name>_tap<i>_m_axis_*`."""
        return Stream(tap_name(self.name, i), self.width, self.fw, self.base, self.size,
                      slow=self.slow)  # fmt: skip


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


class _Side:
    """One side's scheduler (`_side`): the grant (`g`, one-hot `oh`, `go`), the burst in flight
    (`sel`, `ptr`, `left`, its length `length` at the grant), the DMA handshake `hs` and `done`
    (the burst's last command accepted)."""


def _side(m, name, full, any_, n, length_of, table, dma, next_of, clearing, clear_idx, bits,
          may_grant=1, on_grant=lambda x: ()):  # fmt: skip
    """The scheduler both sides share: a round-robin grant among the requests of the turn
    (`_turn`), then a burst of `length_of(grant)` commands from the stream's pointer (read from
    its `table`, written back at the burst's end; `next_of(ptr, sel)` steps it) into `dma`'s sink,
    with an idle clock between bursts. `may_grant` gates a grant, `on_grant(side)` adds
    statements to it; `bits` = (pointer bits, burst-length bits)."""
    from migen import FSM, If, Mux, NextState, NextValue, Signal

    ptr_bits, lb = bits
    t_r, t_w = table
    x = _Side()
    req, turn = _turn(m, full, any_, n, name)
    above = Signal(n, name=f"{name}_above")
    x.oh, x.g, x.go, after = round_robin(m, req, above, n, name)
    x.sel = Signal(max=max(n, 2), name=f"{name}_sel")
    x.left = Signal(lb, name=f"{name}_left")
    x.ptr = Signal(ptr_bits, name=f"{name}_ptr")
    x.length = Signal(lb, name=f"{name}_len")
    x.hs = Signal(name=f"{name}_hs")
    x.done = Signal(name=f"{name}_done")
    nxt = Signal(ptr_bits, name=f"{name}_next")
    m.comb += [
        x.length.eq(length_of(x.g)),
        t_r.adr.eq(x.g),
        x.hs.eq(dma.sink.valid & dma.sink.ready),
        x.done.eq(x.hs & (x.left == 1)),
        nxt.eq(next_of(x.ptr, x.sel)),
        t_w.adr.eq(Mux(clearing, clear_idx, x.sel)),
        t_w.dat_w.eq(Mux(clearing, 0, nxt)),
        t_w.we.eq(clearing | x.done),
    ]
    fsm = FSM(reset_state="IDLE")
    setattr(m.submodules, f"{name}fsm", fsm)
    fsm.act("IDLE",
        If(~clearing & x.go & may_grant, *on_grant(x),
            NextValue(x.sel, x.g), NextValue(above, after), NextValue(x.left, x.length),
            NextValue(x.ptr, t_r.dat_r),
            NextValue(turn, Mux(turn == PARTIAL_EVERY - 1, 0, turn + 1)),
            NextState("BURST")))  # fmt: skip
    fsm.act("BURST",
        dma.sink.valid.eq(1),
        If(x.hs,
            NextValue(x.ptr, nxt), NextValue(x.left, x.left - 1),
            If(x.left == 1, NextState("IDLE"))))  # fmt: skip
    return x


def build_engine(m, streams: list[Stream], wport, rport, chip_bits: int, start=None) -> set:
    """Add the engine for `streams` to Migen module `m`, on the crossbar's `wport` (None when
    every stream is a region) and `rport` (native ports at the chip's width); regions are read
    once `start` is high. Returns the streams' ports (`<name>_s_axis_*`, `<name>_m_axis_*`)."""
    from litedram.frontend.dma import LiteDRAMDMAReader, LiteDRAMDMAWriter
    from litex.soc.interconnect import stream
    from migen import Array, Constant, If, Memory, Mux, NextValue, Signal

    fifos = [s for s in streams if not s.cyclic]
    regions = [s for s in streams if s.cyclic]
    # the read side: the buffers (the write side's indices are the same), their taps (a count
    # each, written with their buffer's: `writer_of`), then the regions
    taps = [s.tap(k) for s in fifos for k in range(s.taps)]
    streams = fifos + taps + regions
    n, nf = len(streams), len(fifos)
    nc = nf + len(taps)  # the streams with a ring count
    writer_of = list(range(nf)) + [i for i, s in enumerate(fifos) for _ in range(s.taps)]
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
    for i, s in enumerate(streams):
        ws = _Staging(m, f"{s.name}_wstage", chip_bits, s.depth) if i < nf else None
        rs = _Staging(m, f"{s.name}_rstage", chip_bits, s.depth)
        sink, source = _converted(m, s, chip_bits, ws, rs)
        _ports(m, s, sink, source, ios)
        if ws is not None:
            wstage.append(ws)
        if i < nc:
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
    w_done = Constant(0, 1)  # a write burst's last command accepted (none without buffers)
    w_sel_oh = Signal(max(nf, 1), name="engine_w_sel_oh")
    w_n = Signal(lb, name="engine_w_n")  # the burst's length, added to the count at its end
    if fifos:
        writer = LiteDRAMDMAWriter(wport, fifo_depth=BURST)
        m.submodules.engine_writer = writer
        w_whole = Signal(nf, name="engine_w_whole")  # a whole burst staged
        w_full = Signal(nf, name="engine_w_full")
        w_any = Signal(nf, name="engine_w_any")
        for i, (s, ws) in enumerate(zip(fifos, wstage, strict=True)):
            # one read burst may be claimed and not yet issued: keep 2 * BURST of the ring free,
            # for the buffer's own reader and each of its taps (the ring waits for the slowest)
            fits = Constant(1, 1)
            for c in (c for c, w in enumerate(writer_of) if w == i):
                fits = fits & _at_most(count[c], s.size - 2 * BURST, len(count[c]))
            m.comb += [
                w_whole[i].eq(ws.level[kb:] != 0),
                w_full[i].eq(fits & w_whole[i]),
                w_any[i].eq(fits & ws.source.valid),
            ]  # fmt: skip
        whole = Array(w_whole[i] for i in range(nf))
        levels = Array(ws.level[:kb] for ws in wstage)
        w = _side(
            m, "engine_w", w_full, w_any, nf, lambda g: Mux(whole[g], BURST, levels[g]),
            table("engine_wtab", nf), writer, lambda p, sel: (p + 1) & masks[sel], clearing,
            clear_idx, (ptr_bits, lb),
            on_grant=lambda x: (NextValue(w_sel_oh, x.oh), NextValue(w_n, x.length)),
        )  # fmt: skip
        m.comb += [
            writer.sink.address.eq(bases[w.sel] | w.ptr),  # rings are aligned to their size
            writer.sink.data.eq(Array(ws.source.data for ws in wstage)[w.sel]),
        ]
        for i, ws in enumerate(wstage):
            m.comb += ws.source.ready.eq(w.hs & w_sel_oh[i])
        w_done = w.done

    # ---- read side: words in the ring (a region: always, once started) and room for a burst
    # in the stream's read staging ----
    tags = stream.SyncFIFO([("sel", _bits(n)), ("len", lb)], READ_INFLIGHT)
    m.submodules.engine_tags = tags
    r_whole = Signal(n, name="engine_r_whole")
    r_full = Signal(n, name="engine_r_full")
    r_any = Signal(n, name="engine_r_any")
    for i in range(n):
        roomy = room[i][kb:] != 0
        has = (count[i][kb:] != 0, count[i] != 0) if i < nc else (start, start)
        m.comb += [
            r_whole[i].eq(has[0]),
            r_full[i].eq(roomy & r_whole[i]),
            r_any[i].eq(roomy & has[1]),
        ]  # fmt: skip
    rwhole = Array(r_whole[i] for i in range(n))
    low = Array([c[:kb] for c in count] + [Constant(0, kb)] * len(regions))

    def r_next(p, sel):
        ring = (p + 1) & masks[sel]
        if not regions:
            return ring
        lasts = Array(Constant(max(s.cyclic - 1, 0), ptr_bits) for s in streams)
        return Mux(sel >= nc, Mux(p == lasts[sel], 0, p + 1), ring)  # a region wraps at its end

    r_grant = Signal(name="engine_r_grant")
    # No grant while a write burst ends: a count then changes by one side only (one adder each).
    r = _side(
        m, "engine_r", r_full, r_any, n, lambda g: Mux(rwhole[g], BURST, low[g]),
        table("engine_rtab", n), reader, r_next, clearing, clear_idx, (ptr_bits, lb),
        may_grant=tags.sink.ready & ~w_done,
        on_grant=lambda x: (r_grant.eq(1), tags.sink.valid.eq(1)),
    )  # fmt: skip
    m.comb += [
        reader.sink.address.eq(bases[r.sel] + r.ptr),
        tags.sink.sel.eq(r.g),
        tags.sink.len.eq(r.length),
    ]

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
    m.comb += neg_r.eq(-r.length)
    for i, (s, rs) in enumerate(zip(streams, rstage, strict=True)):
        took = r_grant & r.oh[i]
        popped = rs.source.valid & rs.source.ready
        m.sync += room[i].eq(room[i] + Mux(took, neg_r + popped, popped))
        if i < nc:  # a tap counts its buffer's write bursts
            delta = Signal((lb + 1, True), name=f"{s.name}_delta")
            wrote = w_done & w_sel_oh[writer_of[i]]
            m.comb += delta.eq(Mux(took, neg_r, Mux(wrote, w_n, 0)))
            m.sync += count[i].eq(count[i] + delta)
    return ios
