"""auto_fold on residual DAGs (lane classes, docs/flow.md Folding) and unchanged on chains.

The lowered ResNets are built at 32x32 input with width 8. Their first stage's 3x3 windows emit
9*C elements per pixel at most C per word, so insta_resnet20 cannot go below 9 * 32*32 = 9216
cycles per frame, the ResNet18 stems (7x7/2 windows on 3 channels) not below 49 * 16*16 = 12544:
16384 and 65536 are met by every layer, 4096 and 1024 are not.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

from flows.errors import FoldingError
from flows.folding import (
    FoldingWarning,
    LaneClasses,
    apply_folding,
    auto_fold,
    check_lanes,
    cycles_per_frame,
    divisors,
    missed_target,
)
from flows.frontend.qonnx_import import import_model, load
from flows.graph import DataflowGraph
from flows.layers import FloatAffine, IntMVAU, MaxPool, SlidingWindow, XnorMVAU
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


def _fold(graph: DataflowGraph, target: int) -> tuple[DataflowGraph, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folded = auto_fold(graph, target)
    return folded, [str(w.message) for w in caught if w.category is FoldingWarning]


def _fields(graph: DataflowGraph) -> dict[str, tuple[int | None, int]]:
    return {n.name: (getattr(n.config, "simd", None), n.config.pe) for n in graph.nodes}


# --- the lowered ResNets ---------------------------------------------------------------------------
@pytest.mark.parametrize("target", [65536, 16384])
@pytest.mark.parametrize("name", list(RESNETS))
def test_resnet_folds_within_target(resnets, name, target):
    g = resnets[name]
    f, warned = _fold(g, target)
    check_lanes(f)
    assert warned == [] and missed_target(f, target) == {}
    assert cycles_per_frame(f) <= target
    classes = LaneClasses(f)  # every class: the smallest legal lane count that meets the target
    lanes = {c: _lanes_of(f, classes, c) for c in classes.touching}
    for c, nodes in classes.touching.items():
        smaller = [v for v in classes.legal[c] if v < lanes[c]]
        if smaller:
            fewer = {**lanes, c: smaller[-1]}
            slowest = max(_cycles(n, classes, fewer) for n in nodes)
            assert slowest > target, (name, [n.name for n in nodes], lanes[c])


def _cycles(node, classes: LaneClasses, lanes: dict[str, int]) -> int:
    fields = classes.ports[node.name]
    return replace(node.config, **{f: lanes[c] for f, c in fields.items()}).cycles_per_frame


def _lanes_of(graph: DataflowGraph, classes: LaneClasses, c: str) -> int:
    for n in classes.touching[c]:
        field = next(f for f, cl in classes.ports[n.name].items() if cl == c)
        return getattr(n.config, field)
    raise AssertionError(c)


def test_resnet20_residual_streams_match_and_fold_runs_the_same(resnets):
    g = resnets["insta_resnet20"]
    f, _ = _fold(g, 16384)
    for n in f.nodes:
        if n.kind == "AddStreams":
            a, b = (f.producer(s).config.pe for s in n.inputs)
            assert a == b == n.config.pe
    x = np.random.default_rng(0).integers(0, 256, size=(1, 32 * 32, 3))
    np.testing.assert_array_equal(f.run(x), g.run(x))


def test_insta_statistic_stream_ties_producer_and_consumer(resnets):
    """S (one vector per frame) carries the INSTA-Th's PE; the reuse INSTA-PReLU reads it there."""
    f, _ = _fold(resnets["insta_resnet18_lat"], 16384)
    reuse = [n for n in f.nodes if n.kind == "InstaPReLU" and len(n.inputs) == 2]
    assert reuse
    for n in reuse:
        assert f.producer(n.inputs[1]).config.pe == n.config.pe


@pytest.mark.parametrize(
    ("name", "target", "first"),
    [
        ("insta_resnet20", 4096, "l0_slidingwindow (9216), l1_intmvau (9216)"),
        ("insta_resnet20", 1024, "l0_slidingwindow (9216), l1_intmvau (9216)"),
        ("insta_resnet18_lat", 4096, "l0_slidingwindow (12544), l1_intmvau (12544);"),
    ],
)
def test_unmeetable_target_warns_and_folds_those_layers_fastest(resnets, name, target, first):
    f, warned = _fold(resnets[name], target)
    check_lanes(f)
    assert len(warned) == 1
    assert warned[0].startswith(f"no legal folding meets {target} cycles per frame for {first}")
    missed = missed_target(f, target)
    assert missed and all(name in warned[0] for name in list(missed)[:6])
    classes = LaneClasses(f)
    for n in f.nodes:  # a layer over the target has every one of its classes at the widest
        for c in set(classes.ports[n.name].values()):
            if n.name in missed:
                assert _lanes_of(f, classes, c) == classes.legal[c][-1], (n.name, c)
    with pytest.warns(FoldingWarning, match=f"no legal folding meets {target} cycles"):
        auto_fold(resnets[name], target)


