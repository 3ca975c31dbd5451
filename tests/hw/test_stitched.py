"""emit_stitched: a seven-layer chain in RTL vs DataflowGraph.run, and the chain's error cases."""

from __future__ import annotations

import numpy as np
import pytest

from flows.codegen import links, rtl, stitch
from flows.datatypes import BIPOLAR, INT, UINT
from flows.errors import ConfigError, FoldingError, UnsupportedPatternError
from flows.folding import apply_folding
from flows.graph import DataflowGraph, Node, Stream
from flows.layers import (
    Affine,
    AvgPool,
    DuplicateStreams,
    IntMVAU,
    LabelSelect,
    MatMul,
    StreamWidthConverter,
    Threshold,
    XnorMVAU,
    kind_of,
)
from flows.sim import runner as sim
from tests.hw.stimuli import random_values, seed_of

FRAMES = 24


def _add(g: DataflowGraph, cfg, src: str, dst: str, channels: int, **params) -> None:
    g.add(cfg, [src], [Stream(dst, cfg.output_type, (cfg.num_vectors, channels))], **params)


def sorted_thresholds(lo: int, hi: int, shape, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.integers(lo, hi + 1, size=shape), axis=1)


def make_chain(rng: np.random.Generator, *, xnor_simd: int = 4) -> DataflowGraph:
    """IntMVAU -> Threshold -> XnorMVAU -> Threshold -> XnorMVAU -> Affine -> LabelSelect.

    Thresholds sit near the middle of their input's distribution, so the binary layers see
    balanced signs. The bottleneck is l2 (SF * NF = 4 * 8 = 32 cycles per frame).
    """
    g = DataflowGraph([Stream("x", UINT(8), (1, 16))], ["label"])
    l0 = IntMVAU("l0_int_mvau", mw=16, mh=16, input_type=UINT(8), weight_type=BIPOLAR, simd=4, pe=4)
    _add(g, l0, "x", "s0", 16, weights=random_values(BIPOLAR, (16, 16), rng))
    l1 = Threshold("l1_thr", channels=16, num_thresholds=1, input_type=l0.output_type, pe=4)
    _add(g, l1, "s0", "s1", 16, thresholds=sorted_thresholds(-400, 400, (16, 1), rng))
    l2 = XnorMVAU("l2_xnor", mw=16, mh=16, simd=xnor_simd, pe=2, popcount_stages=1)
    _add(g, l2, "s1", "s2", 16, weights=random_values(BIPOLAR, (16, 16), rng))
    l3 = Threshold("l3_thr", channels=16, num_thresholds=1, input_type=l2.output_type, pe=2)
    _add(g, l3, "s2", "s3", 16, thresholds=sorted_thresholds(6, 10, (16, 1), rng))
    l4 = XnorMVAU("l4_xnor", mw=16, mh=10, simd=2, pe=5, popcount_stages=2)
    _add(g, l4, "s3", "s4", 10, weights=random_values(BIPOLAR, (10, 16), rng))
    l5 = Affine(
        "l5_affine",
        channels=10,
        input_type=l4.output_type,
        mul_type=INT(16),
        add_type=INT(16),
        frac_bits=8,
        pe=5,
    )
    _add(
        g, l5, "s4", "s5", 10, mul=rng.integers(-2000, 2000, 10), add=rng.integers(-5000, 5000, 10)
    )
    l6 = LabelSelect("label", channels=10, input_type=l5.output_type, pe=5)
    _add(g, l6, "s5", "label", 1)
    return g


def test_stitched_chain_matches_graph(request: pytest.FixtureRequest) -> None:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    g = make_chain(rng)
    frames = random_values(UINT(8), (FRAMES, 1, 16), rng)
    frames[-2], frames[-1] = UINT(8).max, 0  # all-ones and all-zeros images
    b = sim.build("accel_top", lambda d: stitch.emit_stitched(g, d))
    r = sim.report("accel_top", sim.run_bench(b, g, frames, perf_frames=32))
    bottleneck = max(n.config.cycles_per_frame for n in g.nodes)
    assert r["cycles_per_frame_out"][-4:] == [bottleneck] * 4


def test_stitched_chain_with_width_converters(request: pytest.FixtureRequest) -> None:
    """Every layer folded on its own: converters 4 -> 2 (l1 -> l2), 2 -> 8 (l2 -> l3, up),
    8 -> 2 (l3 -> l4, down), 2 -> 5 (l4 -> l5, neither divides the other) and 5 -> 2 (l5 -> l6);
    bit-exact and the bottleneck's cycles per frame under the bench's random back-pressure."""
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    g = make_chain(rng, xnor_simd=2)
    g = apply_folding(g, {"l3_thr": {"pe": 8}, "l5_affine": {"pe": 2}})
    convs = [n.config for n in g.nodes if isinstance(n.config, StreamWidthConverter)]
    assert sorted((c.in_lanes, c.out_lanes) for c in convs) == [
        (2, 5), (2, 8), (4, 2), (5, 2), (8, 2)
    ]  # fmt: skip
    frames = random_values(UINT(8), (FRAMES, 1, 16), rng)
    b = sim.build("accel_top", lambda d: stitch.emit_stitched(g, d))
    r = sim.report("accel_top", sim.run_bench(b, g, frames, perf_frames=32))
    bottleneck = max(n.config.cycles_per_frame for n in g.nodes)
    assert r["cycles_per_frame_out"][-4:] == [bottleneck] * 4


