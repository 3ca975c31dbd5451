"""auto_fold on residual DAGs and chains (docs/flow.md, Folding): every layer folded on its own,
width converters wherever lanes differ, the cost the target's resources set.

The lowered ResNets are built at 32x32 input with width 8. No layer takes more than one pixel per
cycle (a window emits up to a whole window of whole pixels per word), so the 32x32 input map
holds every design to 1024 cycles per frame or more: 16384 and 65536 are met by every layer, 512
and 256 are not.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

from flows import estimate
from flows.datatypes import INT
from flows.errors import FoldingError
from flows.folding import (
    Budget,
    FoldingWarning,
    apply_folding,
    auto_fold,
    check_lanes,
    cycles_per_frame,
    divisors,
    insert_width_converters,
    missed_target,
    options,
    strip_width_converters,
)
from flows.frontend.qonnx_import import import_model, load
from flows.graph import DataflowGraph, Stream
from flows.layers import (
    FloatAffine,
    IntMVAU,
    MaxPool,
    SlidingWindow,
    StreamWidthConverter,
    XnorMVAU,
)
from flows.transforms.streamline import streamline
from tests.hw.test_residual_block import make_block

RESNETS = {
    "insta_resnet20": {"blocks": (1, 1, 1)},
    "insta_resnet18_lat": {"blocks": (1, 1)},
}
SMALL_CNV = {"channels": (8, 8, 16, 16, 32, 32), "fc": (32, 32)}


def _lowered(path, name: str, **config) -> DataflowGraph:
    from sw.export import export_untrained

    p = export_untrained(name, path / f"{name}.onnx", input_size=32, **config)
    return streamline(import_model(load(p)))


@pytest.fixture(scope="module")
def resnets(tmp_path_factory) -> dict[str, DataflowGraph]:
    d = tmp_path_factory.mktemp("resnets")
    return {
        name: _lowered(d, name, width=8, num_classes=10, **cfg) for name, cfg in RESNETS.items()
    }


def _fold(
    graph: DataflowGraph, target: int, device: str = "ulx3s"
) -> tuple[DataflowGraph, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folded = auto_fold(graph, target, device)
    return folded, [str(w.message) for w in caught if w.category is FoldingWarning]


def _fields(graph: DataflowGraph) -> dict[str, tuple[int | None, int]]:
    return {
        n.name: (getattr(n.config, "simd", None), n.config.pe)
        for n in graph.nodes
        if not isinstance(n.config, StreamWidthConverter)
    }


def _converters(graph: DataflowGraph) -> list:
    return [n.config for n in graph.nodes if isinstance(n.config, StreamWidthConverter)]


def _cost(graph: DataflowGraph, device: str = "ulx3s") -> float:
    budget = Budget.of(device)
    return budget.cost(estimate.Estimate(0, *_total(graph, budget.family)))


def _total(graph: DataflowGraph, family: str) -> tuple[int, ...]:
    t = estimate.total(estimate.estimate_graph(graph, family))
    return t["LUT"], t["FF"], t["BRAM"], t["DSP"], t["URAM"], t["LUTRAM"]


# --- the lowered ResNets ---------------------------------------------------------------------------
@pytest.mark.parametrize("target", [65536, 16384])
@pytest.mark.parametrize("name", list(RESNETS))
def test_resnet_folds_within_target(resnets, name, target):
    g = resnets[name]
    f, warned = _fold(g, target)
    check_lanes(f)  # converters wherever lanes differ (side streams and shortcuts included)
    assert warned == [] and missed_target(f, target) == {}
    assert cycles_per_frame(f) <= target
    for c in _converters(f):  # a converter only where the two ends differ
        assert c.in_lanes != c.out_lanes
    x = np.random.default_rng(0).integers(0, 256, size=(1, 32 * 32, 3))
    np.testing.assert_array_equal(f.run(x), g.run(x))


def test_resnet_layers_fold_independently(resnets):
    """Without converters one lane count spans the whole residual trunk; with them, layers of
    one trunk take different PEs, and the design costs less than the shared-lane one."""
    f, _ = _fold(resnets["insta_resnet20"], 16384)
    adds = [n for n in f.nodes if n.kind == "AddStreams"]
    assert len({n.config.pe for n in f.nodes if n.kind != "StreamWidthConverter"}) > 1
    assert _converters(f) and adds
    widest = {n.name: {"pe": max(divisors(n.config.channels))} for n in adds}
    shared = apply_folding(f, widest)  # a faster trunk costs more
    assert _cost(shared) > _cost(f)


@pytest.mark.parametrize(
    ("name", "target", "first"),
    [
        # no layer takes more than one pixel per cycle: on the 32x32 input map 1024 cycles
        ("insta_resnet20", 512, "l0_slidingwindow (1024), l1_intmvau (1024)"),
        ("insta_resnet20", 256, "l0_slidingwindow (1024), l1_intmvau (1024)"),
        ("insta_resnet18_lat", 512, "l0_slidingwindow (1024);"),
    ],
)
def test_unmeetable_target_warns_and_folds_those_layers_fastest(resnets, name, target, first):
    f, warned = _fold(resnets[name], target)
    check_lanes(f)
    assert len(warned) == 1
    assert warned[0].startswith(f"no legal folding meets {target} cycles per frame for {first}")
    fastest = {
        n.name: min(o.cycles_per_frame for o in options(n.config))
        for n in f.nodes
        if n.kind != "StreamWidthConverter"
    }
    unable = [name for name, c in fastest.items() if c > target]
    assert unable and all(name in warned[0] for name in unable[:6])
    floor = max(fastest.values())  # the design runs at its slowest layer's fastest
    assert cycles_per_frame(f) == floor and f"runs at {floor} cycles per frame" in warned[0]
    with pytest.warns(FoldingWarning, match=f"no legal folding meets {target} cycles"):
        auto_fold(resnets[name], target)


def test_apply_folding_inserts_converters(resnets):
    f, _ = _fold(resnets["insta_resnet20"], 65536)
    add = next(n for n in f.nodes if n.kind == "AddStreams")
    lanes = max(divisors(add.config.channels))
    g = apply_folding(f, {add.name: {"pe": lanes}})
    check_lanes(g)
    assert g.node(add.name).config.pe == lanes
    into_add = [g.producer(s).config for s in g.node(add.name).inputs]
    assert all(isinstance(c, StreamWidthConverter) and c.out_lanes == lanes for c in into_add)
    x = np.random.default_rng(3).integers(0, 256, size=(1, 32 * 32, 3))
    np.testing.assert_array_equal(g.run(x), f.run(x))
    with pytest.raises(FoldingError, match="PE=3 does not divide"):
        apply_folding(f, {add.name: {"pe": 3}})


def test_converters_strip_and_reinsert(resnets):
    f, _ = _fold(resnets["insta_resnet18_lat"], 16384)
    bare = strip_width_converters(f)
    assert not _converters(bare) and len(bare.nodes) == len(f.nodes) - len(_converters(f))
    with pytest.raises(FoldingError, match="insert the width converters"):
        check_lanes(bare)
    again = insert_width_converters(bare)
    assert sorted(n.name for n in again.nodes) == sorted(n.name for n in f.nodes)


def test_multiplier_style_follows_the_resource_weights():
    """DSP or LUT multipliers are the folder's decision: a dear DSP gives LUT multipliers."""
    g = DataflowGraph([Stream("x", INT(8), (16, 32))], ["y"])
    mv = IntMVAU("mm", mw=32, mh=16, input_type=INT(8), weight_type=INT(8), num_vectors=16)
    w = np.random.default_rng(0).integers(-128, 128, size=(16, 32))
    g.add(mv, ["x"], [Stream("y", mv.output_type, (16, 16))], weights=w)
    styles = {}
    for dear in ("DSP", "LUT"):
        f = auto_fold(g, 256, "pynq-z2", weights={dear: 1000.0})
        styles[dear] = f.node("mm").config.mult_style
    assert styles == {"DSP": "lut", "LUT": "dsp"}


