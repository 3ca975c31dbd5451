"""The external-memory tier in Verilog: LiteDRAM's controller and crossbar with the stream engine
in front, generated with Migen during the build (docs/dram.md).

`dram_tier` is one module, clocked by `sys_clk` (the accelerator's clock), with one stream pair
per external buffer: `<name>_s_axis_*` (words into the buffer, from the accelerator's
`..._m_axis_fb` port) and `<name>_m_axis_*` (words back out, into `..._s_axis_fb`), and one
`<name>_m_axis_*` per weight region. Every buffer and region is a stream of the stream engine
(flows/codegen/stream_engine.py) on one write and one read port of a `LiteDRAMCrossbar` in front
of one `LiteDRAMController`. The PHY is

* `"gensdr"`: LiteDRAM's generic SDR PHY (`GENSDRPHY`) on the board's SDRAM pins (`sdram_*`
  ports of the module), or
* `"model"`: LiteDRAM's `SDRAMPHYModel` of the same chip (its banks as memories, the chip's
  timing; with `check_timing` its DFI timing checker prints every violation, which the tests read).

No CPU runs the SDRAM initialisation here: an init sequencer (`_init_sequencer_class`) plays LiteDRAM's own init sequence
for the chip (`litedram.init.get_sdram_phy_init_sequence`: CKE high, precharge all, mode
register, refreshes) onto the DFI bus after reset, then hands the bus to the controller and raises
`init_done`. The accelerator is held in reset until then (the shell and the simulation top do).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from flows.artifacts import write_text
from flows.codegen.stream_engine import MIN_RING, Stream, build_engine, tap_name
from flows.hwmodel.dram import Dram, fifo_word_bits, region_traffic, side_traffic, slow_stream


@dataclass(frozen=True)
class ExternalBuffer:
    """One buffer in DRAM: `width` bits per word (the accelerator's), `words` of capacity, and
    `per_frame` words a frame (narrow words are packed when frames fill whole port words); a
    `slow` one stages one burst instead of two (`flows.hwmodel.dram.slow_stream`); `taps` more
    readers of its ring, each the same words again on `<name>_tap<i>_m_axis_*` (the stream
    engine's taps)."""

    name: str
    width: int
    words: int
    per_frame: int = 0
    slow: bool = False
    taps: int = 0


@dataclass(frozen=True)
class Region:
    """A DRAM region of `words` words of `width` bits, written and read in order from its start,
    not as a FIFO: the host loads it once (a batch of images, a layer's weights) and the design
    reads it back as often as it likes.

    Ports: `<name>_w_s_axis_*` (words written from the region's start; `<name>_w_rewind`, a
    one-cycle pulse, starts over) and `<name>_r_m_axis_*` (a `<name>_r_start` pulse reads
    `<name>_r_count` words from the region's start, in order); `<name>_r_busy` is high while a
    read has words left to issue.
    """

    name: str
    width: int
    words: int


@dataclass(frozen=True)
class WeightRegion:
    """Constant data the design reads over and over (an MVAU's weights, `LayerKind.dram_regions`):
    `words` words of `width` bits, loaded once through the tier's loader and then read
    cyclically from its first word into `<name>_m_axis_*`.

    The loader is one port for all weight regions: `load_s_axis_*`, the chip's data width per
    word, takes `weight_image`'s words in order (written from DRAM address 0); `loaded` rises once
    every one of them is accepted by the controller's crossbar, and only then does the stream
    engine read the regions (the accelerator is held in reset until then). Their reads restart
    from the first word only with the tier's reset, so the weight streams stay aligned with an
    accelerator that runs from its own reset at `loaded` on.
    """

    name: str
    width: int
    words: int
    slow: bool = False  # stages one burst instead of two (`flows.hwmodel.dram.slow_stream`)


def _migen():
    """Migen, LiteX and LiteDRAM, imported when a tier is built (they are large; the rest of the
    flow does not need them). A missing package fails with what to install."""
    try:
        import litedram  # noqa: F401
        import migen  # noqa: F401
    except ImportError as e:  # pragma: no cover - make setup installs them
        from flows.errors import ToolMissingError

        raise ToolMissingError(
            f"the DRAM tier needs migen, litex and litedram ({e}); run `make setup`"
        ) from None


def layout(buffers: list, dram: Dram) -> list[tuple]:
    """(item, base byte address, bytes) of each buffer, Region and WeightRegion. Weight regions
    come first, back to back from address 0, each at a multiple of its port word (the loader
    writes them as one image, `weight_image`); then the others, each a power of two of port
    words and at least the stream engine's MIN_RING chip words (its rings wrap by masking),
    aligned to its size. Raises ResourceError when they exceed the chip."""
    from flows.errors import ResourceError

    out, base = [], 0
    for b in [b for b in buffers if isinstance(b, WeightRegion)]:
        fw = fifo_word_bits(b.width, dram, b.words)
        pb = max(fw, dram.data_bits) // 8  # the reader's port word
        base = -(-base // pb) * pb
        size = -(-b.words * fw // 8 // pb) * pb
        out.append((b, base, size))
        base += size
    for b in [b for b in buffers if not isinstance(b, WeightRegion)]:
        fw = fifo_word_bits(b.width, dram, getattr(b, "per_frame", 0))
        bits = fw * (1 << math.ceil(math.log2(max(b.words, 2))))
        size = max(bits, fw, MIN_RING * dram.data_bits) // 8  # at least the engine's ring
        base = -(-base // size) * size
        out.append((b, base, size))
        base += size
    if base > dram.bytes:
        raise ResourceError(
            f"the external buffers and weights need {base} bytes of DRAM, the {dram.chip} has "
            f"{dram.bytes}: keep some on chip or choose a board with more DRAM"
        )
    return out


def weight_image(regions: list[tuple[WeightRegion, list[int]]], dram: Dram) -> list[int]:
    """The loader's words (`dram.data_bits` each, in order from DRAM address 0) that put each
    weight region's words where its reader finds them: a word wider than the chip is split into
    chip words, lowest bits first; narrow packed words share a chip word, the first in the lowest
    bits (LiteDRAM's port converters and LiteX's stream converters, both least significant
    first). Gaps between regions are zero."""
    spots = layout([r for r, _ in regions], dram)
    nb = dram.data_bits
    end = max((base + size for _, base, size in spots), default=0)
    image = [0] * (end * 8 // nb)
    for (r, words), (_, base, _) in zip(regions, spots, strict=True):
        if len(words) != r.words:
            raise ValueError(f"{r.name}: {len(words)} words, the region holds {r.words}")
        fw = fifo_word_bits(r.width, dram, r.words)
        bits = 0
        for i, w in enumerate(words):
            bits |= (w & ((1 << r.width) - 1)) << (i * fw)
        first = base * 8 // nb
        for j in range(-(-r.words * fw // nb)):
            image[first + j] = (bits >> (j * nb)) & ((1 << nb) - 1)
    return image


def build_tier(
    buffers: list[ExternalBuffer | Region],
    dram: Dram,
    clk_hz: float,
    phy: str,
    check_timing: bool = False,
    controller_clk_hz: float | None = None,
):
    """The Migen module of the tier (see the module docstring) and its ports for conversion.
    `controller_clk_hz` counts the controller's timing in cycles of another clock than the one it
    runs at (a slower one makes it break the chip's timing: the tests' proof that the model's
    checker reports violations)."""
    _migen()
    from litedram import modules as chips
    from litedram.core.controller import ControllerSettings, LiteDRAMController
    from litedram.core.crossbar import LiteDRAMCrossbar
    from litedram.phy.model import SDRAM_VERBOSE_OFF, SDRAM_VERBOSE_STD, SDRAMPHYModel
    from migen import Module, Signal

    module = getattr(chips, dram.chip)(clk_hz, "1:1")
    m = Module()
    ios = set()
    if phy == "model":
        phy_mod = SDRAMPHYModel(
            module, data_width=dram.data_bits, clk_freq=clk_hz,
            verbosity=SDRAM_VERBOSE_STD if check_timing else SDRAM_VERBOSE_OFF,
        )  # fmt: skip
    elif phy == "gensdr":
        from litedram.phy.gensdrphy import GENSDRPHY

        pads = _SdramPads(dram)
        phy_mod = GENSDRPHY(pads, clk_hz)
        ios |= pads.signals()
    else:
        raise ValueError(f"phy must be 'model' or 'gensdr', not {phy!r}")
    m.submodules.phy = phy_mod
    timed = (
        module if controller_clk_hz is None else getattr(chips, dram.chip)(controller_clk_hz, "1:1")
    )
    ctrl = LiteDRAMController(
        phy_mod.settings, module.geom_settings, timed.timing_settings, clk_hz,
        ControllerSettings(),
    )  # fmt: skip
    m.submodules.controller = ctrl
    m.submodules.init = init = _init_sequencer_class()(phy_mod, module, clk_hz)
    m.comb += init.connect(ctrl.dfi, phy_mod.dfi)
    m.submodules.crossbar = xbar = LiteDRAMCrossbar(ctrl.interface)
    init_done = Signal(name="init_done")
    m.comb += init_done.eq(init.done)
    ios.add(init_done)
    spots = layout(buffers, dram)
    nb = dram.data_bits
    weights = [spot for spot in spots if isinstance(spot[0], WeightRegion)]
    loaded = None
    if weights:
        loaded, more = _loader(m, xbar, weights, dram, init_done)
        ios |= more
    streams = []
    for b, base, size in spots:
        if isinstance(b, Region):
            ios |= _region(m, xbar, b, base, fifo_word_bits(b.width, dram))
        elif isinstance(b, WeightRegion):
            fw = fifo_word_bits(b.width, dram, b.words)
            pw = max(fw, nb)
            chip_words = -(-b.words * fw // pw) * pw // nb
            streams.append(
                Stream(b.name, b.width, fw, base * 8 // nb, cyclic=chip_words, slow=b.slow)
            )
        else:
            fw = fifo_word_bits(b.width, dram, b.per_frame)
            streams.append(Stream(b.name, b.width, fw, base * 8 // nb, size * 8 // nb,
                                  slow=b.slow, taps=b.taps))  # fmt: skip
    if streams:
        wport = None
        if any(not s.cyclic for s in streams):
            wport = xbar.get_port(mode="write", data_width=nb)
        rport = xbar.get_port(mode="read", data_width=nb)
        ios |= build_engine(m, streams, wport, rport, nb, loaded)
    return m, ios


def _region(m, xbar, r: Region, base: int, fw: int) -> set:
    """A Region's write and read ports: LiteDRAM's DMA writer and reader on their own crossbar
    ports, addresses counted from the region's base (in port words)."""
    from litedram.frontend.dma import LiteDRAMDMAReader, LiteDRAMDMAWriter
    from migen import If, Signal

    first = base // (fw // 8)
    writer = LiteDRAMDMAWriter(xbar.get_port(mode="write", data_width=fw))
    reader = LiteDRAMDMAReader(xbar.get_port(mode="read", data_width=fw))
    setattr(m.submodules, f"{r.name}_writer", writer)
    setattr(m.submodules, f"{r.name}_reader", reader)
    sig = {k: Signal(b, name=f"{r.name}_{k}") for k, b in (
        ("w_s_axis_tdata", r.width), ("w_s_axis_tvalid", 1), ("w_s_axis_tready", 1),
        ("w_rewind", 1), ("r_m_axis_tdata", r.width), ("r_m_axis_tvalid", 1),
        ("r_m_axis_tready", 1), ("r_start", 1), ("r_count", 32), ("r_busy", 1))}  # fmt: skip
    # Named explicitly: Migen's name tracer cannot name the targets of a tuple assignment (it
    # emitted a register called "0", which Verilator took and Yosys refused).
    w_ptr = Signal(32, name=f"{r.name}_w_ptr")
    r_ptr = Signal(32, name=f"{r.name}_r_ptr")
    left = Signal(32, name=f"{r.name}_left")
    m.comb += [
        writer.sink.valid.eq(sig["w_s_axis_tvalid"]),
        writer.sink.address.eq(first + w_ptr),
        writer.sink.data.eq(sig["w_s_axis_tdata"]),
        sig["w_s_axis_tready"].eq(writer.sink.ready),
        reader.sink.valid.eq(left != 0),
        reader.sink.address.eq(first + r_ptr),
        sig["r_busy"].eq(left != 0),
        sig["r_m_axis_tvalid"].eq(reader.source.valid),
        sig["r_m_axis_tdata"].eq(reader.source.data[: r.width]),
        reader.source.ready.eq(sig["r_m_axis_tready"]),
    ]
    m.sync += [
        If(sig["w_rewind"], w_ptr.eq(0)).Elif(
            sig["w_s_axis_tvalid"] & writer.sink.ready, w_ptr.eq(w_ptr + 1)
        ),
        If(sig["r_start"], r_ptr.eq(0), left.eq(sig["r_count"])).Elif(
            reader.sink.valid & reader.sink.ready, r_ptr.eq(r_ptr + 1), left.eq(left - 1)
        ),
    ]
    return set(sig.values())


def _loader(m, xbar, regions: list[tuple[WeightRegion, int, int]], dram: Dram, init_done):
    """The weight regions' loader: one DMA writer at the chip's width (`load_s_axis_*`) from DRAM
    address 0, as many words as `weight_image` lays out. Returns (`loaded`, which rises once
    every write command is accepted by the crossbar and starts the engine's region reads; the
    ports)."""
    from litedram.frontend.dma import LiteDRAMDMAWriter
    from migen import If, Signal

    nb = dram.data_bits
    total = max(base + size for _, base, size in regions) * 8 // nb
    wport = xbar.get_port(mode="write", data_width=nb)
    writer = LiteDRAMDMAWriter(wport)
    m.submodules.weight_loader = writer
    l_data, l_valid, l_ready = Signal(nb, name="load_s_axis_tdata"), Signal(
        name="load_s_axis_tvalid"), Signal(name="load_s_axis_tready")  # fmt: skip
    loaded = Signal(name="loaded")
    w_ptr = Signal(max=total + 1, name="load_ptr")
    issued = Signal(max=total + 1, name="load_issued")
    # Nothing is taken before the SDRAM is initialised: the controller would queue the writes and
    # play them onto a DFI bus the init sequencer still drives (lost, yet counted as issued).
    open_ = init_done & (w_ptr != total)
    m.comb += [
        writer.sink.valid.eq(l_valid & open_),
        writer.sink.address.eq(w_ptr),
        writer.sink.data.eq(l_data),
        l_ready.eq(writer.sink.ready & open_),
    ]
    m.sync += [
        If(writer.sink.valid & writer.sink.ready, w_ptr.eq(w_ptr + 1)),
        # every write command accepted by the crossbar: reads issued after it see the data
        If(wport.cmd.valid & wport.cmd.ready, issued.eq(issued + 1)),
        loaded.eq(issued == total),
    ]
    return loaded, {l_data, l_valid, l_ready, loaded}


class _SdramPads:
    """The SDR chip's pins (`sdram_pins`) as Migen signals: GENSDRPHY's pads record."""

    def __init__(self, dram: Dram) -> None:
        from migen import Signal

        self._signals = []
        for p in sdram_pins(dram):
            sig = Signal(p["bits"], name=p["name"])
            setattr(self, p["name"].removeprefix("sdram_"), sig)
            self._signals.append(sig)

    def signals(self) -> set:
        return set(self._signals)


def _init_sequencer_class():
    from litedram.init import get_sdram_phy_init_sequence
    from migen import FSM, If, Module, NextState, NextValue, Signal

    class _InitSequencer(Module):
        """Plays the chip's init sequence onto phase 0 of the DFI bus, then connects the controller.

        Each step holds its command for one cycle and then waits its delay; LiteDRAM's sequence
        gives the delays in CPU loop iterations, which this reads as cycles with at least
        `INIT_WAIT_US` (the JEDEC power-up wait) before the first command."""

        def __init__(self, phy, module, clk_hz: float) -> None:
            seq, _ = get_sdram_phy_init_sequence(phy.settings, module.timing_settings)
            self.done = Signal()
            self._steps = []
            for _comment, address, bank, cmd, delay in seq:
                flags = set(cmd.split("|")) if cmd else set()
                self._steps.append((address, bank, flags, int(delay)))
            power_up = math.ceil(INIT_WAIT_US * 1e-6 * clk_hz)
            self.cke = Signal()
            self.cmd_cs = Signal()
            self.cmd_ras = Signal()
            self.cmd_cas = Signal()
            self.cmd_we = Signal()
            self.address = Signal(32)
            self.bank = Signal(8)
            wait = Signal(max=max(power_up, max(d for *_, d in self._steps)) + 2)
            fsm = FSM(reset_state="POWER_UP")
            self.submodules.fsm = fsm
            fsm.act("POWER_UP", If(wait == power_up, NextValue(wait, 0), NextState("STEP0"))
                    .Else(NextValue(wait, wait + 1)))  # fmt: skip
            for i, (address, bank, flags, delay) in enumerate(self._steps):
                nxt = f"WAIT{i}"
                fsm.act(
                    f"STEP{i}",
                    self.cmd_cs.eq("DFII_COMMAND_CS" in flags),
                    self.cmd_ras.eq("DFII_COMMAND_RAS" in flags),
                    self.cmd_cas.eq("DFII_COMMAND_CAS" in flags),
                    self.cmd_we.eq("DFII_COMMAND_WE" in flags),
                    self.address.eq(address),
                    self.bank.eq(bank),
                    NextValue(wait, 0),
                    NextState(nxt),
                )
                after = f"STEP{i + 1}" if i + 1 < len(self._steps) else "DONE"
                fsm.act(nxt, If(wait >= delay, NextState(after)).Else(NextValue(wait, wait + 1)))
            fsm.act("DONE", self.done.eq(1))
            self.sync += If(~fsm.ongoing("POWER_UP"), self.cke.eq(1))

        def connect(self, ctrl_dfi, phy_dfi):
            """The DFI mux: the controller's bus once `done`, the sequencer's before."""
            return [If(self.done, ctrl_dfi.connect(phy_dfi)).Else(*self._drive(phy_dfi))]

        def _drive(self, dfi):
            out = []
            for n, p in enumerate(dfi.phases):
                first = n == 0
                out += [
                    p.cke.eq(self.cke),
                    p.odt.eq(0),
                    p.reset_n.eq(1),
                    p.cs_n.eq(~(self.cmd_cs & first)),
                    p.ras_n.eq(~(self.cmd_ras & first)),
                    p.cas_n.eq(~(self.cmd_cas & first)),
                    p.we_n.eq(~(self.cmd_we & first)),
                    p.address.eq(self.address),
                    p.bank.eq(self.bank),
                    p.wrdata_en.eq(0),
                    p.rddata_en.eq(0),
                ]
            return out

    return _InitSequencer


# The JEDEC SDR power-up wait before the first command (100 us; the init sequence then holds CKE).
INIT_WAIT_US = 100.0


# Migen's Verilog is not held to this project's -Wall (hw/ is): its idioms (non-blocking
# assignments in combinational blocks, implicit widening, reset-value initialisers) are waived for
# the generated file only, and only these.
LINT_HEADER = "".join(
    f"/* verilator lint_off {w} */\n"
    for w in ("BLKSEQ", "CASEINCOMPLETE", "COMBDLY", "INITIALDLY", "PROCASSINIT", "UNSIGNED",
              "WIDTHEXPAND", "WIDTHTRUNC", "UNUSEDSIGNAL", "UNDRIVEN", "UNUSEDPARAM")
)  # fmt: skip


def write_tier(
    buffers: list[ExternalBuffer | Region],
    dram: Dram,
    clk_hz: float,
    phy: str,
    path: Path,
    check_timing: bool = False,
    controller_clk_hz: float | None = None,
) -> Path:
    """Generate the tier (`build_tier`) and write it as `dram_tier` Verilog to `path`."""
    from migen.fhdl.verilog import convert

    m, ios = build_tier(buffers, dram, clk_hz, phy, check_timing, controller_clk_hz)
    text = LINT_HEADER + str(convert(m, ios=ios, name="dram_tier"))
    write_text(Path(path), text)
    return Path(path)


def weight_regions(graph, dram: Dram | None = None) -> list[WeightRegion]:
    """Every layer's weights and constants in DRAM as a WeightRegion, named by its accel_top port
    prefix; with `dram`, each marked slow or not at the graph's rate (`_slow`)."""
    from flows.codegen import stitch

    return [
        WeightRegion(name, r.width, r.words, dram is not None and _slow(
            graph, region_traffic(r.width, r.words, r.reads_per_frame, dram), dram))
        for name, _, r in stitch.dram_regions(graph)
    ]  # fmt: skip


def _slow(graph, side_bytes: int, dram: Dram) -> bool:
    """A stream moving `side_bytes` per frame each way is slow at the graph's cycles per frame
    (its slowest layer's: the fastest the design can run), as `memtier.tier_estimate` decides."""
    return slow_stream(side_bytes, max(n.config.cycles_per_frame for n in graph.nodes), dram)


def load_image(graph, dram: Dram) -> list[int]:
    """The loader's words for `graph`'s weights in DRAM (empty when it has none): each region's
    words are its layer's ROM image (`DramRegion.image` of the layer's RTL)."""
    from flows.codegen import stitch
    from flows.layers import kind_of

    regions = []
    for name, owner, r in stitch.dram_regions(graph):
        node = graph.node(owner)
        words, _ = kind_of(node.config).rtl(node.config, node.params).memories[r.image]
        regions.append((WeightRegion(name, r.width, r.words), list(words)))
    return weight_image(regions, dram)


BATCH_REGION = "batch"


def emit_with_dram(
    graph,
    outdir: Path,
    dram: Dram,
    clk_hz: float,
    phy: str = "model",
    check_timing: bool = True,
    batch_frames: int = 0,
) -> Path:
    """accel_top (flows.codegen.stitch), the tier for its DRAM buffers and weight regions
    (`write_tier`) and `accel_dram_top` joining them, into `outdir`; returns the path of
    accel_dram_top.v. With the "model" PHY this is the simulation of docs/dram.md; "gensdr" adds
    the `sdram_*` pins. The loader's image of the weight regions is `weight_image`. With
    `batch_frames`, a Region `batch` of that many input frames (the board's batch mode) joins the
    tier, its ports on accel_dram_top as `batch_*`."""
    from flows.codegen import stitch
    from flows.codegen.render import render
    from flows.codegen.rtl import main_ports
    from flows.errors import ConfigError

    outdir = Path(outdir)
    stitch.emit_stitched(graph, outdir, dram_links=True)
    found = stitch.dram_buffers(graph, dram_links=True)
    regions = weight_regions(graph, dram)
    if not found and not regions:
        raise ConfigError(
            "the design keeps every buffer and weight on chip; place one in DRAM (buffer='dram', "
            "weights='dram', or let the explorer decide) before building the DRAM tier"
        )
    buffers = [
        ExternalBuffer(name, b.width, b.words, b.per_frame,
                       _slow(graph, side_traffic(b.width, b.per_frame, dram), dram),
                       len(b.taps))
        for name, _, b in found
    ]  # fmt: skip
    order = graph.topological()
    first = main_ports(order[0].config)[0]
    in_w, out_w = first.bits, main_ports(order[-1].config)[1].bits
    batch = [Region(BATCH_REGION, in_w, batch_frames * first.words)] if batch_frames else []
    write_tier(buffers + regions + batch, dram, clk_hz, phy, outdir / "dram_tier.v", check_timing)
    pins = sdram_pins(dram) if phy == "gensdr" else []
    ctx = {"drams": [{"name": b.name, "width": b.width,
                      "taps": [tap_name(b.name, i) for i in range(b.taps)]} for b in buffers],
           "in_w": in_w,
           "out_w": out_w, "pins": pins,
           "regions": [{"name": r.name, "width": r.width} for r in regions],
           "load_w": dram.data_bits, "batch": bool(batch)}  # fmt: skip
    return render("accel_dram_top.v.j2", outdir / "accel_dram_top.v", ctx)


def sdram_pins(dram: Dram) -> list[dict]:
    """The SDR chip's pins as the tier's ports and the board's top see them: direction, width and
    name (`sdram_*`), from the chip's geometry in LiteDRAM's module class."""
    _migen()
    from litedram import modules as chips

    g = getattr(chips, dram.chip)
    single = [("output", 1, n) for n in ("cs_n", "cke", "ras_n", "cas_n", "we_n")]
    pins = [("output", int(math.log2(g.nrows)), "a"), ("output", int(math.log2(g.nbanks)), "ba"),
            *single, ("output", dram.data_bits // 8, "dm"), ("inout", dram.data_bits, "dq")]  # fmt: skip
    return [{"dir": d, "bits": b, "name": f"sdram_{n}"} for d, b, n in pins]