def test_stitched_rejects_pe_simd_mismatch(tmp_path) -> None:
    g = make_chain(np.random.default_rng(0), xnor_simd=2)
    with pytest.raises(FoldingError, match=r"l1_thr -> l2_xnor: .* reads 2 \(SIMD=2\); fold the"):
        stitch.emit_stitched(g, tmp_path)


def test_stitched_rejects_forks(tmp_path) -> None:
    g = DataflowGraph([Stream("x", UINT(4), (1, 8))], ["a"])
    g.add(
        DuplicateStreams("dup", channels=8, input_type=UINT(4)),
        ["x"],
        [Stream("a", UINT(4), (1, 8)), Stream("b", UINT(4), (1, 8))],
    )
    with pytest.raises(UnsupportedPatternError, match="stream .b. is read by no node"):
        stitch.emit_stitched(g, tmp_path)


def test_stitched_rejects_type_mismatch(tmp_path) -> None:
    g = DataflowGraph([Stream("x", INT(8), (1, 8))], ["z"])
    t = Threshold("t", channels=8, num_thresholds=3, input_type=INT(8), bipolar_output=False)
    g.add(t, ["x"], [Stream("y", t.output_type, (1, 8))], thresholds=np.zeros((8, 3), int))
    a = Affine("a", channels=8, input_type=UINT(3), mul_type=INT(4), add_type=INT(4))
    g.add(a, ["y"], [Stream("z", a.output_type, (1, 8))], mul=np.ones(8, int), add=np.zeros(8, int))
    with pytest.raises(ConfigError, match="t produces UINT2 but a reads UINT3"):
        stitch.emit_stitched(g, tmp_path)


def test_emit_layer_rejects_unsupported_kind(tmp_path) -> None:
    # a transient float kind: streamlining must remove it before any RTL is emitted
    node = DataflowGraph([Stream("x", UINT(4), (1, 8))], ["a"]).add(
        MatMul("mm", mw=8, mh=8),
        ["x"],
        [Stream("a", None, (1, 8))],
        weights=np.ones((8, 8)),
    )
    with pytest.raises(ConfigError, match="MatMul has no RTL emitter"):
        rtl.emit_layer(node, tmp_path)


def test_emit_layer_rejects_bad_names_and_params(tmp_path) -> None:
    cfg = XnorMVAU("module", mw=4, mh=2)
    with pytest.raises(ConfigError, match="not usable as a Verilog module name"):
        rtl.emit_layer(Node(cfg, [], [], {"weights": np.ones((2, 4), int)}), tmp_path)
    with pytest.raises(ConfigError, match="weights has shape"):
        rtl.emit_layer(
            Node(XnorMVAU("ok", mw=4, mh=2), [], [], {"weights": np.ones((4, 2))}), tmp_path
        )


def test_stream_widths() -> None:
    assert rtl.stream_widths(XnorMVAU("x", mw=64, mh=64, simd=8, pe=4)) == (8, 4 * 7)
    assert rtl.stream_widths(LabelSelect("l", channels=10, input_type=INT(20), pe=5)) == (100, 4)
    assert rtl.stream_widths(LabelSelect("l", channels=1, input_type=UINT(1))) == (1, 1)


def test_burst_rule_deepens_the_link_behind_an_up_converter() -> None:
    """Threshold PE 1 -> (1 -> 4 converter) -> XnorMVAU SIMD 4, NF 4: the MVAU reads SF = 8
    words back to back, the converter delivers one every 4 cycles (r = 1/4), so the link holds
    ceil(8 * 3/4) + 4 (DEFAULT_FIFO_DEPTH) = 10 words -> 16; with the Threshold at PE 4 (no
    converter, r = 1) none."""
    rng = np.random.default_rng(0)
    g = DataflowGraph([Stream("x", INT(8), (4, 32))], ["y"])
    t = Threshold("t", channels=32, num_thresholds=1, input_type=INT(8), pe=1, num_vectors=4)
    g.add(t, ["x"], [Stream("b", BIPOLAR, (4, 32))], thresholds=np.zeros((32, 1), int))
    m = XnorMVAU("m", mw=32, mh=4, simd=4, pe=1, num_vectors=4)
    _add(g, m, "b", "y", 4, weights=random_values(BIPOLAR, (4, 32), rng))
    f = apply_folding(g, {})
    (conv,) = [n for n in f.nodes if isinstance(n.config, StreamWidthConverter)]
    link = next(lk for lk in links.plan_links(f) if lk.dst is f.node("m"))
    assert link.src is conv and (link.shortcut_words, link.depth) == (10, 16)
    same = apply_folding(g, {"t": {"pe": 4}})
    link = next(lk for lk in links.plan_links(same) if lk.dst is same.node("m"))
    assert (link.shortcut_words, link.depth) == (0, links.DEFAULT_FIFO_DEPTH)


