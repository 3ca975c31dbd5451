"""XnorMVAU RTL vs the golden function: exact words, back-pressure, reset, cycles per frame."""

from __future__ import annotations

import numpy as np
import pytest

from flows.datatypes import BIPOLAR
from flows.graph import Node
from flows.layers import XnorMVAU
from flows.sim import runner as sim
from tests.hw.stimuli import frames_with_edges, random_values, seed_of

CONFIGS = [
    XnorMVAU("xnor_mvau", mw=16, mh=8, simd=4, pe=2, num_vectors=2, popcount_stages=0),
    XnorMVAU("xnor_mvau", mw=64, mh=64, simd=8, pe=4, popcount_stages=2),
    # weights in DRAM (s_axis_w): passes of 3 vectors, 4 tiles; one vector per pass with 3-wide
    # tiles and no popcount register; 4 vectors and a single tile (no vector memory)
    XnorMVAU("xnor_mvau", mw=16, mh=8, simd=4, pe=2, num_vectors=6, weights="dram",
             vectors_per_pass=3),
    XnorMVAU("xnor_mvau", mw=36, mh=12, simd=4, pe=3, num_vectors=5, popcount_stages=0,
             weights="dram"),
    XnorMVAU("xnor_mvau", mw=64, mh=16, simd=8, pe=16, num_vectors=4, popcount_stages=2,
             weights="dram", vectors_per_pass=4),
    # at the drain rule's boundary (passes x NF x (SF - 1) = RESULT_SLACK = 8), deepest popcount
    XnorMVAU("xnor_mvau", mw=12, mh=4, simd=4, pe=1, num_vectors=4, popcount_stages=3,
             weights="dram"),
]  # fmt: skip


def _id(c: XnorMVAU) -> str:
    dram = f"_dram_g{c.vectors_per_pass}" if c.weights == "dram" else ""
    return f"mw{c.mw}_mh{c.mh}_simd{c.simd}_pe{c.pe}_nv{c.num_vectors}_pop{c.popcount_stages}{dram}"


def make_node(cfg: XnorMVAU, rng: np.random.Generator) -> Node:
    w = random_values(BIPOLAR, (cfg.mh, cfg.mw), rng)
    w[0], w[-1] = 1, -1  # extreme rows: popcount mw / 0 on all-(+1) input
    return Node(cfg, ["x"], ["y"], {"weights": w})


def make_frames(cfg: XnorMVAU, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    alternating = np.where(np.arange(cfg.mw) % 2 == 0, 1, -1)
    # all +1, all -1 (stream bits all 1 / all 0), a weight row and its negation (popcount mw, 0)
    edges = [1, -1, w[1], -w[1], alternating, -alternating]
    return frames_with_edges(BIPOLAR, cfg.num_vectors, cfg.mw, edges, rng)


@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_xnor_mvau(cfg: XnorMVAU, request: pytest.FixtureRequest) -> None:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    node = make_node(cfg, rng)
    r = sim.run_layer(node, make_frames(cfg, node.params["weights"], rng))
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4
