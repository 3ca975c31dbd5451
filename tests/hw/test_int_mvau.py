"""IntMVAU RTL vs the golden function: exact words, back-pressure, reset, cycles per frame, in\nevery multiplier style (auto `*`, dsp, lut shift-and-add)."""

from __future__ import annotations

import numpy as np
import pytest

from flows.datatypes import BIPOLAR, INT, UINT
from flows.graph import Node
from flows.layers import IntMVAU
from flows.sim import runner as sim
from tests.hw.stimuli import frames_with_edges, random_values, seed_of

CONFIGS = [
    # first layer of a BNN: bipolar weights x UINT8 pixels, signed sums
    IntMVAU(
        "int_mvau",
        mw=16,
        mh=8,
        input_type=UINT(8),
        weight_type=BIPOLAR,
        simd=4,
        pe=2,
        num_vectors=2,
    ),
    # INT4 x INT4 with SIMD = 6: an adder tree with odd levels (6 -> 3 -> 2 -> 1)
    IntMVAU("int_mvau", mw=24, mh=12, input_type=INT(4), weight_type=INT(4), simd=6, pe=3),
    # multiplier styles (docs/hardware.md): the same INT4 x INT4 unit with shift-and-add LUT
    # products (signed selector bits), a UINT4 x INT8 one selecting on the unsigned input's bits,
    # and a DSP product (use_dsp "yes")
    IntMVAU("int_mvau", mw=24, mh=12, input_type=INT(4), weight_type=INT(4), simd=6, pe=3,
            mult_style="lut"),
    IntMVAU("int_mvau", mw=16, mh=8, input_type=UINT(4), weight_type=INT(8), simd=4, pe=2,
            mult_style="lut"),
    IntMVAU("int_mvau", mw=16, mh=8, input_type=UINT(8), weight_type=INT(8), simd=4, pe=2,
            mult_style="dsp"),
    # a wide tree (32 -> 16 -> 8 -> 4 -> 2 -> 1): three pipeline registers (tree_stages)
    IntMVAU("int_mvau", mw=64, mh=4, input_type=UINT(8), weight_type=BIPOLAR, simd=32, pe=2,
            num_vectors=2),
    # INT8 weights in DRAM (a classifier's form): one vector, 6 tiles of 2 rows; and passes of
    # 2 vectors of UINT8 pixels x bipolar weights
    IntMVAU("int_mvau", mw=32, mh=12, input_type=INT(4), weight_type=INT(8), simd=8, pe=2,
            weights="dram"),
    IntMVAU("int_mvau", mw=16, mh=8, input_type=UINT(8), weight_type=BIPOLAR, simd=4, pe=2,
            num_vectors=4, weights="dram", vectors_per_pass=2),
    # at the drain rule's boundary (passes x NF x (SF - 1) = 8) with a 3-stage adder tree
    IntMVAU("int_mvau", mw=96, mh=2, input_type=INT(8), weight_type=INT(8), simd=32, pe=2,
            num_vectors=8, weights="dram", vectors_per_pass=4),
]  # fmt: skip


def test_tree_stages_keep_two_adder_levels_per_stage() -> None:
    stages = {
        simd: IntMVAU(
            "m", mw=192, mh=2, input_type=INT(4), weight_type=INT(4), simd=simd
        ).tree_stages
        for simd in (1, 2, 4, 6, 8, 16, 32, 64)
    }
    assert stages == {1: 1, 2: 1, 4: 1, 6: 2, 8: 2, 16: 2, 32: 3, 64: 3}


def _id(c: IntMVAU) -> str:
    style = "" if c.mult_style == "auto" else f"_{c.mult_style}"
    dram = f"_dram_g{c.vectors_per_pass}" if c.weights == "dram" else ""
    return f"{c.input_type}x{c.weight_type}_mw{c.mw}_mh{c.mh}_simd{c.simd}_pe{c.pe}{style}{dram}"


def make_node(cfg: IntMVAU, rng: np.random.Generator) -> Node:
    wt = cfg.weight_type
    w = random_values(wt, (cfg.mh, cfg.mw), rng)
    w[0], w[1] = wt.max, wt.min  # extreme rows: the largest and smallest dot products
    return Node(cfg, ["x"], ["y"], {"weights": w})


def make_frames(cfg: IntMVAU, rng: np.random.Generator) -> np.ndarray:
    xt = cfg.input_type
    alternating = np.where(np.arange(cfg.mw) % 2 == 0, xt.max, xt.min)
    edges = [xt.max, xt.min, 0 if xt.min <= 0 else xt.min, alternating, alternating[::-1]]
    return frames_with_edges(xt, cfg.num_vectors, cfg.mw, edges, rng)


@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_int_mvau(cfg: IntMVAU, request: pytest.FixtureRequest) -> None:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    node = make_node(cfg, rng)
    frames = make_frames(cfg, rng)
    r = sim.run_layer(node, frames)
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4


def test_mult_style_is_validated() -> None:
    from flows.errors import ConfigError

    with pytest.raises(ConfigError, match="mult_style must be 'auto', 'dsp' or 'lut', got 'DSP'"):
        IntMVAU("m", mw=4, mh=2, input_type=INT(8), weight_type=INT(8), mult_style="DSP")
    with pytest.raises(ConfigError, match="mult_style='dsp' needs integer x integer"):
        IntMVAU("m", mw=4, mh=2, input_type=UINT(8), weight_type=BIPOLAR, mult_style="dsp")
    IntMVAU("m", mw=4, mh=2, input_type=UINT(8), weight_type=BIPOLAR, mult_style="lut")
