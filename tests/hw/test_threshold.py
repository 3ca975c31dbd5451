"""Threshold RTL vs the golden function: exact words (values at, below and above every
threshold, clamped thresholds), back-pressure, reset, cycles per frame."""

from __future__ import annotations

import numpy as np
import pytest

from flows.datatypes import INT, UINT
from flows.graph import Node
from flows.layers import Threshold
from flows.sim import runner as sim
from tests.hw.stimuli import frames_with_edges, random_values, seed_of

CONFIGS = [
    # BN + sign after an integer MVAU: one threshold, bipolar output
    Threshold("threshold", channels=8, num_thresholds=1, input_type=INT(8), pe=2, num_vectors=2),
    # requantisation of popcounts to UINT2: three thresholds per channel
    Threshold(
        "threshold",
        channels=12,
        num_thresholds=3,
        input_type=UINT(5),
        bipolar_output=False,
        pe=4,
        num_vectors=2,
    ),
]


def _id(c: Threshold) -> str:
    return f"{c.input_type}_to_{c.output_type}_c{c.channels}_n{c.num_thresholds}_pe{c.pe}"


def make_node(cfg: Threshold, rng: np.random.Generator) -> Node:
    x, tt = cfg.input_type, cfg.threshold_type
    t = random_values(x, (cfg.channels, cfg.num_thresholds), rng)
    t[0, :] = x.min  # clamped: always passed
    t[1, :] = x.max + 1  # clamped: never passed (needs the threshold type's extra bit)
    if cfg.num_thresholds > 1:
        t[2, :] = t[2, 0]  # equal thresholds: the count jumps by N at once
    t = np.sort(t, axis=1)
    tt.check(t, "thresholds")
    return Node(cfg, ["x"], ["y"], {"thresholds": t})


def make_frames(cfg: Threshold, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = cfg.input_type
    edges = [x.min, x.max]
    for i in range(cfg.num_thresholds):
        for delta in (0, -1, 1):  # exactly at each threshold, one below, one above
            edges.append(np.clip(t[:, i] + delta, x.min, x.max))
    return frames_with_edges(x, cfg.num_vectors, cfg.channels, edges, rng)


@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_threshold(cfg: Threshold, request: pytest.FixtureRequest) -> None:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    node = make_node(cfg, rng)
    r = sim.run_layer(node, make_frames(cfg, node.params["thresholds"], rng))
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4
