"""The cases of the INSTA+ HLS kernel tests (tests/hls/test_insta_plus_hls.py): INSTA-Th+ and
INSTA-PReLU+ with parameters from `fold_se` of random floats shaped for the SE's edges (as
tests/hw/test_insta_se.py, whose helpers are reused), and frames that reach m3 saturation at both
ends, h at 255, v at both ends and ties in all three rescalers."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from flows.datatypes import INT, UINT, DataType
from flows.graph import Node
from flows.hwmodel.ranges import smallest_type
from flows.layers.insta_prelu import InstaPReLU
from flows.layers.insta_prelu.config import gamma_table
from flows.layers.insta_se import SEConfig, fold_se, se_v
from flows.layers.insta_statistics import statistic
from flows.layers.insta_threshold import InstaThreshold
from flows.transforms.insta_to_integer import tanh_table
from tests.hls.insta_cases import (
    FRAMES,
    Case,
    _extremes,
    _permutations,
    _rng,
    _skewed,
    _tie_adds,
    golden_of,
)
from tests.hw.test_insta_se import _odd, _place_v_ties


# --- SE forms: INSTA-Th+ and INSTA-PReLU+ ----------------------------------------------------------
@dataclass(frozen=True)
class SESpec:
    """An SE-form configuration under test (the parameters are drawn in _se_case). The output
    fields only matter for INSTA-PReLU+."""

    name: str
    module: str  # "threshold" (INSTA-Th+) or "prelu" (INSTA-PReLU+)
    channels: int
    size: int
    input_type: DataType
    pe: int
    hidden: int
    v_exponent: int
    v_bits: int
    mu_frac_bits: int = 0
    evaluators: int | None = None
    statistic_output: bool = False
    output_type: DataType = INT(8)
    gamma_frac_bits: int = 8
    shift: int = 14


# (Foldings where the RTL's SE keeps up with the frame, a config rule of INSTA-Th+.)
SE_SPECS = [
    # INSTA-Th+ INT8 4x4x8 PE 2, hidden 2, the lowering's grids (v INT12 on 2^-8), the S port
    SESpec("hls_th_se_i8", "threshold", 8, 4, INT(8), 2, 2, 8, 12, statistic_output=True),
    # INSTA-Th+ UINT4 4x4x16 PE 4 with 2 evaluators, hidden 4, v INT8 on 2^-4
    SESpec("hls_th_se_u4", "threshold", 16, 4, UINT(4), 4, 4, 4, 8, evaluators=2),
    # INSTA-Th+ INT8 4x4x8 PE 2, hidden 2, the lowering's grids and mu on 2^-4 (k = 4; the seed
    # of this name gives frame A an odd h, which _place_v_ties needs)
    SESpec("hls_th_se_mu4_i8", "threshold", 8, 4, INT(8), 2, 2, 8, 12, mu_frac_bits=4),
    # INSTA-PReLU+ INT8 4x4x8 PE 2, hidden 2: the lowering's numbers (k = 4, Gf = 8, v INT12)
    SESpec("hls_prelu_se_i8", "prelu", 8, 4, INT(8), 2, 2, 8, 12, mu_frac_bits=4),
    # INSTA-PReLU+ UINT4 3x3x16 PE 2 (NF = 8), hidden 4, k = 2, Gf = 0, v INT8 on 2^-4
    SESpec("hls_prelu_se_u4", "prelu", 16, 3, UINT(4), 2, 4, 4, 8, mu_frac_bits=2,
           output_type=INT(5), gamma_frac_bits=0),
]  # fmt: skip
FRAME_A = FRAMES + 2  # after the random frames and the extremes: A (m3, v ties), then B (h tie)


def _se_mu(spec: SESpec, rng: np.random.Generator) -> np.ndarray:
    """mu (units of 2^-k) with channel 0 at max and channel 1 at min (the S extremes); on x's grid
    (the tie frames need x 2^k - mu = 0), except odd channels from 3 on when k > 0."""
    t, c, k = spec.input_type, spec.channels, spec.mu_frac_bits
    base = rng.integers(t.min, t.max + 1, c)
    base[0], base[1] = t.max, t.min
    mu = base << k
    if k:
        off = (np.arange(c) % 2 == 1) & (np.arange(c) >= 3)
        step = rng.integers(1, 1 << k, c)
        mu = np.where(off, np.where(base < t.max, mu + step, mu - step), mu)
    return mu


def _se_grid(spec: SESpec, s_random: np.ndarray) -> tuple[int, int]:
    """(a, r): the tie frames put 2^r (times an odd count) elements at a deviation of 2^a input
    steps, S = +-odd 2^(3(a + k) + r); the SE scales S by 2^-(3(a + k) + r + 1), so a typical
    random S (~2^(3(a + k) + r + 2)) gives m3 of a few units, but at most so much that the S
    extremes (H*W (2^N - 1)^3 2^3k) still saturate m3 with kf = 1. 2^a <= 2^(N-1) always fits
    on one side of mu; 2^r <= H*W."""
    k, t, nv = spec.mu_frac_bits, spec.input_type, spec.size**2
    typical = max(1.0, float(np.median(np.abs(s_random))) / 2 ** (3 * k) / 4)
    te = min(int(np.log2(typical)), 3 * t.bits + int(np.log2(nv)) - 9)
    a = min(max(te // 3, 1), t.bits - 1)
    return a, min(max(te - 3 * a, 0), int(np.log2(nv)) - 1)


def _se_tie_frames(spec: SESpec, mu: np.ndarray, grid: tuple[int, int], rng) -> np.ndarray:
    """Frame A: in the even channels 2^r n elements (n odd) at x 2^k - mu = +-2^(a + k), the rest
    at x 2^k = mu: S = +-n 2^(3(a + k) + r), so m3 = kf n / 2 is a tie (_se_params); odd channels
    random. Frame B: S = 0 except S_0 in -(1, 3) 2^(3(a + k) + r), so m3 = -e_0 (h_0 a tie)."""
    t, c, nv, k = spec.input_type, spec.channels, spec.size**2, spec.mu_frac_bits
    (a, r), dev = grid, 2 ** grid[0]
    base = np.clip(np.round(mu / 2**k), t.min, t.max).astype(np.int64)
    tie_a = _skewed(rng, t, (1, nv, c))[0]
    for ch in range(0, c, 2):
        n = (2 * int(rng.integers(0, (nv >> r) // 2 + (nv >> r) % 2)) + 1) << r
        tie_a[:, ch] = base[ch]
        tie_a[:n, ch] += dev if base[ch] + dev <= t.max else -dev
    tie_b = np.tile(base, (nv, 1))
    unit = 1 << (3 * a + r)  # mu_0 is at max: n elements at -d with unit < n d^3 < 3 unit
    n, d = next((n, d) for d in range(1, t.max - t.min + 1) for n in range(1, nv + 1)
                if unit < n * d**3 < 3 * unit)  # fmt: skip
    tie_b[:n, 0] -= d
    return np.stack([tie_a, tie_b])


def _se_params(spec: SESpec, grid: tuple[int, int], rng) -> tuple[SEConfig, dict]:
    """fold_se of random floats shaped for the edges (as tests/hw/test_insta_se.py): in the even
    channels k = kf 2^-(3(a + k) + r + 5) with kf odd (m3 ties on frame A), kf_0 = 1; w1[0] > 0 but
    w1[0, 0] = -64 with s1[0] = 1/128 (h_0 = 1/2 on frame B, 255 on the extremes); w2 rows 0 and 1
    at 127 and -128 (v saturates at both ends); s2 of the even channels odd / 512 (v ties)."""
    c, h = spec.channels, spec.hidden
    rnd = np.arange(c) % 2 == 0
    kf = np.where(rnd, _odd(rng, c, 5), rng.uniform(1.2, 4.0, c))
    kf[0] = 1
    ke = 3 * (grid[0] + spec.mu_frac_bits) + grid[1] + 5
    k = [Fraction(float(v)) / 2**ke for v in kf]
    w1 = rng.integers(-128, 128, (h, c))
    w1[0], w1[0, 0] = 100, -64
    w2 = rng.integers(-128, 128, (c, h))
    w2[0], w2[1] = 127, -128
    s1 = np.where(np.arange(h) % 2 == 0, _odd(rng, h, 3), rng.uniform(0.5, 3.0, h)) / 128
    s1[0] = 1 / 128
    s2 = np.where(rnd, _odd(rng, c, 5), rng.uniform(1.0, 5.0, c)) / 512
    s2[:2] = 3 / 512
    return fold_se(k, w1, s1, w2, s2, m3_exponent=4, hidden_exponent=4,
                   v_exponent=spec.v_exponent, v_bits=spec.v_bits)  # fmt: skip


def _se_statistic(spec: SESpec, mu: np.ndarray, x: np.ndarray) -> np.ndarray:
    return statistic(x << spec.mu_frac_bits, mu)


def _se_frames_and_params(spec: SESpec) -> tuple[np.ndarray, np.ndarray, SEConfig, dict, int]:
    """(x, mu, SE config, SE params, stat bits): random frames, the extremes, tie frames A and B,
    and w2 adjusted for v ties on frame A (tests/hw/test_insta_se._place_v_ties)."""
    rng, t, c, nv = _rng(spec.name), spec.input_type, spec.channels, spec.size**2
    mu = _se_mu(spec, rng)
    random = _skewed(rng, t, (FRAMES, nv, c))
    grid = _se_grid(spec, _se_statistic(spec, mu, random))
    x = np.concatenate([random, _extremes(t, nv, c), _se_tie_frames(spec, mu, grid, rng)])
    se, p = _se_params(spec, grid, rng)
    _place_v_ties(se, p, _se_statistic(spec, mu, x[FRAME_A : FRAME_A + 1]), np.arange(c) % 2 == 0)
    k = spec.mu_frac_bits
    stat_bits = smallest_type(-nv * ((t.max - t.min) << k) ** 3, nv * ((t.max - t.min) << k) ** 3)
    return x, mu, se, p, stat_bits.bits


def _th_se_case(spec: SESpec) -> Case:
    """INSTA-Th+: the SE frames plus three permutations of frame A (same S, so same v), M random
    (tanh moves T by up to half the input range), A placed so that T is exactly a value of frame
    A, one LSB below or one above (channel mod 3), half the channels sigma < 0: one LSB of v
    more or less on frame A (a wrong m3 or v tie) flips bits."""
    x, mu, se, p, stat_bits = _se_frames_and_params(spec)
    rng, t, c, nv, e = _rng(spec.name + "/th"), spec.input_type, spec.channels, spec.size**2, 20
    tie = x[FRAME_A]
    x = np.concatenate([x, _permutations(rng, tie, 3)])
    tanh = tanh_table(spec.v_exponent, spec.v_bits, 12)
    v_tie = se_v(spec.name, se, p, _se_statistic(spec, mu, tie[None]), stat_bits)[0]
    m_max = int((t.max - t.min) / 2 * 2**e / (3 << 12)) + 1
    m = rng.integers(-m_max, m_max + 1, c)
    target = tie[rng.integers(0, nv, c), np.arange(c)]
    delta = np.array([0, -1, 1])[np.arange(c) % 3]
    a = [(int(tv) << e) + int(d) - int(mi) * int(tanh[vi - se.v_type.min])
         for tv, d, mi, vi in zip(target, delta, m, v_tie, strict=True)]  # fmt: skip
    sign = np.where(np.arange(c) % 4 < 2, 1, -1)
    params = p | {"mu": mu, "A": np.array(a, dtype=np.int64), "M": m, "sign": sign, "tanh": tanh}
    cfg = InstaThreshold(name=spec.name, channels=c, height=spec.size, width=spec.size,
                         input_type=t, exponent=e, pe=spec.pe, evaluators=spec.evaluators,
                         statistic_output=spec.statistic_output, se=se,
                         mu_frac_bits=spec.mu_frac_bits)  # fmt: skip
    outputs = ["y", "x_delayed", "s"][: len(cfg.output_types)]
    return Case(Node(cfg, ["x"], outputs, params), [x])


def _prelu_se_case(spec: SESpec) -> Case:
    """INSTA-PReLU+: the SE frames, the gamma table of the lowering, random slopes, add placed for
    rounding ties of y on frame 0 (_tie_adds)."""
    x, mu, se, p, stat_bits = _se_frames_and_params(spec)
    rng, t, c = _rng(spec.name + "/prelu"), spec.input_type, spec.channels
    table = gamma_table(spec.v_exponent, 2.0 ** -(t.bits // 2), spec.gamma_frac_bits, spec.v_bits)
    cfg = InstaPReLU(name=spec.name, channels=c, height=spec.size, width=spec.size,
                     input_type=t, output_type=spec.output_type, form="se",
                     v_exponent=spec.v_exponent, stat_exponent=0, shift=spec.shift,
                     table_type=smallest_type(int(table.min()), int(table.max())),
                     gamma_frac_bits=spec.gamma_frac_bits, v_bits=spec.v_bits,
                     mu_frac_bits=spec.mu_frac_bits, se=se, pe=spec.pe)  # fmt: skip
    params = p | {
        "mu": mu, "table": table,
        "mul_pos": rng.integers(1 << 13, 1 << 15, c), "mul_neg": rng.integers(-(1 << 12), 1 << 14, c),
    }  # fmt: skip
    v0 = se_v(spec.name, se, p, _se_statistic(spec, mu, x[:1]), stat_bits)[0]
    params["add"] = _tie_adds(cfg, params, x[0, 0], table[v0 - se.v_type.min], rng)
    add_type = smallest_type(int(params["add"].min()), int(params["add"].max()))
    return Case(Node(replace(cfg, add_type=add_type), ["x"], ["y"], params), [x])


def _se_case(spec: SESpec) -> Case:
    return _th_se_case(spec) if spec.module == "threshold" else _prelu_se_case(spec)


@functools.cache
def se_case(name: str) -> Case:
    return _se_case(next(s for s in SE_SPECS if s.name == name))


@functools.cache
def se_golden(name: str) -> list[np.ndarray]:
    return golden_of(se_case(name))
