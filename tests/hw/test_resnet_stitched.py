"""Lowered INSTA/ReActNet ResNets stitched in RTL (emit_stitched) vs DataflowGraph.run.

The models come from the real flow: `sw.export.export_untrained` -> QONNX import -> streamline ->
auto_fold. The fast tests simulate single residual units cut out of them (an INSTA downsampling
unit: the InstaThreshold is the fork, its delayed output the shortcut through AvgPool -> IntMVAU;
the latency-optimised unit with the statistic S on a side stream into the reuse InstaPReLU) and
show the deadlock rules failing below them; the whole models run under `slow`. Each simulation
runs the parity bench (flows/sim/parity_bench.py): images under random back-pressure bit-exact,
then steady-state cycles per frame equal to the slowest layer's estimate.
"""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from flows.codegen import links, stitch
from flows.folding import auto_fold
from flows.frontend.qonnx_import import import_model, load
from flows.graph import DataflowGraph
from flows.layers import kind_of
from flows.sim import runner as sim
from flows.sim.parity_bench import parity_path
from flows.transforms.streamline import streamline
from sw.export import export_untrained
from tests.hw.stimuli import seed_of

MODELS = {
    # name: (export options, folding target = the fastest the stem allows)
    "insta_resnet20": (dict(width=8, blocks=(1, 1, 1), input_size=16, num_classes=10), 2304),
    "insta_resnet18_lat": (dict(width=8, blocks=(1, 1), input_size=32, num_classes=10), 12544),
    "reactnet_resnet18": (dict(width=8, blocks=(1, 1), input_size=32, num_classes=10), 12544),
    # INSTA-Th+ / INSTA-PReLU+ with their SE blocks (reduction 4: hidden 2 and 4 at width 8)
    "insta_resnet18_plus": (
        dict(width=8, blocks=(1, 1), input_size=32, num_classes=10, reduction=4),
        12544,
    ),
    # 12x faster: the 32x32 input's pixel rate, the stem window emitting several positions per
    # word (SlidingWindow.positions)
    "insta_resnet18_lat@1024": (dict(width=8, blocks=(1, 1), input_size=32, num_classes=10), 1024),
}


@functools.cache
def lowered(name: str, tmp_root: str) -> DataflowGraph:
    """The model exported untrained, imported, streamlined and folded to its MODELS target."""
    options, target = MODELS[name]
    model = name.split("@")[0]
    path = export_untrained(model, Path(tmp_root) / f"{model}.onnx", **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return auto_fold(streamline(import_model(load(path))), target)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory):
    root = str(tmp_path_factory.mktemp("onnx"))
    return lambda name: lowered(name, root)


def sub_graph(g: DataflowGraph, first: str, last: str) -> DataflowGraph:
    """The nodes from `first` to `last` (topological order) as a graph of their own: one input
    (the stream into `first`), one output (the first output of `last`)."""
    order = g.topological()
    names = [n.name for n in order]
    nodes = order[names.index(first) : names.index(last) + 1]
    produced = {s for n in nodes for s in n.outputs}
    (inp,) = {s for n in nodes for s in n.inputs if s not in produced}
    sub = DataflowGraph([g.streams[inp]], [nodes[-1].outputs[0]])
    for n in nodes:
        sub.add(n.config, list(n.inputs), [g.streams[s] for s in n.outputs], **n.params)
    return sub


def random_frames(g: DataflowGraph, n: int, rng: np.random.Generator) -> np.ndarray:
    t = g.streams[g.inputs[0]]
    frames = rng.integers(t.dtype.min, t.dtype.max + 1, size=(n, *t.shape), dtype=np.int64)
    frames[-1] = t.dtype.max  # a saturated image: extreme statistics and sums
    return frames


def node_named(g: DataflowGraph, kind: str, index: int = 0) -> str:
    return [n.name for n in g.topological() if n.kind == kind][index]


def run_parity(g: DataflowGraph, frames, label: str, *, perf_frames: int, depths=None) -> dict:
    """Build accel_top, run the parity bench; {parity counts, steady-state timing}."""
    b = sim.build("accel_top", lambda d: stitch.emit_stitched(g, d, depths=depths))
    timing = sim.run_bench(
        b, g, frames, module="flows.sim.parity_bench", label=label, perf_frames=perf_frames
    )
    counts = json.loads(parity_path(str(sim.RESULTS / f"{label}.json")).read_text())
    print(f"\n{label}: {counts}\n{timing}")
    return counts | {"timing": timing}


def assert_parity(g: DataflowGraph, r: dict) -> None:
    assert r["bit_exact"] == r["images"] and not r["extra_words"]
    bottleneck = max(n.config.cycles_per_frame for n in g.nodes)
    assert r["timing"]["cycles_per_frame_out"][-4:] == [bottleneck] * 4
    assert r["timing"]["cycles_per_frame_in"][-4:] == [bottleneck] * 4


# --- planning (no simulation) -------------------------------------------------------------------
def _past_converters(g, stream: str):
    """The producer of `stream`, looking through width converters."""
    node = g.producer(stream)
    while node.kind == "StreamWidthConverter":
        node = g.producer(node.inputs[0])
    return node


