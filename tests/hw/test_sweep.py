"""Slow sweep: corner foldings and type combinations of every kind through the full cocotb bench.

`make test-all` runs it; the default suite covers two configurations per kind in the test_<kind>
files. Corners: SIMD = 1, PE = 1, SF = NF = 1, more popcount stages than tree levels, bipolar
inputs with integer weights, unsigned x unsigned, 15 thresholds, one channel, PE = channels.
"""

from __future__ import annotations

import numpy as np
import pytest

from flows.datatypes import BIPOLAR, INT, UINT
from flows.graph import Node
from flows.layers import Affine, IntMVAU, LabelSelect, Threshold, XnorMVAU
from flows.sim import runner as sim
from tests.hw.stimuli import frames_with_edges, random_values, seed_of

CONFIGS = [
    XnorMVAU("sweep_xnor", mw=5, mh=3, simd=1, pe=1, popcount_stages=1),
    XnorMVAU("sweep_xnor", mw=6, mh=3, simd=6, pe=3, popcount_stages=5),
    XnorMVAU("sweep_xnor", mw=64, mh=8, simd=64, pe=8, num_vectors=2, popcount_stages=3),
    XnorMVAU("sweep_xnor", mw=12, mh=4, simd=3, pe=1, popcount_stages=0),
    IntMVAU("sweep_int", mw=12, mh=6, input_type=BIPOLAR, weight_type=INT(4), simd=3, pe=3),
    IntMVAU("sweep_int", mw=12, mh=6, input_type=UINT(3), weight_type=UINT(2), simd=12, pe=6),
    IntMVAU(
        "sweep_int", mw=10, mh=4, input_type=INT(8), weight_type=INT(8), simd=5, pe=2, num_vectors=2
    ),
    IntMVAU("sweep_int", mw=3, mh=2, input_type=UINT(8), weight_type=BIPOLAR, simd=1, pe=1),
    Threshold(
        "sweep_thr", channels=3, num_thresholds=15, input_type=UINT(8), bipolar_output=False, pe=1
    ),
    Threshold("sweep_thr", channels=8, num_thresholds=1, input_type=INT(4), pe=8, num_vectors=3),
    Threshold("sweep_thr", channels=1, num_thresholds=2, input_type=INT(6), bipolar_output=False),
    Affine("sweep_affine", channels=4, input_type=BIPOLAR, mul_type=INT(3), add_type=UINT(2), pe=4),
    Affine("sweep_affine", channels=6, input_type=INT(5), mul_type=UINT(1), add_type=INT(2), pe=3),
    LabelSelect("sweep_label", channels=1, input_type=UINT(3)),
    LabelSelect("sweep_label", channels=16, input_type=INT(6), pe=16, num_vectors=2),
    LabelSelect("sweep_label", channels=7, input_type=INT(3), pe=1),
]


def random_node(cfg, rng: np.random.Generator) -> Node:
    """The layer with random parameters of its types (thresholds over the clamped range)."""
    if isinstance(cfg, XnorMVAU | IntMVAU):
        params = {"weights": random_values(cfg.weight_type, (cfg.mh, cfg.mw), rng)}
    elif isinstance(cfg, Threshold):
        x = cfg.input_type
        t = rng.integers(x.min, x.max + 2, size=(cfg.channels, cfg.num_thresholds))
        params = {"thresholds": np.sort(t, axis=1)}
    elif isinstance(cfg, Affine):
        params = {
            "mul": random_values(cfg.mul_type, (cfg.channels,), rng),
            "add": random_values(cfg.add_type, (cfg.channels,), rng),
        }
    else:
        params = {}
    return Node(cfg, ["x"], ["y"], params)


def _id(cfg) -> str:
    return "_".join(f"{v}" for v in vars(cfg).values())


@pytest.mark.slow
@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_corner_configuration(cfg, request: pytest.FixtureRequest) -> None:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    x = cfg.input_type
    channels = cfg.mw if isinstance(cfg, XnorMVAU | IntMVAU) else cfg.channels
    frames = frames_with_edges(x, cfg.num_vectors, channels, [x.min, x.max], rng)
    r = sim.run_layer(random_node(cfg, rng), frames)
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4
