"""Affine RTL vs the golden function: exact words (extreme x, mul and add), back-pressure, reset,
cycles per frame; with requantisation (shift, saturate_type) every input value on every channel,
rounding ties above even and odd quotients and saturation on both sides; the constants-in-DRAM
form (`constants="dram"`: mul and add arrive on s_axis_c, fed by the layer bench over and over
with gaps, as the memory tier streams them) bit-exact at the same cycles per frame."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from flows.datatypes import BIPOLAR, INT, UINT, DataType
from flows.fixedpoint import rne_shift
from flows.graph import Node
from flows.hwmodel.ranges import affine_range
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
    dram = "_cdram" if c.constants == "dram" else ""
    return (
        f"{c.input_type}x{c.mul_type}+{c.add_type}_c{c.channels}_pe{c.pe}_nv{c.num_vectors}{dram}"
    )


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


@pytest.mark.parametrize("cfg", CONFIGS + [replace(CONFIGS[1], constants="dram")], ids=_id)
def test_affine(cfg: Affine, request: pytest.FixtureRequest) -> None:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    r = sim.run_layer(make_node(cfg, rng), make_frames(cfg, rng))
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4


# --- requantisation (shift, saturate_type: docs/numerics.md sections 6 and 10) -------------------
REQUANT = [
    # BN / scale change on the INT8 residual stream: 16-bit mantissa, wide offset, shift 9
    Affine("affine_rq", channels=8, input_type=INT(8), mul_type=INT(16), add_type=INT(24), pe=4,
           num_vectors=2, shift=9, saturate_type=INT(8)),
    # shift 1 (the tie is the only bit shifted out), UINT input, saturation onto INT(5)
    Affine("affine_rq", channels=6, input_type=UINT(6), mul_type=INT(5), add_type=INT(7), pe=3,
           shift=1, saturate_type=INT(5)),
]  # fmt: skip

REQUANT_SWEEP = [
    # the saturation after a residual add: mul = 1, add = 0, shift 0, INT9 -> INT8
    Affine("affine_rq", channels=4, input_type=INT(9), mul_type=INT(2), add_type=INT(2), pe=2,
           num_vectors=2, saturate_type=INT(8)),
    # rounding without saturation (the output type is the rounded range); NF = 1
    Affine("affine_rq", channels=4, input_type=INT(6), mul_type=INT(8), add_type=INT(10), pe=4,
           shift=4),
    # BIPOLAR input (a conditional negate): ties at +-0.5
    Affine("affine_rq", channels=4, input_type=BIPOLAR, mul_type=INT(6), add_type=INT(6), pe=2,
           shift=3, saturate_type=INT(2)),
    # a shift wider than the exact sum (every result rounds to -1, 0 or 1; no tie reachable)
    Affine("affine_rq", channels=4, input_type=INT(4), mul_type=INT(4), add_type=INT(4), pe=2,
           shift=9),
    # an unsigned saturation target
    Affine("affine_rq", channels=4, input_type=INT(8), mul_type=UINT(4), add_type=INT(8), pe=1,
           shift=2, saturate_type=UINT(4)),
]  # fmt: skip


def _rq_id(c: Affine) -> str:
    return f"{_id(c)}_shift{c.shift}_sat{c.saturate_type}"


def sweep_frames(t: DataType, vectors: int, channels: int, rng: np.random.Generator):
    """Every value of `t` on every channel: vector i holds value (i + 37 c) mod n on channel c, so
    a word's lanes differ; the last frame is filled up with random vectors."""
    values = np.array([-1, 1]) if t == BIPOLAR else np.arange(t.min, t.max + 1, dtype=np.int64)
    n = len(values)
    rows = n + (-n) % vectors
    idx = (np.arange(rows)[:, None] + 37 * np.arange(channels)[None, :]) % n
    sweep = values[idx]
    sweep[n:] = random_values(t, (rows - n, channels), rng)
    return sweep.reshape(-1, vectors, channels)


