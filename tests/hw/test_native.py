"""The native parity runner (flows/sim/native.py, flows/sim/parity.py): a Verilog testbench under a
C++ clock loop. It must find what the cocotb parity bench finds: a wrong word, a deadlock, a
broken AXI-Stream handshake; and agree with it on cycles per frame, on and off chip."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from flows import memtier
from flows.build import BuildConfig
from flows.codegen import stitch
from flows.datatypes import INT, UINT
from flows.sim import native
from flows.sim.layer_bench import Model
from flows.sim.parity import frame_counts, run_parity
from tests.hw.stimuli import random_values, seed_of
from tests.hw.test_resnet_stitched import models, node_named, sub_graph  # noqa: F401
from tests.hw.test_stitched import FRAMES, make_chain


def _run(b, g, frames, **kw):
    m = Model(g)
    args = dict(in_bits=m.inp.lanes * m.inp.dtype.bits, n_out=len(frames) * m.out_per_frame,
                in_frame=m.in_per_frame, out_frame=m.out_per_frame, quiet=20_000, seed=3)  # fmt: skip
    return m, native.run(b, m.words_in(frames), **(args | kw))


def _build(g, **emit):
    m = Model(g)
    return native.build("accel_top", lambda d: stitch.emit_stitched(g, d, **emit),
                        in_w=m.inp.lanes * m.inp.dtype.bits, out_w=m.out.lanes * m.out.dtype.bits)  # fmt: skip


def test_chain_is_bit_exact_and_at_the_estimate(request: pytest.FixtureRequest) -> None:
    """The seven-layer chain of test_stitched: bit-exact under random rates, and at full rate the
    last four frame intervals equal the bottleneck's estimate, as the cocotb bench measures."""
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    g = make_chain(rng)
    frames = random_values(UINT(8), (FRAMES, 1, 16), rng)
    b = _build(g)
    m, r = _run(b, g, frames, random_rates=True, label="chain_random")
    assert r["words_out"] == m.words_out(frames) and not r["extra_words"] and not r["problems"]
    perf = np.resize(frames, (32, *frames.shape[1:]))
    # a deadlock bound above 2^31 cycles (a 224x224 ResNet-18's) must not wrap to "deadlock"
    m, r = _run(b, g, perf, random_rates=False, label="chain_full", quiet=2**33)
    assert not r["problems"]
    assert r["words_out"] == m.words_out(perf)
    bottleneck = max(n.config.cycles_per_frame for n in g.nodes)
    assert (
        native.intervals(r["out_last"])[-4:]
        == native.intervals(r["in_first"])[-4:]
        == [bottleneck] * 4
    )
    print(f"\nnative chain: {r['cycles_per_second']:,} cycles/s")


def test_a_wrong_word_is_found(request: pytest.FixtureRequest) -> None:
    """The same chain with the classifier's offset of class 3 at its maximum in the RTL only: labels
    change, and the runner says so."""
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    g = make_chain(rng)
    frames = random_values(UINT(8), (FRAMES, 1, 16), rng)
    node = next(n for n in g.nodes if "add" in n.params)
    params = dict(node.params)
    params["add"] = node.params["add"].copy()
    params["add"][3] = 32767  # INT16's max: class 3 wins almost everywhere
    emit_graph = stitch_graph_with(g, node.name, params)
    b = _build(emit_graph)
    m, r = _run(b, g, frames, random_rates=True, label="chain_wrong")
    assert r["words_out"] != m.words_out(frames) and not r["problems"]


def stitch_graph_with(g, name: str, params: dict):
    """A copy of g with the params of node `name` replaced."""
    from flows.graph import DataflowGraph

    out = DataflowGraph([g.streams[s] for s in g.inputs], list(g.outputs))
    for n in g.topological():
        p = params if n.name == name else n.params
        out.add(n.config, list(n.inputs), [g.streams[s] for s in n.outputs], **p)
    return out


def test_shortcut_below_rule_deadlocks() -> None:
    """test_residual_block's block with its shortcut cut to 16 words: the native watch reports
    the deadlock instead of running out its timeout."""
    from tests.hw.test_residual_block import NV, C, make_block

    g = make_block(np.random.default_rng(0))
    frames = random_values(INT(8), (2, NV, C), np.random.default_rng(1))
    b = _build(g, depths={"x_short": 16})
    _, r = _run(b, g, frames, random_rates=False, label="block_short")
    assert r["problems"] and r["problems"][0].startswith("deadlock: no transfer")