# --- the toy residual block ------------------------------------------------------------------------
@pytest.mark.parametrize("target", [1000, 256, 10**6])
def test_toy_residual_block(target):
    g = make_block(np.random.default_rng(1), add_pe=4)  # lanes mismatched on purpose
    with pytest.raises(FoldingError, match="res_add reads 4"):
        check_lanes(g)
    f = auto_fold(g, target)
    check_lanes(f)
    assert cycles_per_frame(f) <= target
    x = np.random.default_rng(2).integers(-128, 128, size=(3, 16, 8))
    np.testing.assert_array_equal(f.run(x), g.run(x))


def test_transient_kind_is_refused():
    g = make_block(np.random.default_rng(1))
    g.node("bn").config = FloatAffine(name="bn", channels=8, num_vectors=16)
    with pytest.raises(FoldingError, match="bn: a FloatAffine has no folding.*streamline"):
        auto_fold(g, 1000)


# --- chains: the shared-lane chain folding is the baseline to beat --------------------------------
def chain_reference(graph: DataflowGraph, target: int) -> DataflowGraph:
    """The single-chain folding without converters (lanes carried along the chain): each MVAU
    the smallest SIMD*PE that meets the target with SIMD = the lanes it receives."""
    g, lanes = graph.copy(), None
    for node in g.topological():
        cfg = node.config
        if isinstance(cfg, XnorMVAU | IntMVAU):
            simds = [lanes] if lanes else divisors(cfg.mw)
            opts = []
            for s in simds:
                for p in divisors(cfg.mh):
                    cycles = cfg.num_vectors * (cfg.mw // s) * (cfg.mh // p)
                    cost = s * p if cycles <= target else cycles
                    opts.append((cycles > target, cost, abs(s - p), -p, s, p))
            s, p = min(opts)[4:]
            node.config, lanes = replace(cfg, simd=s, pe=p), p
        elif isinstance(cfg, (SlidingWindow, MaxPool)) and lanes is None:
            opts = [replace(cfg, pe=p) for p in divisors(cfg.channels)]
            meeting = [o for o in opts if o.cycles_per_frame <= target]
            node.config = meeting[0] if meeting else opts[-1]
            lanes = node.config.pe
        else:
            node.config = replace(cfg, pe=lanes or 1)
            lanes = 1 if node.kind == "LabelSelect" else node.config.pe
    check_lanes(g)
    return g


@pytest.fixture(scope="module")
def cnv_small(tmp_path_factory) -> DataflowGraph:
    return _lowered(tmp_path_factory.mktemp("cnv"), "cnv_w1a1", seed=3, **SMALL_CNV)


CHAIN_TARGETS = [1000, 4096, 10_000, 30_000, 100_000, 10**6]


@pytest.mark.parametrize("device", ["ulx3s", "pynq-z2"])
@pytest.mark.parametrize("target", CHAIN_TARGETS)
def test_chain_costs_no_more_than_shared_lanes(cnv_small, target, device):
    """At the frames/s the shared-lane folding reaches, the per-layer folding costs no more."""
    ref = chain_reference(cnv_small, target)
    f, warned = _fold(cnv_small, cycles_per_frame(ref), device)
    assert warned == [] and cycles_per_frame(f) <= cycles_per_frame(ref)
    assert _cost(f, device) <= _cost(ref, device)
    x = np.random.default_rng(4).integers(0, 256, size=(1, 32 * 32, 3))
    np.testing.assert_array_equal(f.run(x), cnv_small.run(x))


def test_target_must_be_positive():
    with pytest.raises(FoldingError, match="target cycles per frame must be >= 1, got 0"):
        auto_fold(make_block(np.random.default_rng(1)), 0)
