"""AvgPool and GlobalAvgPool RTL vs the golden functions (flows/layers/avg_pool.py): exact window
and map sums (all-minimum and all-maximum frames give the extreme sums), non-overlapping and
overlapping windows, odd maps whose last rows/columns belong to no window, BIPOLAR lanes counted
as -1/+1; back-pressure, input gaps, mid-frame reset and cycles per frame through the shared layer
bench (which counts `out_vectors` output vectors per frame)."""

from __future__ import annotations

import numpy as np
import pytest

from flows.datatypes import BIPOLAR, INT, UINT
from flows.graph import Node
from flows.layers import AvgPool, GlobalAvgPool, kind_of
from flows.sim import runner as sim
from tests.hw.stimuli import seed_of
from tests.hw.test_sliding_window import window_frames

POOLS = [
    # the ResNet downsample shortcut: 2x2 stride 2 on the INT8 residual stream
    AvgPool("avg_pool", channels=8, in_h=6, in_w=6, kernel=2, stride=2, pe=4, input_type=INT(8)),
    # overlapping 3x3 stride 2 windows on an odd map, NF = 3
    AvgPool("avg_pool", channels=3, in_h=7, in_w=8, kernel=3, stride=2, pe=1, input_type=UINT(4)),
]  # fmt: skip

POOL_SWEEP = [
    AvgPool("avg_pool", channels=4, in_h=5, in_w=5, kernel=3, stride=1, pe=4, input_type=BIPOLAR),
    AvgPool("avg_pool", channels=2, in_h=5, in_w=6, kernel=1, stride=2, pe=1, input_type=INT(3)),
    AvgPool("avg_pool", channels=4, in_h=7, in_w=7, kernel=2, stride=3, pe=2, input_type=INT(8)),
]  # fmt: skip

GLOBAL = [
    # the ResNet head: the sum over the last map, INT8, NF = 4
    GlobalAvgPool("gap", channels=16, height=4, width=4, pe=4, input_type=INT(8)),
    # NF = 1 (one accumulator word read and written every clock), unsigned
    GlobalAvgPool("gap", channels=3, height=3, width=5, pe=3, input_type=UINT(3)),
]  # fmt: skip

GLOBAL_SWEEP = [
    GlobalAvgPool("gap", channels=4, height=2, width=3, pe=1, input_type=BIPOLAR),
    GlobalAvgPool("gap", channels=8, height=1, width=1, pe=2, input_type=INT(5)),
]  # fmt: skip


def _id(c: AvgPool) -> str:
    return f"{c.input_type}_{c.in_h}x{c.in_w}x{c.channels}_k{c.kernel}s{c.stride}_pe{c.pe}"


def _gid(c: GlobalAvgPool) -> str:
    return f"{c.input_type}_{c.height}x{c.width}x{c.channels}_pe{c.pe}"


def _run(cfg, request: pytest.FixtureRequest) -> dict:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    t = cfg.input_type
    frames = window_frames(t, cfg.num_vectors, cfg.channels, rng)
    if t != BIPOLAR:  # frames of values near the middle of the range: carries across lanes
        mid = rng.integers(-1, 2, size=(2, cfg.num_vectors, cfg.channels)) + (t.min + t.max) // 2
        frames = np.concatenate([frames, mid])
    want = kind_of(cfg).execute(cfg, {}, [frames])[0]
    out = cfg.output_type
    assert want.min() == cfg.kernel**2 * t.min if isinstance(cfg, AvgPool) else True
    assert out.min <= want.min() and want.max() <= out.max
    r = sim.run_layer(Node(cfg, ["x"], ["y"], {}), frames)
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4
    assert r["cycles_per_frame_in"][-4:] == [cfg.cycles_per_frame] * 4
    return r


@pytest.mark.parametrize("cfg", POOLS, ids=_id)
def test_avg_pool(cfg: AvgPool, request: pytest.FixtureRequest) -> None:
    _run(cfg, request)


@pytest.mark.parametrize("cfg", GLOBAL, ids=_gid)
def test_global_avg_pool(cfg: GlobalAvgPool, request: pytest.FixtureRequest) -> None:
    _run(cfg, request)


@pytest.mark.slow
@pytest.mark.parametrize("cfg", POOL_SWEEP, ids=_id)
def test_avg_pool_sweep(cfg: AvgPool, request: pytest.FixtureRequest) -> None:
    _run(cfg, request)


@pytest.mark.slow
@pytest.mark.parametrize("cfg", GLOBAL_SWEEP, ids=_gid)
def test_global_avg_pool_sweep(cfg: GlobalAvgPool, request: pytest.FixtureRequest) -> None:
    _run(cfg, request)


def test_stitched_residual_head(request: pytest.FixtureRequest) -> None:
    """accel_top of requantising Affine -> RPReLU -> AvgPool k2 s2 -> GlobalAvgPool on a 4x4x8
    INT8 map: the links (types, lanes, `out_vectors`) check and the chain matches graph.run."""
    from flows.codegen import stitch
    from flows.graph import DataflowGraph, Stream
    from flows.layers import Affine, RPReLU
    from tests.hw.test_affine import tie_params
    from tests.hw.test_rprelu import make_node as rprelu_node

    rng = np.random.default_rng(seed_of(request.node.nodeid))
    x, c, pe, h = INT(8), 8, 4, 4
    g = DataflowGraph([Stream("x", x, (h * h, c))], ["y"])
    aff = Affine("head_affine", channels=c, input_type=x, mul_type=INT(16), add_type=INT(24),
                 pe=pe, num_vectors=h * h, shift=9, saturate_type=x)  # fmt: skip
    mul, add = tie_params(aff.shift, aff.mul_type, aff.add_type, c, rng)
    g.add(aff, ["x"], [Stream("a", x, (h * h, c))], mul=mul, add=add)
    rp = RPReLU("head_rprelu", channels=c, input_type=x, output_type=x, mul_type=INT(16),
                add_type=INT(20), shift=10, pe=pe, num_vectors=h * h)  # fmt: skip
    g.add(rp, ["a"], [Stream("r", x, (h * h, c))], **rprelu_node(rp, rng).params)
    ap = AvgPool("head_pool", channels=c, in_h=h, in_w=h, kernel=2, stride=2, pe=pe, input_type=x)
    g.add(ap, ["r"], [Stream("p", ap.output_type, (ap.out_vectors, c))])
    gp = GlobalAvgPool("head_gap", channels=c, height=ap.out_h, width=ap.out_w, pe=pe,
                       input_type=ap.output_type)  # fmt: skip
    g.add(gp, ["p"], [Stream("y", gp.output_type, (1, c))])
    frames = window_frames(x, h * h, c, rng)
    b = sim.build("accel_top", lambda d: stitch.emit_stitched(g, d))
    r = sim.report("accel_top", sim.run_bench(b, g, frames))
    assert r["cycles_per_frame_out"][-4:] == [h * h * c // pe] * 4