def tie_params(shift: int, mt: DataType, at: DataType, channels: int, rng: np.random.Generator):
    """(mul, add): channel 0..2 put x * mul + add exactly on rounding ties (.5 above even and odd
    quotients, for positive and negative sums) where the types allow it, 3 and 4 are the extremes
    (saturation on both sides), the rest random."""
    mul = random_values(mt, (channels,), rng)
    add = random_values(at, (channels,), rng)
    half = 1 << max(shift - 1, 0)
    ties = [(half, 0), (half, half), (-half, 0)]  # x/2, (x+1)/2, -x/2 in units of 2^shift
    for c, (m, a) in enumerate(ties[: max(0, channels - 2)]):
        if shift and mt.min <= m <= mt.max and at.min <= a <= at.max:
            mul[c], add[c] = m, a
    mul[-2:] = [mt.max, mt.min]
    add[-2:] = [at.max, at.min]
    return mul, add


def requant_coverage(pre: np.ndarray, shift: int, sat: DataType | None) -> dict[str, bool]:
    """What a stimulus reaches: ties above even and odd quotients, saturation low and high."""
    rounded = rne_shift(pre, shift)
    frac = pre - ((pre >> shift) << shift) if shift else np.zeros_like(pre)
    tie = (frac == (1 << (shift - 1))) if shift else np.zeros(pre.shape, bool)
    q = pre >> shift
    return {
        "tie_even": bool((tie & (q % 2 == 0)).any()) or not shift,
        "tie_odd": bool((tie & (q % 2 == 1)).any()) or not shift,
        "sat_low": sat is None or bool((rounded < sat.min).any()),
        "sat_high": sat is None or bool((rounded > sat.max).any()),
    }


def requant_node(cfg: Affine, rng: np.random.Generator) -> Node:
    mul, add = tie_params(cfg.shift, cfg.mul_type, cfg.add_type, cfg.channels, rng)
    if cfg.mul_type == INT(2):  # the saturation after an add: mul = 1, add = 0
        mul[:], add[:] = 1, 0
    return Node(cfg, ["x"], ["y"], {"mul": mul, "add": add})


def requant_frames(cfg: Affine, rng: np.random.Generator) -> np.ndarray:
    x = cfg.input_type
    rand = frames_with_edges(x, cfg.num_vectors, cfg.channels, [x.max, x.min], rng)
    return np.concatenate([rand, sweep_frames(cfg.input_type, cfg.num_vectors, cfg.channels, rng)])


def _run_requant(cfg: Affine, request: pytest.FixtureRequest) -> dict:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    node, frames = requant_node(cfg, rng), requant_frames(cfg, rng)
    pre = frames.astype(np.int64) * node.params["mul"] + node.params["add"]
    reached = requant_coverage(pre, cfg.shift, cfg.saturate_type)
    largest = max(abs(v) for v in affine_range(cfg.input_type, cfg.mul_type, cfg.add_type))
    if cfg.shift and (1 << (cfg.shift - 1)) > largest:
        reached.update(tie_even=True, tie_odd=True)  # no sum reaches half of 2^shift
    assert all(reached.values()), reached
    r = sim.run_layer(node, frames)
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4
    return r


@pytest.mark.parametrize("cfg", REQUANT + [replace(REQUANT[0], constants="dram")], ids=_rq_id)
def test_affine_requant(cfg: Affine, request: pytest.FixtureRequest) -> None:
    _run_requant(cfg, request)


@pytest.mark.slow
@pytest.mark.parametrize("cfg", REQUANT_SWEEP, ids=_rq_id)
def test_affine_requant_sweep(cfg: Affine, request: pytest.FixtureRequest) -> None:
    _run_requant(cfg, request)


def test_requant_rtl_keeps_the_exact_form(tmp_path: Path) -> None:
    """shift 0 without saturation renders the exact template (no rounding, no clamp); the
    requantising form rounds by its shift and clamps on both sides of its saturation type."""
    from flows.codegen.rtl import emit_layer

    rng = np.random.default_rng(0)
    exact_node, rq_node = make_node(CONFIGS[1], rng), requant_node(REQUANT[0], rng)
    exact = emit_layer(exact_node, tmp_path / "exact")[0].read_text()
    rq = emit_layer(rq_node, tmp_path / "rq")[0].read_text()
    assert "multiply-add modulo" in exact and "round half" not in exact and "saturate" not in exact
    sat = REQUANT[0].saturate_type
    assert f"y >>> {REQUANT[0].shift}" in rq and f"saturate onto {sat}" in rq
    assert rq.count("$signed(rc) <") == 1 and rq.count("$signed(rc) >") == 1
