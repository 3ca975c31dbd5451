"""Layer configurations of the HLS kernel tests, with their parameters and test frames.

Every test that takes an `hls_case` argument runs once per entry of CASES. Each case is compiled
once per run (csim caches the binary by content hash) and all its frames go through one process.
Frames = random data + edge cases (all ones/zeros, range extremes, values at the thresholds).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from flows.datatypes import BIPOLAR, INT, UINT, DataType
from flows.graph import Node
from flows.layers import IntMVAU, Threshold, XnorMVAU


@dataclass(frozen=True)
class Case:
    """One layer under test: a node (config + params) and its input frames."""

    node: Node
    inputs: np.ndarray


def _values(rng: np.random.Generator, t: DataType, shape: tuple[int, ...]) -> np.ndarray:
    if t == BIPOLAR:
        return rng.choice([-1, 1], size=shape)
    return rng.integers(t.min, t.max + 1, size=shape)


def _mvau_case(cfg: XnorMVAU | IntMVAU, rng: np.random.Generator, frames: int) -> Case:
    """Random weights with row 0 = all min and row 1 = all max, so the extremes are reachable."""
    wt, xt = cfg.weight_type, cfg.input_type
    w = _values(rng, wt, (cfg.mh, cfg.mw))
    w[0], w[1] = wt.min, wt.max
    nv = cfg.num_vectors
    extremes = [np.full((nv, cfg.mw), v) for v in (xt.min, xt.max)]
    if xt != BIPOLAR:
        extremes.append(np.zeros((nv, cfg.mw), dtype=np.int64))
    # per vector, the input that maximises / minimises the dot product with one weight row
    rows = w[np.arange(nv) % cfg.mh]
    best = np.where(rows > 0, xt.max, xt.min)
    worst = np.where(rows > 0, xt.min, xt.max)
    x = np.concatenate([_values(rng, xt, (frames, nv, cfg.mw)), np.stack([*extremes, best, worst])])
    return Case(Node(cfg, ["x"], ["y"], {"weights": w}), x)


def _threshold_case(cfg: Threshold, rng: np.random.Generator, frames: int) -> Case:
    """Sorted random thresholds (with repeats) over [min, max + 1] of the input, channel 0 all at
    min (always passes), channel 1 all at max + 1 (never passes); frames hit every threshold, one
    below it, and the input extremes."""
    xt, n = cfg.input_type, cfg.num_thresholds
    t = np.sort(rng.integers(xt.min, xt.max + 2, size=(cfg.channels, n)), axis=1)
    t[0], t[1] = xt.min, xt.max + 1
    nv = cfg.num_vectors
    at = np.clip(t.T, xt.min, xt.max)  # (n, channels): x exactly at each threshold
    edges = np.concatenate(
        [at, at - 1, [np.full(cfg.channels, xt.min)], [np.full(cfg.channels, xt.max)]]
    )
    edges = np.clip(edges, xt.min, xt.max)
    pad = -len(edges) % nv
    edges = np.concatenate([edges, np.full((pad, cfg.channels), xt.max)]).reshape(
        -1, nv, cfg.channels
    )
    x = np.concatenate([_values(rng, xt, (frames, nv, cfg.channels)), edges])
    return Case(Node(cfg, ["x"], ["y"], {"thresholds": t}), x)


def _exhaustive_threshold_case(cfg: Threshold, rng: np.random.Generator, frames: int) -> Case:
    """Every input value in every channel (small input types only)."""
    case = _threshold_case(cfg, rng, frames)
    xt = cfg.input_type
    every = np.repeat(np.arange(xt.min, xt.max + 1), cfg.channels).reshape(-1, 1, cfg.channels)
    every = np.concatenate([every] * cfg.num_vectors, axis=1)
    return Case(case.node, np.concatenate([case.inputs, every]))


CONFIGS = [
    # XnorMVAU: the simd = 1 / pe = 1 extreme, the fully parallel extreme (one 128-bit word, wider
    # than 64 bits), a middle folding of a 3x3x4 convolution, and an FC layer with 64-bit words.
    XnorMVAU(name="xnor_s1_p1", mw=12, mh=5, simd=1, pe=1, num_vectors=3),
    XnorMVAU(name="xnor_full", mw=128, mh=8, simd=128, pe=8, num_vectors=2),
    XnorMVAU(name="xnor_conv", mw=36, mh=12, simd=6, pe=4, num_vectors=4),
    XnorMVAU(name="xnor_fc", mw=64, mh=10, simd=64, pe=2, num_vectors=1),
    # IntMVAU: first conv (3x3x3 UINT8 pixels x bipolar weights), INT4 x INT4, INT2 x INT8 at
    # simd = 1 / pe = 1, UINT x UINT (unsigned accumulator), bipolar inputs x INT3 weights.
    IntMVAU(name="int_bip_u8", mw=27, mh=8, simd=3, pe=4, num_vectors=4,
            input_type=UINT(8), weight_type=BIPOLAR),
    IntMVAU(name="int_i4_i4", mw=16, mh=6, simd=4, pe=2, num_vectors=3,
            input_type=INT(4), weight_type=INT(4)),
    IntMVAU(name="int_i2_i8", mw=10, mh=3, simd=1, pe=1, num_vectors=2,
            input_type=INT(8), weight_type=INT(2)),
    IntMVAU(name="int_u3_u4", mw=12, mh=4, simd=6, pe=4, num_vectors=2,
            input_type=UINT(4), weight_type=UINT(3)),
    IntMVAU(name="int_i3_bip", mw=20, mh=4, simd=5, pe=2, num_vectors=2,
            input_type=BIPOLAR, weight_type=INT(3)),
    # Threshold: BN + sign after an IntMVAU (bipolar output), multi-bit requantisation of UINT8,
    # and an exhaustive INT4 case at pe = 1.
    Threshold(name="thr_bipolar", channels=8, num_thresholds=1, input_type=INT(10), pe=4,
              num_vectors=5),
    Threshold(name="thr_u8_n15", channels=6, num_thresholds=15, input_type=UINT(8),
              bipolar_output=False, pe=3, num_vectors=3),
    Threshold(name="thr_i4_n3", channels=4, num_thresholds=3, input_type=INT(4),
              bipolar_output=False, pe=1, num_vectors=2),
]  # fmt: skip


def make_case(cfg: XnorMVAU | IntMVAU | Threshold, frames: int = 8) -> Case:
    """The case of a config, reproducible: the seed is derived from the layer name."""
    rng = np.random.default_rng(zlib.crc32(cfg.name.encode()))
    if isinstance(cfg, Threshold):
        maker = _exhaustive_threshold_case if cfg.input_type.bits <= 4 else _threshold_case
        return maker(cfg, rng, frames)
    return _mvau_case(cfg, rng, frames)


def pytest_generate_tests(metafunc) -> None:
    if "hls_case" in metafunc.fixturenames:
        metafunc.parametrize(
            "hls_case", [make_case(c) for c in CONFIGS], ids=[c.name for c in CONFIGS]
        )
