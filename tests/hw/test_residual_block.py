"""emit_stitched on a residual block (DuplicateStreams fork, AddStreams join) vs DataflowGraph.run.

x (INT8, H*W vectors of C) -> DuplicateStreams -> [Threshold (bipolar) -> SlidingWindow (3x3, s1,
pad 1) -> XnorMVAU -> Affine] -> AddStreams(shortcut = the fork's other copy) -> out.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from flows.codegen import links, stitch
from flows.datatypes import BIPOLAR, INT
from flows.errors import ConfigError, FoldingError, UnsupportedPatternError
from flows.graph import DataflowGraph, Stream
from flows.layers import (
    AddStreams,
    Affine,
    DuplicateStreams,
    SlidingWindow,
    Threshold,
    XnorMVAU,
)
from flows.sim import runner as sim
from tests.hw.stimuli import random_values, seed_of

H = W = 4
C = 8
NV = H * W
FRAMES = 10


def make_block(rng: np.random.Generator, *, add_pe: int = 2) -> DataflowGraph:
    g = DataflowGraph([Stream("x", INT(8), (NV, C))], ["out"])
    dup = DuplicateStreams("dup", channels=C, input_type=INT(8), pe=2, num_vectors=NV)
    g.add(dup, ["x"], [Stream("x_long", INT(8), (NV, C)), Stream("x_short", INT(8), (NV, C))])
    thr = Threshold("thr", channels=C, num_thresholds=1, input_type=INT(8), pe=2, num_vectors=NV)
    thresholds = rng.integers(-20, 21, size=(C, 1))
    g.add(thr, ["x_long"], [Stream("b0", BIPOLAR, (NV, C))], thresholds=thresholds)
    swg = SlidingWindow(
        "swg", channels=C, in_h=H, in_w=W, kernel=3, pad=1, pad_value=-1, pe=2, input_type=BIPOLAR
    )
    g.add(swg, ["b0"], [Stream("win", BIPOLAR, (swg.out_vectors, swg.out_channels))])
    mv = XnorMVAU("conv", mw=9 * C, mh=C, simd=2, pe=2, num_vectors=NV)
    g.add(
        mv,
        ["win"],
        [Stream("pc", mv.output_type, (NV, C))],
        weights=random_values(BIPOLAR, (C, 9 * C), rng),
    )
    aff = Affine(
        "bn",
        channels=C,
        input_type=mv.output_type,
        mul_type=INT(8),
        add_type=INT(12),
        frac_bits=4,
        pe=2,
        num_vectors=NV,
    )
    g.add(
        aff,
        ["pc"],
        [Stream("y", aff.output_type, (NV, C))],
        mul=rng.integers(-60, 61, C),
        add=rng.integers(-1000, 1001, C),
    )
    add = AddStreams(
        "res_add", channels=C, input_types=(aff.output_type, INT(8)), pe=add_pe, num_vectors=NV
    )
    g.add(add, ["y", "x_short"], [Stream("out", add.output_type, (NV, C))])
    return g


def _depths(accel_top: str) -> dict[str, int]:
    found = re.findall(r"\.DEPTH\((\d+)\)\s*\)\s*u_fifo_(\w+)", accel_top)
    return {name: int(d) for d, name in found}


def test_residual_block_matches_graph(request: pytest.FixtureRequest) -> None:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    g = make_block(rng)
    frames = random_values(INT(8), (FRAMES, NV, C), rng)
    frames[-2], frames[-1] = INT(8).max, INT(8).min
    b = sim.build("accel_top", lambda d: stitch.emit_stitched(g, d))
    r = sim.report("accel_top", sim.run_bench(b, g, frames, perf_frames=8))
    bottleneck = max(n.config.cycles_per_frame for n in g.nodes)
    assert r["cycles_per_frame_out"][-4:] == [bottleneck] * 4


def test_shortcut_depth_formula() -> None:
    g = make_block(np.random.default_rng(0))
    fork = g.node("dup")
    branch = [g.node(n) for n in ("thr", "swg", "conv", "bn")]
    f = C // 2  # fork words per vector; every buffer counts (ceil(words / v) + 1) vectors of f
    want = (
        (1 + 1) * f  # the fork's 2-word skid (v = 4)
        + (1 + 1) * f  # link into thr: 4 words (DEFAULT_FIFO_DEPTH), v = 4
        + (2 + 1) * f  # thr: NODE_WORDS = 8, v = 4
        + (1 + 1) * f  # link into swg
        + (24 + 1) * f  # swg line buffer: max(64, (3 + 1) * (4 + 2) * 4 = 96) words, v = 4
        + (1 + 1) * f  # swg output: 8 words, v = 36 (window of 72 bits in 2 lanes)
        + (1 + 1) * f  # link into conv, v = 36
        + (1 + 1) * f  # conv input vector: SF = 36 words
        + (3 + 1) * f  # conv pipeline + skid: 8 + 1 popcount stage = 9 words, v = 4
        + (1 + 1) * f  # link into bn
        + (2 + 1) * f  # bn: 8 words
        + (1 + 1) * f  # link into the join
    )
    assert want == 204
    assert links.shortcut_words(fork, branch) == want
    assert links.shortcut_words(fork, []) == (1 + 1) * f + (1 + 1) * f  # a bare shortcut


def test_shortcut_fifo_is_deep_enough(tmp_path) -> None:
    g = make_block(np.random.default_rng(0))
    planned = {lk.stream: lk for lk in links.plan_links(g)}
    need = links.shortcut_words(g.node("dup"), [g.node(n) for n in ("thr", "swg", "conv", "bn")])
    short = planned["x_short"]
    assert short.shortcut_words == need
    assert short.depth >= need > need - 1  # one word fewer than the rule is never emitted
    assert short.depth & (short.depth - 1) == 0 and short.depth < 2 * need
    # the other links: DEFAULT_FIFO_DEPTH, or a wire where both layers idle at least half the
    # frame (a quiet link)
    slowest = max(n.config.cycles_per_frame for n in g.nodes)
    for s, lk in planned.items():
        if s in ("x", "x_short", "out"):
            continue
        busiest = max(lk.src.config.cycles_per_frame, lk.dst.config.cycles_per_frame)
        quiet = links.LINK_SLACK * busiest <= slowest
        assert lk.depth == (links.WIRE_DEPTH if quiet else links.DEFAULT_FIFO_DEPTH), (s, quiet)
    top = stitch.emit_stitched(g, tmp_path).read_text()
    depths = _depths(top)
    assert depths["dup_res_add"] == short.depth >= need
    assert "m_axis_1_tdata(dup_out_1_tdata)" in top and ".s_axis_b_tdata(res_add_in_b_tdata)" in top


def test_residual_rejects_lane_mismatch(tmp_path) -> None:
    g = make_block(np.random.default_rng(0), add_pe=4)
    with pytest.raises(FoldingError, match=r"-> res_add: .* reads 4 \(PE=4\); fold the graph"):
        stitch.emit_stitched(g, tmp_path)


def test_stitched_rejects_several_inputs_and_bare_fanout(tmp_path) -> None:
    g = make_block(np.random.default_rng(0))
    g.inputs.append("x_short")
    with pytest.raises(UnsupportedPatternError, match="one graph input and one output"):
        stitch.emit_stitched(g, tmp_path)
    g = DataflowGraph([Stream("x", INT(8), (1, 8))], ["y"])
    t = Threshold("t", channels=8, num_thresholds=1, input_type=INT(8))
    g.add(t, ["x"], [Stream("b", BIPOLAR, (1, 8))], thresholds=np.zeros((8, 1), int))
    a = AddStreams("a", channels=8, input_types=(INT(8), INT(8)))
    g.add(a, ["x", "x"], [Stream("y", a.output_type, (1, 8))])
    with pytest.raises(UnsupportedPatternError, match="'x' is read by t, a, a.*DuplicateStreams"):
        stitch.emit_stitched(g, tmp_path)


def test_shortcut_below_rule_deadlocks() -> None:
    """The block with its shortcut cut to 16 words (the rule asks for 220, emitted as 256): the
    3x3 window needs about W + 2 rows of the long branch before the first sum, the fork stalls
    on the full shortcut and the two branches wait on each other."""
    from flows.sim.parity_bench import DeadlockError

    g = make_block(np.random.default_rng(0))
    frames = random_values(INT(8), (2, NV, C), np.random.default_rng(1))
    b = sim.build("accel_top", lambda d: stitch.emit_stitched(g, d, depths={"x_short": 16}))
    with pytest.raises(AssertionError, match=f"{DeadlockError.__name__}: deadlock: no transfer"):
        sim.run_bench(b, g, frames, module="flows.sim.parity_bench", perf_frames=0)


def test_depth_override_is_checked(tmp_path) -> None:
    g = make_block(np.random.default_rng(0))
    with pytest.raises(ConfigError, match=r"depths names unknown streams \['nope'\]"):
        stitch.emit_stitched(g, tmp_path, depths={"nope": 16})
    with pytest.raises(ConfigError, match="'x_short' into res_add needs 1 words"):
        stitch.emit_stitched(g, tmp_path, depths={"x_short": 1})