def test_apply_folding_on_a_dag(resnets):
    f, _ = _fold(resnets["insta_resnet20"], 65536)
    classes = LaneClasses(f)
    add = next(n for n in f.nodes if n.kind == "AddStreams")
    c = classes.ports[add.name]["pe"]
    lanes = classes.legal[c][-1]
    explicit = {}
    for n in classes.touching[c]:  # a whole lane class moves together
        explicit[n.name] = {f: lanes for f, cl in classes.ports[n.name].items() if cl == c}
    g = apply_folding(f, explicit)
    assert g.node(add.name).config.pe == lanes and cycles_per_frame(g) <= cycles_per_frame(f)
    with pytest.raises(FoldingError, match=f"emits .* lanes per word but {add.name} reads"):
        apply_folding(f, {add.name: {"pe": lanes}})


# --- the toy residual block ------------------------------------------------------------------------
@pytest.mark.parametrize(("target", "lanes"), [(1000, 4), (256, 8), (10**6, 1)])
def test_toy_residual_block(target, lanes):
    g = make_block(np.random.default_rng(1), add_pe=4)  # lanes mismatched on purpose
    with pytest.raises(FoldingError, match="res_add reads 4"):
        check_lanes(g)
    f = auto_fold(g, target)
    check_lanes(f)
    assert set(_fields(f).values()) == {(None, lanes), (lanes, lanes)}  # skip: SIMD class = PE
    assert cycles_per_frame(f) <= target
    x = np.random.default_rng(2).integers(-128, 128, size=(3, 16, 8))
    np.testing.assert_array_equal(f.run(x), g.run(x))


def test_transient_kind_is_refused():
    g = make_block(np.random.default_rng(1))
    g.node("bn").config = FloatAffine(name="bn", channels=8, num_vectors=16)
    with pytest.raises(FoldingError, match="bn: a FloatAffine has no folding.*streamline"):
        auto_fold(g, 1000)


# --- chains: the previous chain algorithm is the reference -------------------------------------
def chain_reference(graph: DataflowGraph, target: int) -> dict[str, tuple[int | None, int]]:
    """The single-chain auto_fold before residual folding (lanes carried along the chain)."""
    g, lanes = graph.copy(), None
    for node in g.topological():
        cfg = node.config
        if isinstance(cfg, XnorMVAU | IntMVAU):
            simds = [lanes] if lanes else divisors(cfg.mw)
            options = []
            for s in simds:
                for p in divisors(cfg.mh):
                    cycles = cfg.num_vectors * (cfg.mw // s) * (cfg.mh // p)
                    cost = s * p if cycles <= target else cycles
                    options.append((cycles > target, cost, abs(s - p), -p, s, p))
            s, p = min(options)[4:]
            node.config, lanes = replace(cfg, simd=s, pe=p), p
        elif isinstance(cfg, (SlidingWindow, MaxPool)) and lanes is None:
            options = [replace(cfg, pe=p) for p in divisors(cfg.channels)]
            meeting = [o for o in options if o.cycles_per_frame <= target]
            node.config = meeting[0] if meeting else options[-1]
            lanes = node.config.pe
        else:
            node.config = replace(cfg, pe=lanes or 1)
            lanes = 1 if node.kind == "LabelSelect" else node.config.pe
    return _fields(g)


@pytest.fixture(scope="module")
def cnv_small(tmp_path_factory) -> DataflowGraph:
    return _lowered(tmp_path_factory.mktemp("cnv"), "cnv_w1a1", seed=3, **SMALL_CNV)


CHAIN_TARGETS = [1, 64, 256, 1000, 4096, 10_000, 30_000, 100_000, 10**6, 10**9]


@pytest.mark.parametrize("target", CHAIN_TARGETS)
def test_chain_results_unchanged(cnv_small, target):
    f, _ = _fold(cnv_small, target)
    assert _fields(f) == chain_reference(cnv_small, target)


def test_chain_pinned(cnv_small):
    f, warned = _fold(cnv_small, 10_000)
    assert warned == [] and cycles_per_frame(f) <= 10_000
    first, second = f.topological()[:2]
    assert first.config.pe == second.config.simd == 3  # 30*30*27/3 = 8100 cycles


def test_target_must_be_positive():
    with pytest.raises(FoldingError, match="target cycles per frame must be >= 1, got 0"):
        auto_fold(make_block(np.random.default_rng(1)), 0)
