"""Affine RTL vs the golden function: exact words (extreme x, mul and add), back-pressure, reset,
cycles per frame."""

from __future__ import annotations

import numpy as np
import pytest

from flows.datatypes import INT, UINT
from flows.graph import Node
from flows.layers import Affine
from flows.sim import runner as sim
from tests.hw.stimuli import frames_with_edges, random_values, seed_of

CONFIGS = [
    # the last layer after an XnorMVAU: popcounts x INT16 scale + INT16 bias (numerics.md 5)
    Affine(
        "affine",
        channels=10,
        input_type=UINT(7),
        mul_type=INT(16),
        add_type=INT(16),
        frac_bits=9,
        pe=5,
    ),
    Affine(
        "affine",
        channels=8,
        input_type=INT(8),
        mul_type=INT(4),
        add_type=UINT(6),
        pe=2,
        num_vectors=3,
    ),
]


def _id(c: Affine) -> str:
    return f"{c.input_type}x{c.mul_type}+{c.add_type}_c{c.channels}_pe{c.pe}_nv{c.num_vectors}"


def make_node(cfg: Affine, rng: np.random.Generator) -> Node:
    mul = random_values(cfg.mul_type, (cfg.channels,), rng)
    add = random_values(cfg.add_type, (cfg.channels,), rng)
    mul[:4] = [cfg.mul_type.max, cfg.mul_type.min, cfg.mul_type.min, 0]
    add[:4] = [cfg.add_type.max, cfg.add_type.min, cfg.add_type.max, cfg.add_type.min]
    return Node(cfg, ["x"], ["y"], {"mul": mul, "add": add})


def make_frames(cfg: Affine, rng: np.random.Generator) -> np.ndarray:
    x = cfg.input_type
    return frames_with_edges(
        x, cfg.num_vectors, cfg.channels, [x.max, x.min, 0 if x.signed else 1], rng
    )


@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_affine(cfg: Affine, request: pytest.FixtureRequest) -> None:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    r = sim.run_layer(make_node(cfg, rng), make_frames(cfg, rng))
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4