def test_plan_links_of_insta_resnet(models) -> None:
    g = models("insta_resnet20")
    planned = {lk.stream: lk for lk in links.plan_links(g)}
    for th in (n for n in g.topological() if n.kind == "InstaThreshold"):
        delayed = planned[th.outputs[1]]
        assert delayed.src is th and delayed.src_port == "m_axis_delay"
        assert planned[th.outputs[0]].src_port == "m_axis"
    # a plain unit: the delayed output straight into the add, deepened by the rule
    ths = [n for n in g.topological() if n.kind == "InstaThreshold"]
    plain = [
        planned[th.outputs[1]] for th in ths if planned[th.outputs[1]].dst.kind == "AddStreams"
    ]
    assert plain and all(lk.depth >= lk.shortcut_words > 64 for lk in plain)
    # a downsampling unit: both links into the add hold the other branch's backlog
    adds = [n for n in g.topological() if n.kind == "AddStreams"]
    down = [a for a in adds if all(_past_converters(g, s).kind == "Affine" for s in a.inputs)]
    assert len(down) == 2
    for a in down:
        assert all(planned[s].depth >= planned[s].shortcut_words > 0 for s in a.inputs)


def test_plan_links_of_statistic_side_stream(models) -> None:
    g = models("insta_resnet18_lat")
    planned = {lk.stream: lk for lk in links.plan_links(g)}
    stats = [lk for lk in planned.values() if lk.src_port == "m_axis_stat"]
    assert len(stats) == 2
    for lk in stats:
        assert lk.dst.kind == "InstaPReLU" and lk.dst_port == "s_axis_stat"
        words = lk.src.config.channels // lk.src.config.pe
        assert lk.side and lk.shortcut_words == links.side_link_words(
            kind_of(lk.dst.config).ports(lk.dst.config)[0]["s_axis_stat"]
        )
        assert lk.shortcut_words == 2 * words and lk.depth >= lk.shortcut_words


# --- single units in RTL ------------------------------------------------------------------------
def test_insta_downsampling_unit_matches_graph(models, request: pytest.FixtureRequest) -> None:
    """InstaThreshold fork -> [SlidingWindow s2 -> XnorMVAU -> Affine] + [delayed -> AvgPool ->
    IntMVAU -> Affine] -> AddStreams -> Affine -> InstaPReLU (own statistics). 16 frames at full
    rate: with the IntMVAU at SIMD 2, PE 2 the input runs 56 cycles a frame ahead of the output
    for about nine frames while the links and buffers fill (measured), before it settles."""
    g = models("insta_resnet20")
    th = node_named(g, "InstaThreshold", 2)
    unit = sub_graph(g, th, node_named(g, "InstaPReLU", 2))
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    r = run_parity(unit, random_frames(unit, 4, rng), "insta_down_unit", perf_frames=16)
    assert_parity(unit, r)


def test_insta_shortcut_below_rule_deadlocks(models) -> None:
    """The plain INSTA unit with its shortcut (the delayed output) cut to 4 words: the long
    branch needs about W + 2 rows before its first sum, so fork and join wait on each other."""
    g = models("insta_resnet20")
    th = node_named(g, "InstaThreshold", 1)
    unit = sub_graph(g, th, node_named(g, "AddStreams", 1))
    delayed = g.node(th).outputs[1]
    (rule,) = [lk for lk in links.plan_links(unit) if lk.stream == delayed]
    assert rule.depth >= rule.shortcut_words > 4 * 16  # the rule: more than 4 rows of 16 words
    frames = random_frames(unit, 2, np.random.default_rng(0))
    with pytest.raises(AssertionError, match="deadlock: no transfer"):
        run_parity(unit, frames, "insta_unit_short", perf_frames=0, depths={delayed: 4})


def test_statistic_side_stream_never_deadlocks(models, request: pytest.FixtureRequest) -> None:
    """The latency-optimised downsampling unit: S from the InstaThreshold into the reuse
    InstaPReLU after the add, its link cut to the 2-word minimum: still exact, no deadlock."""
    g = models("insta_resnet18_lat")
    th = node_named(g, "InstaThreshold", 0)
    unit = sub_graph(g, th, node_named(g, "InstaPReLU", 0))
    s = g.node(th).outputs[2]
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    r = run_parity(unit, random_frames(unit, 4, rng), "insta_stat_unit", perf_frames=8,
                   depths={s: 2})  # fmt: skip
    assert_parity(unit, r)


# --- whole models (slow) ------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_whole_model_matches_graph(models, name: str, request: pytest.FixtureRequest) -> None:
    g = models(name)
    convs = [n for n in g.nodes if n.kind == "StreamWidthConverter"]
    assert len(convs) >= 5  # heterogeneous folding: converters in the trunk and at shortcuts
    if name.endswith("@1024"):  # below the stem's 12544 at one position per word
        assert any(n.config.positions > 1 for n in g.nodes if n.kind == "SlidingWindow")
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    label = "whole_" + name.replace("@", "_")
    r = run_parity(g, random_frames(g, 4, rng), label, perf_frames=8)
    assert_parity(g, r)