def test_max_cycles_stops_a_run(request: pytest.FixtureRequest) -> None:
    """`max_cycles` ends a run early and says so (a speed measurement of a long design)."""
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    g = make_chain(rng)
    frames = random_values(UINT(8), (FRAMES, 1, 16), rng)
    _, r = _run(_build(g), g, frames, random_rates=False, label="chain_stop", max_cycles=100)
    assert r["problems"][0].startswith("stopped at 100 cycles") and r["simulated_cycles"] == 100


def test_budget_sizes_the_runs() -> None:
    """digits-sized frames run every image asked for, then 24 frames at full rate; a frame of 100
    million cycles gets one run of three images at full rate."""
    assert frame_counts(100, 256, 300_000_000) == (100, 24)
    assert frame_counts(100, 101_492_229, 300_000_000) == (3, 0)  # one run at full rate
    assert frame_counts(4, 2_000_000, 10_000_000) == (4, 0)
    assert frame_counts(4, 27_109, 1_000_000) == (4, 24)


def test_insta_unit_with_everything_in_dram(models, request) -> None:  # noqa: F811
    """The build's parity step (run_parity) on test_dram_tier's insta_resnet20 unit with its
    buffers, weights and constants in DRAM (`--dram all`): the weight image through the loader,
    LiteDRAM's SDRAM model, bit-exact images, the DRAM-bound rate within tolerance, and no timing
    violation from the model's checker."""
    g = models("insta_resnet20")
    unit = sub_graph(g, node_named(g, "InstaThreshold", 2), node_named(g, "InstaPReLU", 2))
    memtier.place(unit, "ulx3s", force="all")
    cfg = BuildConfig(model=None, target="ulx3s", parity_images=4, parity_budget=1_000_000,
                      seed=seed_of(request.node.nodeid) & 0xFFFF)  # fmt: skip
    ctx = SimpleNamespace(graph=unit, cfg=cfg, reference=None, summary={"model": "dram_unit"})
    r = run_parity(ctx)
    print(f"\nnative dram unit: {r}")
    assert r["bit_exact"] == r["images"] == 4
    assert r["cycles_per_frame_estimate"] == memtier.dram_use(unit, "ulx3s").cycles
    logs = list(
        Path(native.__file__)
        .resolve()
        .parents[2]
        .glob("build/sim/native-accel_dram_top-*/parity-dram_unit-*/sim.log")
    )
    assert logs and not any("violation" in p.read_text().lower() for p in logs)


def test_a_protocol_error_is_reported(request: pytest.FixtureRequest, tmp_path) -> None:
    """A design whose m_axis drops tvalid while stalled: the testbench's stability check fires."""
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    g = make_chain(rng)
    frames = random_values(UINT(8), (FRAMES, 1, 16), rng)

    def emit(d):
        stitch.emit_stitched(g, d)
        top = (d / "accel_top.v").read_text()
        # m_axis_tvalid forced low on odd cycles: a word offered and withdrawn unseen
        top = top.replace("module accel_top (", "module accel_top_inner (", 1)
        (d / "accel_top.v").write_text(top + WRAPPER.format(i=in_w - 1, o=out_w - 1))

    m = Model(g)
    in_w, out_w = m.inp.lanes * m.inp.dtype.bits, m.out.lanes * m.out.dtype.bits
    b = native.build("accel_top", emit, in_w=in_w, out_w=out_w)
    _, r = _run(b, g, frames, random_rates=True, label="chain_protocol")
    assert r["problems"] and r["problems"][0].startswith("protocol m_axis")


WRAPPER = """
module accel_top (
    input wire clk, input wire rst,
    input wire [{i}:0] s_axis_tdata, input wire s_axis_tvalid, output wire s_axis_tready,
    output wire [{o}:0] m_axis_tdata, output wire m_axis_tvalid, input wire m_axis_tready
);
    reg odd;
    always @(posedge clk) odd <= rst ? 1'b0 : ~odd;
    wire v;
    accel_top_inner u (.clk(clk), .rst(rst), .s_axis_tdata(s_axis_tdata),
        .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready), .m_axis_tdata(m_axis_tdata),
        .m_axis_tvalid(v), .m_axis_tready(m_axis_tready & ~odd));
    assign m_axis_tvalid = v & ~odd;
endmodule
"""
