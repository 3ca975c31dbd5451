"""LabelSelect RTL vs the golden argmax: exact indices (ties -> lowest index, maxima in every
lane and word position, extremes), back-pressure, reset, cycles per frame."""

from __future__ import annotations

import numpy as np
import pytest

from flows.datatypes import INT, UINT
from flows.graph import Node
from flows.layers import LabelSelect
from flows.sim import runner as sim
from tests.hw.stimuli import frames_with_edges, seed_of

CONFIGS = [
    LabelSelect("label_select", channels=10, input_type=INT(20), pe=5),
    # UINT4 values: random ties are frequent
    LabelSelect("label_select", channels=16, input_type=UINT(4), pe=4, num_vectors=3),
]


def _id(c: LabelSelect) -> str:
    return f"{c.input_type}_c{c.channels}_pe{c.pe}_nv{c.num_vectors}"


def make_frames(cfg: LabelSelect, rng: np.random.Generator) -> np.ndarray:
    x, c = cfg.input_type, cfg.channels
    edges = [x.min, x.max, np.arange(c) + x.min, x.max - np.arange(c)]
    for pos in (0, 1, cfg.pe - 1, cfg.pe, c - 1):  # a single maximum in several lanes/words
        v = np.full(c, x.min)
        v[pos] = x.max
        edges.append(v)
    tie = np.full(c, x.min)
    tie[[cfg.pe - 1, c - 1]] = x.max  # tie across words: the lower index wins
    edges.append(tie)
    return frames_with_edges(x, cfg.num_vectors, c, edges, rng)


@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_label_select(cfg: LabelSelect, request: pytest.FixtureRequest) -> None:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    r = sim.run_layer(Node(cfg, ["x"], ["y"]), make_frames(cfg, rng))
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4