def test_emit_burst_rule_holds_a_pool_row_unless_quiet() -> None:
    """A stride-2 AvgPool gives an output row (out_w x NF = 4 x 4 words) during every second input
    row and nothing during the others: the link behind it holds one row plus the FIFO depth (16
    + 4 -> 32 words) so its consumer is not starved in the pause (measured on insta_resnet20's
    downsampling unit: 186 cycles a frame lost with 8 words); with a layer 64 times slower after
    them both are quiet and the link keeps its plain depth."""
    rng = np.random.default_rng(0)

    def graph(mh: int) -> DataflowGraph:
        g = DataflowGraph([Stream("x", INT(4), (64, 4))], ["z"])
        p = AvgPool("p", channels=4, in_h=8, in_w=8, kernel=2, stride=2, pe=1, input_type=INT(4))
        g.add(p, ["x"], [Stream("s", p.output_type, (16, 4))])
        t = Threshold("t", channels=4, num_thresholds=1, input_type=p.output_type, pe=1,
                      num_vectors=16)  # fmt: skip
        g.add(t, ["s"], [Stream("b", BIPOLAR, (16, 4))], thresholds=np.zeros((4, 1), int))
        m = XnorMVAU("m", mw=4, mh=mh, simd=1, pe=1, num_vectors=16)
        _add(g, m, "b", "z", mh, weights=random_values(BIPOLAR, (mh, 4), rng))
        return apply_folding(g, {})

    busy = graph(1)
    assert kind_of(busy.node("p").config).emit_burst_words(busy.node("p").config) == 16
    link = next(lk for lk in links.plan_links(busy) if lk.stream == "s")
    assert (link.shortcut_words, link.depth) == (16 + links.DEFAULT_FIFO_DEPTH, 32)
    quiet = graph(512)
    link = next(lk for lk in links.plan_links(quiet) if lk.stream == "s")
    assert (link.shortcut_words, link.depth) == (0, links.WIRE_DEPTH)


def test_burst_rule_is_waived_where_both_layers_are_quiet() -> None:
    """The same converter -> XnorMVAU pair followed by a layer 64 times slower (XnorMVAU MH 512,
    SIMD 1, PE 1: 8,192 cycles per frame): even with every burst at the converter's rate the pair
    takes at most 128 + 128 - 32 = 224 cycles, under half the slowest, so the link keeps its
    plain depth (a wire, being quiet); at 1/LINK_SLACK of the slowest or more, the rule holds."""
    rng = np.random.default_rng(0)

    def graph(mh: int) -> DataflowGraph:
        g = DataflowGraph([Stream("x", INT(8), (4, 32))], ["z"])
        t = Threshold("t", channels=32, num_thresholds=1, input_type=INT(8), pe=1, num_vectors=4)
        g.add(t, ["x"], [Stream("b", BIPOLAR, (4, 32))], thresholds=np.zeros((32, 1), int))
        m = XnorMVAU("m", mw=32, mh=4, simd=4, pe=1, num_vectors=4)
        _add(g, m, "b", "y", 4, weights=random_values(BIPOLAR, (4, 32), rng))
        t2 = Threshold("t2", channels=4, num_thresholds=1, input_type=m.output_type, pe=1,
                       num_vectors=4)  # fmt: skip
        g.add(t2, ["y"], [Stream("b2", BIPOLAR, (4, 4))], thresholds=np.zeros((4, 1), int))
        m2 = XnorMVAU("m2", mw=4, mh=mh, simd=1, pe=1, num_vectors=4)
        _add(g, m2, "b2", "z", mh, weights=random_values(BIPOLAR, (mh, 4), rng))
        return apply_folding(g, {})

    quiet = graph(512)
    assert max(n.config.cycles_per_frame for n in quiet.nodes) == 8192
    link = next(lk for lk in links.plan_links(quiet) if lk.dst is quiet.node("m"))
    assert (link.shortcut_words, link.depth) == (0, links.WIRE_DEPTH)
    busy = graph(27)  # 4 x 27 x 4 = 432 cycles: 2 x 224 = 448 > 432, the rule holds
    link = next(lk for lk in links.plan_links(busy) if lk.dst is busy.node("m"))
    assert (link.shortcut_words, link.depth) == (10, 16)
