"""InstaThreshold golden model (docs/numerics.md sections 8-9): against an independent
big-integer/Fraction computation, the accumulator extremes, the folding of the float module and
the disagreement of the integer layer with the float reference (stated, bounded)."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest

from flows.datatypes import BIPOLAR, INT, UINT, DataType
from flows.errors import ConfigError, FoldingError, NumericContractError
from flows.layers import InstaThreshold, kind_of
from flows.layers.insta_statistics import statistic
from flows.layers.insta_threshold.config import MAX_EXPONENT
from flows.layers.insta_threshold.constants import fold_insta_constants, insta_threshold_float

rng = np.random.default_rng(5)


def run(cfg: InstaThreshold, params: dict, x: np.ndarray) -> list[np.ndarray]:
    return kind_of(cfg).execute(cfg, params, [x])


def reference(cfg: InstaThreshold, params: dict, x: np.ndarray) -> np.ndarray:
    """Loops over Python integers and Fractions: S = sum (x 2^k - mu)^3 and T = (A + M*S) / 2^E
    exactly."""
    out = np.empty(x.shape, dtype=np.int64)
    k = cfg.mu_frac_bits
    for f in range(x.shape[0]):
        for c in range(cfg.channels):
            mu = int(params["mu"][c])
            s = sum((int(v) * 2**k - mu) ** 3 for v in x[f, :, c])
            t = Fraction(int(params["A"][c]) + int(params["M"][c]) * s, 2**cfg.exponent)
            for v in range(x.shape[1]):
                xv = int(x[f, v, c])
                ok = xv >= math.ceil(t) if params["sign"][c] > 0 else xv <= math.floor(t)
                out[f, v, c] = 1 if ok else -1
    return out


def random_params(cfg: InstaThreshold, x: np.ndarray) -> dict:
    """Random constants over their types, scaled so that T = (A + M*S) 2^-E mostly falls inside
    the input range of `x` (else every bit would be constant)."""
    t, c, e, k = cfg.input_type, cfg.channels, cfg.exponent, cfg.mu_frac_bits
    mu = rng.integers(t.min << k, (t.max << k) + 1, size=c)
    s_max = max(1, int(np.abs(statistic(x << k, mu)).max()))
    m_max = max(1, min(cfg.mantissa_type.max, (2 ** (e + t.bits - 1)) // s_max))
    a = rng.integers(t.min, t.max + 1, size=c) * 2**e + rng.integers(-(2**e), 2**e + 1, size=c)
    return {
        "mu": mu,
        "A": np.clip(a, cfg.offset_type.min, cfg.offset_type.max),
        "M": rng.integers(-m_max, m_max + 1, size=c),
        "sign": rng.choice([-1, 1], size=c),
    }


@pytest.mark.parametrize(
    "t, h, w, e, k",
    [
        (INT(8), 4, 4, 30, 0),
        (UINT(4), 3, 3, 12, 0),
        (INT(3), 5, 2, 0, 0),
        (UINT(8), 7, 7, 47, 0),
        (INT(8), 4, 4, 38, 4),
        (UINT(4), 3, 3, 20, 3),
        (INT(3), 5, 2, 2, 1),
        (UINT(8), 7, 7, 47, 4),
    ],
)
def test_golden_equals_fraction_reference(t: DataType, h: int, w: int, e: int, k: int) -> None:
    """The golden (int64 or Python integers where M*S needs more) against the loops; with
    k = mu_frac_bits > 0, mu anywhere on the 2^-k grid of the input range."""
    cfg = InstaThreshold("i", channels=6, height=h, width=w, input_type=t, exponent=e, pe=2,
                         mu_frac_bits=k)  # fmt: skip
    x = rng.integers(t.min, t.max + 1, size=(5, h * w, 6))
    params = random_params(cfg, x)
    y, delayed = run(cfg, params, x)
    assert np.array_equal(y, reference(cfg, params, x))
    assert np.array_equal(delayed, x)
    assert 0.05 < np.mean(y == 1) < 0.95  # the thresholds fall inside the data


def test_ties_resolve_to_plus_one_in_both_directions() -> None:
    """x == ceil(T) passes (sigma > 0), x == floor(T) passes (sigma < 0); one LSB of T moves the
    integer threshold exactly as ceil / floor say."""
    cfg = InstaThreshold("i", channels=6, height=2, width=2, input_type=INT(4), exponent=4)
    x = np.array([[[3, 3, 3, 3, 3, 3], [2, 2, 2, 2, 2, 2], [4, 4, 4, 4, 4, 4], [0] * 6]])
    mu = np.zeros(6, dtype=np.int64)
    s = statistic(x, mu)[0]  # 27 + 8 + 64 = 99 in every channel
    m = np.array([1, 1, 1, 1, 1, 1])
    delta = np.array([0, -1, 1, 0, -1, 1])  # T = 3 + delta / 16
    a = 3 * 16 + delta - m * s
    sign = np.array([1, 1, 1, -1, -1, -1])
    y = run(cfg, {"mu": mu, "A": a, "M": m, "sign": sign}, x)[0]
    # x = 3: T = 3 -> +1 both ways; T = 3 - 1/16: ceil 3 -> +1, floor 2 -> -1;
    # T = 3 + 1/16: ceil 4 -> -1, floor 3 -> +1.
    assert y[0, 0].tolist() == [1, 1, -1, 1, -1, 1]
    assert y[0, 1].tolist() == [-1, -1, -1, 1, 1, 1]  # x = 2
    assert y[0, 2].tolist() == [1, 1, 1, -1, -1, -1]  # x = 4


@pytest.mark.parametrize(
    "t, h, w, k",
    [
        (INT(8), 56, 56, 0),
        (UINT(8), 7, 7, 0),
        (UINT(4), 3, 3, 0),
        (INT(16), 56, 56, 0),
        (INT(2), 3, 3, 0),
        (INT(8), 56, 56, 4),
        (UINT(4), 3, 3, 3),
        (INT(12), 56, 56, 4),
    ],
)
def test_statistic_extremes_fit_the_derived_width(t: DataType, h: int, w: int, k: int) -> None:
    """All inputs at min with mu at max (and the reverse) reach +-H*W*((2^n - 1) 2^k)^3, the
    derived accumulator type holds it, one bit less would not, and it meets numerics section 8's
    bound 3(n + k) + ceil(log2(H*W)) + 1."""
    cfg = InstaThreshold("i", channels=2, height=h, width=w, input_type=t, exponent=0,
                         mu_frac_bits=k)  # fmt: skip
    hw = h * w
    x = np.stack([np.full((hw, 2), t.min), np.full((hw, 2), t.max)])
    mu = np.array([t.max << k, t.min << k])
    s = statistic(x << k, mu)
    bound = hw * ((2**t.bits - 1) << k) ** 3
    assert s[0, 0] == -bound and s[1, 1] == bound
    cfg.acc_type.check(s, "S")
    assert not INT(cfg.acc_type.bits - 1).allowed(np.array([-bound, bound]))
    assert cfg.acc_type.bits <= 3 * (t.bits + k) + math.ceil(math.log2(hw)) + 1
    # The golden runs the extremes exactly, M * S beyond 64 bits included (INT16 cases).
    m = np.array([cfg.mantissa_type.min, cfg.mantissa_type.max])
    params = {"mu": mu, "A": np.zeros(2), "M": m, "sign": np.array([1, -1])}
    assert np.array_equal(run(cfg, params, x)[0], reference(cfg, params, x))


def skewed(gen: np.random.Generator, t: DataType, frames: int, hw: int, c: int) -> np.ndarray:
    span = t.max - t.min
    centre = gen.uniform(t.min + 0.3 * span, t.max - 0.3 * span, size=(frames, 1, c))
    k = gen.uniform(0.5, 4.0, size=(frames, 1, c))
    g = (gen.gamma(k, size=(frames, hw, c)) - k) / np.sqrt(k)
    x = centre + 0.15 * span * gen.choice([-1, 1], size=(frames, 1, c)) * g
    return np.clip(np.round(x), t.min, t.max).astype(np.int64)


def skewed_module(seed: int, on_grid: bool, h: int, w: int, c: int, grid_bits: int = 0):
    """(x, mu, sigma, alpha, beta): skewed INT8 frames (scale 2^-4) and float INSTA-Th
    parameters as trained (mu within half a step of the mean, off the grid unless on_grid:
    then on the input grid refined by grid_bits)."""
    gen, s = np.random.default_rng(seed), 2.0**-4
    x = skewed(gen, INT(8), 4, h * w, c)
    real = x * s
    mu = real.mean(axis=(0, 1)) + gen.uniform(-0.5, 0.5, c) * s
    if on_grid:
        mu = np.round(mu / s * 2**grid_bits) * s / 2**grid_bits
    sigma = real.std(axis=(0, 1)) * gen.choice([-1, 1], size=c)
    return x, mu, sigma, gen.normal(0, 0.5, c), gen.normal(0, 0.2, c)


def disagreement(
    on_grid: bool,
    mu_frac_bits: int = 0,
    seed: int = 11,
    h: int = 14,
    w: int = 14,
    c: int = 64,
    grid_bits: int = 0,
) -> dict:
    """Integer layer (folded with mu on the grid 2^-k, k = mu_frac_bits) vs the float module on
    skewed INT8 frames with scale 2^-4.

    Both are thresholds on the input grid: the float T_f = (mu + sigma*t) / s and the integer
    T_i = (A + M*S) 2^-E. With d = mu/s - mu_int 2^-k (|d| <= 2^-(k+1)), the exact expansion of
    the cube gives
    |T_i - T_f| <= |d| (1 + 3|K| S2) + 3|K| d^2 |S1| + |K| HW |d|^3 + 2^-(E+1) (1 + |S|)
    (S1, S2: sums of (x - mu_int 2^-k) and its square; S in units of 2^-3k); a flipped bit lies
    between T_i and T_f.
    """
    t, s, kb = INT(8), 2.0**-4, mu_frac_bits
    x, mu, sigma, alpha, beta = skewed_module(seed, on_grid, h, w, c, grid_bits)
    real = x * s
    k = fold_insta_constants(mu, sigma, alpha, beta, h, w, s, input_type=t, mu_frac_bits=kb)
    cfg = InstaThreshold("i", channels=c, height=h, width=w, input_type=t, exponent=k.E, pe=8,
                         mu_frac_bits=kb)  # fmt: skip
    y_int = run(cfg, k.params(), x)[0]
    y_float = insta_threshold_float(real, mu, sigma, alpha, beta)
    x_hat = (real - mu) / sigma
    t_f = (mu + sigma * (beta + alpha * np.mean(x_hat**3, axis=1))) / s
    big_s = statistic(x << kb, k.mu)
    t_i = (k.A + k.M.astype(np.float64) * big_s) / 2.0**k.E
    mu_x = k.mu / 2.0**kb
    d, kx, xi = mu / s - mu_x, alpha * s * s / (h * w * sigma**2), x - mu_x
    s1, s2 = xi.sum(axis=1), (xi * xi).sum(axis=1)
    bound = np.abs(d) * (1 + 3 * np.abs(kx) * s2) + 3 * np.abs(kx) * d * d * np.abs(s1)
    bound += np.abs(kx) * h * w * np.abs(d) ** 3 + 2.0 ** -(k.E + 1) * (1 + np.abs(big_s))
    assert np.all(np.abs(t_i - t_f) <= bound + 1e-9)
    flips = y_int != y_float
    lo, hi = np.minimum(t_i, t_f)[:, None], np.maximum(t_i, t_f)[:, None]
    assert np.all(((x >= lo - 1e-9) & (x <= hi + 1e-9))[flips])
    return {
        "E": k.E,
        "M_bits": int(np.abs(k.M).max()).bit_length() + 1,
        "flipped": float(np.mean(flips)),
        "max_T_error": float(np.abs(t_i - t_f).max()),
        "max_bound": float(bound.max()),
        "with_m_zeroed": float(np.mean(y_int != run(cfg, k.params() | {"M": 0 * k.M}, x)[0])),
    }


def test_fold_matches_float_reference_on_grid_mu() -> None:
    """mu on the grid: only the rounding of A and M (below 2^-(E+1) (1 + |S|) input steps, a few
    thousandths here) separates the two, so flips are near-ties only: none on this data."""
    d = disagreement(on_grid=True)
    print(f"\non-grid mu: {d}")
    assert d["flipped"] == 0.0 and d["max_T_error"] < 0.01
    assert d["with_m_zeroed"] > 0.05  # the statistic matters on this data


def test_fold_vs_float_reference_off_grid_mu_is_bounded() -> None:
    """mu off the grid (as trained): numerics 8 rounds it onto the grid for S and A, which moves
    T by |d| (1 - 3 alpha S2 / (HW sigma^2)) to first order, up to ~0.5 (1 + 3|alpha|) steps;
    the flips are stated, and each lies between the two thresholds (checked inside)."""
    d = disagreement(on_grid=False)
    print(f"\noff-grid mu: {d}")
    assert 0.0 < d["flipped"] < 0.01


def test_fold_with_finer_mu_flips_fewer_bits() -> None:
    """mu on the grid 2^-k (k = mu_frac_bits) instead of the input grid: |d| <= 2^-(k+1), so the
    mu term of the bound shrinks 2^k times. Measured on three seeds of the skewed INT8 data
    (14x14x64, 50,176 bits each), flipped bits vs the float module:
        k = 0: 0.239 %, 0.241 %, 0.181 %   (max |T_i - T_f| 2.00, 2.14, 2.01 steps)
        k = 2: 0.064 %, 0.054 %, 0.018 %   (0.61, 0.71, 0.57)
        k = 4: 0.034 %, 0.012 %, 0.014 %   (0.15, 0.18, 0.12)
    At k = 4 the 48-bit A caps E (41-42 here), so M keeps only 12-13 of its 18 bits; that
    rounding, not mu, is most of the remaining error (on-grid mu: max error 0.04-0.09 steps
    instead of 0.001-0.003, numerics section 8)."""
    for seed in (11, 12, 13):
        d0, d2, d4 = (disagreement(on_grid=False, mu_frac_bits=k, seed=seed) for k in (0, 2, 4))
        print(f"\nseed {seed}: k=0 {d0}\n  k=2 {d2}\n  k=4 {d4}")
        assert d4["flipped"] < d2["flipped"] / 1.2 or d4["flipped"] < 2e-4
        assert d2["flipped"] < d0["flipped"] / 2 and d4["flipped"] < d0["flipped"] / 5
        assert d4["max_T_error"] < d2["max_T_error"] / 2 < d0["max_T_error"] / 4
        assert d4["max_T_error"] < 0.2 and d4["M_bits"] < 18 and d2["M_bits"] == 18


def test_fold_with_finer_mu_on_its_grid_leaves_only_the_constant_rounding() -> None:
    """mu on the 2^-4 grid itself: no mu error; what is left is the rounding of A and M, bounded
    by 2^-(E+1) (1 + |S|) in units of M (checked inside). With M at 12-13 bits (E = 41-42, A's
    48 bits bind) that is up to 0.04-0.09 input steps and flips 0.012 %, 0.004 %, 0.008 % of the
    bits (k = 0 with mu on the input grid, M at 18 bits: 0.001-0.003 steps, no flip)."""
    for seed in (11, 12, 13):
        d = disagreement(on_grid=True, mu_frac_bits=4, seed=seed, grid_bits=4)
        print(f"\nseed {seed}: {d}")
        assert d["flipped"] < 2e-4 and d["max_bound"] < 0.11 and d["M_bits"] < 18


def test_fold_rounds_half_to_even_and_clamps_mu() -> None:
    t = UINT(4)
    k = fold_insta_constants(
        [2.5, 3.5, -0.75, 99.0], [1.0] * 4, [0.0] * 4, [0.0] * 4, 1, 1, 1.0, input_type=t
    )
    assert k.mu.tolist() == [2, 4, 0, 15]  # half to even, then clamped onto UINT4
    # mu = 0, sigma = 1, H = W = 1: K 2^47 = 1000.5 -> 1000 and 1001.5 -> 1002 at E = 47
    alpha = np.array([1000.5, 1001.5]) * 2.0**-MAX_EXPONENT
    k = fold_insta_constants([0, 0], [1.0, -1.0], alpha, [0, 0], 1, 1, 1.0, input_type=INT(8))
    assert k.E == MAX_EXPONENT and k.M.tolist() == [1000, 1002] and k.sign.tolist() == [1, -1]
    assert k.A.tolist() == [0, 0]


@pytest.mark.parametrize("kb", [0, 2, 4])
def test_fold_exponent_is_the_largest_that_fits(kb: int) -> None:
    """A = rne((mu_int 2^-k + sigma_x beta) 2^E), M = rne(alpha / (HW sigma_x^2) 2^(E - 3k)),
    E the largest that fits both."""
    c, h, w, s = 16, 7, 7, 2.0**-4
    gen = np.random.default_rng(21)
    mu, sigma = gen.normal(0, 1, c), gen.uniform(0.2, 2, c)
    alpha, beta = gen.normal(0, 1, c), gen.normal(0, 0.3, c)
    k = fold_insta_constants(mu, sigma, alpha, beta, h, w, s, input_type=INT(8), mu_frac_bits=kb)
    assert np.abs(k.M).max() <= 2**17 and k.E < MAX_EXPONENT
    assert k.mu.tolist() == [round(Fraction(float(m)) / Fraction(s) * 2**kb) for m in mu]
    mu_x = [Fraction(int(m), 2**kb) for m in k.mu]
    sig_x = [Fraction(float(v)) / Fraction(s) for v in sigma]
    kk = [Fraction(float(a)) / (h * w * sx * sx * 2 ** (3 * kb))
          for a, sx in zip(alpha, sig_x, strict=True)]  # fmt: skip
    assert k.M.tolist() == [round(v * 2**k.E) for v in kk]
    off = [m + sx * Fraction(float(b)) for m, sx, b in zip(mu_x, sig_x, beta, strict=True)]
    assert k.A.tolist() == [round(v * 2**k.E) for v in off]
    m_next = [round(v * 2 ** (k.E + 1)) for v in kk]
    a_next = [round(v * 2 ** (k.E + 1)) for v in off]
    m_fits = all(-(2**17) <= v < 2**17 for v in m_next)
    assert not (m_fits and all(-(2**47) <= v < 2**47 for v in a_next))


def test_fold_with_mu_frac_bits_rounds_mu_on_the_finer_grid() -> None:
    """mu_int = clamp(rne(mu / s 2^k), min 2^k, max 2^k); the SE form's M (sigma_x 2^-G) does
    not depend on k (the SE carries S's 2^-3k)."""
    t = UINT(4)
    k = fold_insta_constants([0.625, 0.375, -0.2, 99.0, 3.125], [1.0] * 5, [0.0] * 5, [0.0] * 5,
                             1, 1, 1.0, input_type=t, mu_frac_bits=2)  # fmt: skip
    assert k.mu.tolist() == [2, 2, 0, 60, 12]  # 2.5 -> 2, 1.5 -> 2 (even), clamped to 0 and 60
    assert k.A.tolist() == [round(Fraction(m, 4) * 2**k.E) for m in (2, 2, 0, 60, 12)]
    args = ([1.3, -2.1], [0.7, -0.4], [0.0, 0.0], [0.1, 0.2], 4, 4, 2.0**-4)
    se0 = fold_insta_constants(*args, input_type=INT(8), se_tanh_frac_bits=12)
    se4 = fold_insta_constants(*args, input_type=INT(8), se_tanh_frac_bits=12, mu_frac_bits=4)
    assert se4.E == se0.E and np.array_equal(se4.M, se0.M)
    assert se4.mu.tolist() == [333, -538] and se0.mu.tolist() == [21, -34]


def test_float_reference_sign_of_zero_is_plus_one() -> None:
    # x_hat = (x - 1) / 2; m3 = mean(x_hat^3) = 0 for x = (0, 1, 2); t = beta = 0.5 at x = 2
    x = np.array([[[0.0], [1.0], [2.0]]])
    y = insta_threshold_float(x, np.array([1.0]), np.array([2.0]), np.array([3.0]), np.array([0.5]))
    assert y[0, :, 0].tolist() == [-1, -1, 1]


def test_config_errors_say_what_to_do() -> None:
    with pytest.raises(FoldingError, match=r"PE=3 does not divide 8"):
        InstaThreshold("i", channels=8, height=2, width=2, input_type=INT(8), exponent=0, pe=3)
    with pytest.raises(ConfigError, match=r"INT<n> or UINT<n> input, not BIPOLAR"):
        InstaThreshold("i", channels=8, height=2, width=2, input_type=BIPOLAR, exponent=0)
    with pytest.raises(ConfigError, match=r"evaluators=3 must divide PE=4"):
        InstaThreshold("i", 16, 4, 4, INT(8), exponent=0, pe=4, evaluators=3)
    with pytest.raises(ConfigError, match=r"evaluators=2 cannot keep up .* at least 8"):
        InstaThreshold("i", 32, 2, 2, INT(8), exponent=0, pe=8, evaluators=2)
    with pytest.raises(ConfigError, match=r"too few even with PE=4 evaluators; lower PE"):
        InstaThreshold("i", 4, 2, 2, INT(8), exponent=0, pe=4)
    with pytest.raises(ConfigError, match=r"exponent E=48 is outside 0..47"):
        InstaThreshold("i", 4, 4, 4, INT(8), exponent=48)
    with pytest.raises(NumericContractError, match=r"sigma is 0"):
        fold_insta_constants([0.0], [0.0], [1.0], [0.0], 2, 2, 1.0, input_type=UINT(4))
    with pytest.raises(ConfigError, match=r"accumulator needs 64 bits .* fewer than 1 mu_frac"):
        InstaThreshold("i", 2, 56, 56, INT(16), exponent=0, mu_frac_bits=1)  # 3*17 + 12 + 1
    with pytest.raises(ConfigError, match=r"mu_frac_bits=-1 must be >= 0"):
        InstaThreshold("i", 2, 4, 4, INT(8), exponent=0, mu_frac_bits=-1)
    cfg = InstaThreshold("i", 2, 4, 4, INT(8), exponent=0, mu_frac_bits=4)
    params = {"mu": np.array([2047, 0]), "A": np.zeros(2), "M": np.zeros(2), "sign": np.ones(2)}
    run(cfg, params, np.zeros((1, 16, 2), dtype=np.int64))  # mu_type INT12
    with pytest.raises(NumericContractError, match=r"i: mu holds values outside INT12"):
        run(cfg, params | {"mu": np.array([2048, 0])}, np.zeros((1, 16, 2), dtype=np.int64))


def test_minimum_evaluators_at_small_maps() -> None:
    """7x7x512 at PE 64: 392 cycles per frame for 512 evaluations need 2 evaluators."""
    cfg = InstaThreshold("i", 512, 7, 7, INT(8), exponent=0, pe=64)
    assert cfg.cycles_per_frame == 392 and cfg.num_evaluators == 2 and cfg.eval_steps == 256
    assert cfg.buffer_words == 392 + 256 + 13  # + THRESHOLD_OVERHEAD (docs/insta.md)
    assert InstaThreshold("i", 64, 56, 56, INT(8), exponent=0, pe=8).num_evaluators == 1


def test_shared_multipliers_model() -> None:
    """multipliers='shared' (docs/insta.md): INT8 with mu on a 2^-4 grid has d of 13 bits and
    d^2 of 25 (2 slices): one word per 3 cycles; S of 7x7 is 43 bits (3 slices): 3 cycles per
    evaluator step and 2 more evaluator stages; the parallel form is one word per cycle."""
    par = InstaThreshold("i", 64, 7, 7, INT(8), exponent=0, mu_frac_bits=4)
    sh = InstaThreshold("i", 64, 7, 7, INT(8), exponent=0, mu_frac_bits=4, multipliers="shared")
    assert (par.word_cycles, par.eval_cycles, par.write_stages) == (1, 1, 5)
    assert (sh.word_cycles, sh.eval_cycles, sh.write_stages) == (3, 3, 6)
    assert sh.acc_type.bits == 3 * 12 + 6 + 1  # (255 * 2^4)^3 * 49 needs 43 bits
    assert sh.words_per_frame == par.cycles_per_frame == 49 * 64
    assert sh.cycles_per_frame == 3 * 49 * 64
    # L = write_stages + 1 + ((C - 1) * N_e + 1) + (eval_stages - 1) + 1 + 1
    assert sh.threshold_latency == 6 + 1 + (63 * 3 + 1) + (6 + 2 - 1) + 2
    assert sh.buffer_words == 49 * 64 + math.ceil(sh.threshold_latency / 3)


def test_shared_multipliers_refuse_what_they_cannot_do() -> None:
    from flows.layers import InstaPReLU
    from flows.layers.insta_threshold.hls import hls

    with pytest.raises(ConfigError, match=r"multipliers='fast'; use one of"):
        InstaThreshold("i", 4, 4, 4, INT(8), exponent=0, multipliers="fast")
    with pytest.raises(ConfigError, match=r"d = x 2\^k - mu within 18 bits, here 21: use "):
        InstaThreshold("i", 4, 4, 4, INT(16), exponent=0, mu_frac_bits=4, multipliers="shared")
    with pytest.raises(ConfigError, match=r"mantissa within 18 bits, here 20: use"):
        InstaThreshold("i", 4, 4, 4, INT(8), exponent=0, mantissa_bits=20, multipliers="shared")
    with pytest.raises(ConfigError, match=r"mantissa within 18 bits"):
        InstaPReLU("p", 4, 4, 4, INT(8), INT(8), "alpha", v_exponent=8, stat_exponent=0,
                   shift=0, table_type=INT(12), mantissa_bits=19, multipliers="shared")  # fmt: skip
    cfg = InstaThreshold("i", 2, 4, 4, INT(8), exponent=0, multipliers="shared")
    params = {"mu": np.zeros(2), "A": np.zeros(2), "M": np.zeros(2), "sign": np.ones(2)}
    with pytest.raises(ConfigError, match=r"HLS kernels have no form for multipliers='shared'"):
        hls(cfg, params)


def test_held_evaluation_model() -> None:
    """evaluation='hold' (docs/insta.md, "Held evaluation"): insta_resnet18's 7x7x512 INSTA-Th at
    PE 1 with shared multipliers loses its snapshot (512 x 43 bits: 2 block RAMs) and waits
    resume_cycles per frame for the 512 evaluator steps of 3 cycles; one evaluator suffices."""
    from flows.estimate import estimate_layer
    from flows.layers import InstaPReLU

    kw = dict(exponent=40, mu_frac_bits=4, multipliers="shared")
    over = InstaThreshold("i", 512, 7, 7, INT(8), **kw)
    held = InstaThreshold("i", 512, 7, 7, INT(8), **kw, evaluation="hold")
    assert held.held and not over.held and held.num_evaluators == 1
    assert held.acc_type.bits == 43 and held.write_stages == 6 and held.eval_cycles == 3
    # resume: write_stages + 1 (start) + 1 (first read) + (511 * 3 + 1) + 1 (release)
    assert held.resume_cycles == 6 + 2 + 511 * 3 + 1
    assert held.cycles_per_frame == 3 * 49 * 512 + held.resume_cycles - 3
    # the reader starts eval_stages after the input resumes: 8 cycles, at most 3 words, + 1
    assert held.threshold_latency - held.resume_cycles == held.eval_stages == 8
    assert held.buffer_words == 49 * 512 + 8 // 3 + 1
    assert over.buffer_words == 49 * 512 + math.ceil(over.threshold_latency / 3)
    e_over, e_held = (estimate_layer(c, "ecp5") for c in (over, held))
    assert e_over.bram - e_held.bram == 2 and e_held.cycles == held.cycles_per_frame
    pk = dict(v_exponent=8, stat_exponent=0, shift=0, table_type=INT(15), v_bits=12)
    p_over = InstaPReLU("p", 512, 7, 7, INT(8), INT(8), "alpha", **pk, mu_frac_bits=4)
    p_held = InstaPReLU("p", 512, 7, 7, INT(8), INT(8), "alpha", **pk, mu_frac_bits=4,
                        evaluation="hold")  # fmt: skip
    assert estimate_layer(p_over, "ecp5").bram - estimate_layer(p_held, "ecp5").bram == 2
    assert p_held.cycles_per_frame == 49 * 512 + p_held.resume_cycles - 1


def test_held_evaluation_refuses_what_it_cannot_do() -> None:
    from flows.layers import InstaPReLU
    from flows.layers.insta_threshold.hls import hls

    with pytest.raises(ConfigError, match=r"evaluation='later'; use one of"):
        InstaThreshold("i", 4, 4, 4, INT(8), exponent=0, evaluation="later")
    with pytest.raises(ConfigError, match=r"the reuse form has none; use evaluation='overlap'"):
        InstaPReLU("p", 4, 4, 4, INT(8), INT(8), "reuse", v_exponent=8, stat_exponent=0, shift=0,
                   table_type=INT(12), stat_channels=4, stat_type=INT(20), evaluation="hold")  # fmt: skip
    with pytest.raises(ConfigError, match=r"statistic output read the snapshot"):
        InstaThreshold("i", 4, 4, 4, INT(8), exponent=0, statistic_output=True, evaluation="hold")
    with pytest.raises(ConfigError, match=r"shorter than the evaluators' 8-stage pipeline"):
        InstaPReLU("p", 4, 1, 1, INT(8), INT(8), "alpha", v_exponent=8, stat_exponent=0, shift=0,
                   table_type=INT(12), pe=4, evaluation="hold")  # fmt: skip
    cfg = InstaThreshold("i", 2, 4, 4, INT(8), exponent=0, evaluation="hold")
    params = {"mu": np.zeros(2), "A": np.zeros(2), "M": np.zeros(2), "sign": np.ones(2)}
    with pytest.raises(ConfigError, match=r"HLS kernels evaluate from a snapshot"):
        hls(cfg, params)


def test_stat_memory_style_is_checked_and_refused_by_hls() -> None:
    """stat_memory (docs/insta.md, "Memory style"): a value outside WRITTEN_STYLES is refused with
    the choices; the HLS kernels refuse "block" with what to do; "block" moves a 14x14x64
    INSTA-Th's accumulators and bank (under 4 kbit each) from LUT RAM to block RAM in the
    estimate, and changes no cycle."""
    from flows.estimate import estimate_layer
    from flows.layers.insta_threshold.hls import hls

    with pytest.raises(ConfigError, match=r"stat_memory='bram'; use one of \('auto', 'block'\)"):
        InstaThreshold("i", 64, 14, 14, INT(8), exponent=0, stat_memory="bram")
    kw = dict(exponent=0, evaluation="hold")
    auto = InstaThreshold("i", 64, 14, 14, INT(8), **kw)
    block = InstaThreshold("i", 64, 14, 14, INT(8), **kw, stat_memory="block")
    a, b = estimate_layer(auto, "ecp5"), estimate_layer(block, "ecp5")
    assert a.lutram > 0 and b.lutram == 0 and b.bram > a.bram and b.cycles == a.cycles
    params = {"mu": np.zeros(64), "A": np.zeros(64), "M": np.zeros(64), "sign": np.ones(64)}
    with pytest.raises(ConfigError, match=r"stat_memory='block' is an RTL style"):
        hls(dataclasses.replace(block, evaluation="overlap"), params)


def test_shared_multipliers_dsp_as_synthesised() -> None:
    """DSP blocks Yosys 0.70 synth_ecp5 gave the RTL (benchmarks/insta_shared.py, docs/insta.md):
    INSTA-Th 7x7x64 and 28x28x128 at PE 1: 6 parallel, 2 shared; 7x7x512 at PE 2: 9 and 3."""
    from flows.estimate import estimate_layer

    for (c, h, pe), want in {(64, 7, 1): (6, 2), (128, 28, 1): (6, 2), (512, 7, 2): (9, 3)}.items():
        got = tuple(
            estimate_layer(InstaThreshold("i", c, h, h, INT(8), exponent=40, pe=pe,
                                          mu_frac_bits=4, multipliers=m), "ecp5").dsp
            for m in ("parallel", "shared")
        )  # fmt: skip
        assert got == want, (c, h, pe)


def test_gamma_table_is_odd_and_the_fold_refuses_one_that_is_not() -> None:
    """gamma_table is odd (3 tanh is odd, rne symmetric): the RTL may store half of it (the
    folded table: 2 of 4 block RAMs per INSTA-PReLU at v_bits 12); a table that is not odd is
    refused with advice."""
    from flows.hwmodel.memory import bram_blocks
    from flows.layers import InstaPReLU
    from flows.layers.insta_prelu.config import check_emittable, gamma_table, is_odd_table

    for e, s, g, b in [(8, 2.0**-4, 8, 12), (4, 2.0**-2, 4, 8), (6, 0.37, 5, 10)]:
        t = gamma_table(e, s, g, b)
        assert is_odd_table(t) and t[1 << (b - 1)] == 0
        for i in (3, 1 << (b - 1)):  # a negative v's entry; the entry of v = 0
            bad = t.copy()
            bad[i] += 1
            assert not is_odd_table(bad)
    assert (bram_blocks(15, 4096), bram_blocks(15, 2048)) == (4, 2)
    t = gamma_table(8, 2.0**-4, 8, 12)
    cfg = InstaPReLU("p", 4, 4, 4, INT(8), INT(8), "alpha", v_exponent=8, stat_exponent=0,
                     shift=0, table_type=INT(15), v_bits=12, table_fold=True)  # fmt: skip
    assert cfg.table_words == 2048
    params = {"mu": np.zeros(4, dtype=np.int64), "table": t}
    check_emittable(cfg, params)
    t2 = t.copy()
    t2[5] -= 1
    with pytest.raises(ConfigError, match=r"this table is not odd .* set table_fold=False"):
        check_emittable(cfg, params | {"table": t2})


def test_serial_evaluators_model() -> None:
    """multipliers='serial' (docs/insta.md, "Serial evaluators"): the shared cube, and evaluators
    that walk the exact A' + M*S one bit per cycle. insta_resnet18's 7x7x512 INSTA-Th (INT8, mu
    on a 2^-4 grid, E = 40): S of 43 bits times an 18-bit M plus a 48-bit A' is exact in 61 bits,
    so N = 62 and a step takes 63 cycles; the held frame waits 511 * 63 + 1 + 9 cycles for them.
    No evaluator multiplier is left: one DSP, the cube's."""
    from flows.estimate import estimate_layer
    from flows.hwmodel.ranges import width

    kw = dict(exponent=40, mu_frac_bits=4, evaluation="hold")
    ser = InstaThreshold("i", 512, 7, 7, INT(8), **kw, multipliers="serial")
    sh = InstaThreshold("i", 512, 7, 7, INT(8), **kw, multipliers="shared")
    s_max, m_max, a_max = (1 << 42) - 1, 1 << 17, 1 << 47
    assert width(-s_max * m_max - a_max, s_max * m_max + a_max, True) == 61
    assert (ser.serial_bits, ser.eval_cycles, ser.eval_stages) == (62, 63, 64)
    assert (ser.word_cycles, ser.write_stages) == (sh.word_cycles, sh.write_stages) == (3, 6)
    assert ser.resume_cycles == 6 + 2 + 511 * 63 + 1
    assert ser.cycles_per_frame == 3 * 49 * 512 + ser.resume_cycles - 3
    e_ser, e_sh = (estimate_layer(c, "ecp5") for c in (ser, sh))
    # (the LUTs: Yosys gives serial 100-140 fewer per block, docs/insta.md; the shared estimate
    # is 0.74-0.88 of Yosys at PE 1, the serial one 0.89-1.05, so the estimates do not order them)
    assert (e_ser.dsp, e_sh.dsp) == (1, 2) and e_ser.ff < e_sh.ff


def test_serial_evaluators_refuse_what_they_cannot_do() -> None:
    from flows.layers import InstaPReLU
    from flows.layers.insta_prelu.hls import hls

    # the reuse form's evaluators must finish within a frame: 8 channels of 4x4 at PE 2 cannot
    with pytest.raises(ConfigError, match=r"evaluators \(\d+ cycles a step\) cannot evaluate"):
        InstaPReLU("p", 8, 4, 4, INT(8), INT(8), "reuse", v_exponent=8, stat_exponent=0, shift=0,
                   table_type=INT(12), pe=2, stat_channels=4, stat_type=INT(40),
                   multipliers="serial")  # fmt: skip
    # the write side's cube is still the shared one: d within 18 bits
    with pytest.raises(ConfigError, match=r"serial multipliers need d = x 2\^k - mu within 18"):
        InstaThreshold("i", 4, 4, 4, INT(16), exponent=0, mu_frac_bits=4, multipliers="serial")
    # an overlapped 4x4 frame is too short for serial steps; held, any mantissa (mul_seq's 18-bit
    # limit does not apply)
    with pytest.raises(ConfigError, match=r"or use evaluation='hold' or multipliers='shared'"):
        InstaThreshold("i", 4, 4, 4, INT(8), exponent=0, multipliers="serial")
    assert InstaThreshold("i", 4, 4, 4, INT(8), exponent=0, mantissa_bits=24, multipliers="serial",
                          evaluation="hold").serial_evaluators  # fmt: skip
    cfg = InstaPReLU("p", 4, 16, 16, INT(8), INT(8), "alpha", v_exponent=8, stat_exponent=0,
                     shift=0, table_type=INT(12), multipliers="serial")  # fmt: skip
    params = {k: np.zeros(4) for k in ("mu", "Mv", "Bv", "mul_pos", "mul_neg", "add")}
    params["table"] = np.zeros(256)
    with pytest.raises(ConfigError, match=r"HLS kernels have no form for multipliers='serial'"):
        hls(cfg, params)


def test_serial_length_follows_the_datapath_widths() -> None:
    """The configs compute the serial evaluator's sum width themselves (the widths modules import
    the configs); it must be the datapath's: widths().sum_bits and vsum_bits."""
    from flows.hwmodel.serial import serial_bits
    from flows.layers import InstaPReLU
    from flows.layers.insta_prelu.widths import widths as p_widths
    from flows.layers.insta_threshold.widths import widths as t_widths

    for t, e, k in ((INT(8), 40, 4), (UINT(4), 3, 0), (INT(5), 0, 2)):
        th = InstaThreshold("i", 64, 7, 7, t, exponent=e, mu_frac_bits=k, multipliers="serial",
                            evaluation="hold")  # fmt: skip
        w = t_widths(th)
        assert th.serial_bits == serial_bits(w.sum_bits, e, w.threshold_bits, t.min, t.max + 1)
        pr = InstaPReLU("p", 64, 7, 7, t, INT(8), "alpha", v_exponent=8, stat_exponent=e,
                        shift=0, table_type=INT(12), mu_frac_bits=k, multipliers="serial",
                        evaluation="hold")  # fmt: skip
        vb = pr.v_bits
        want = serial_bits(p_widths(pr).vsum_bits, e, vb, -(1 << (vb - 1)), (1 << (vb - 1)) - 1)
        assert pr.serial_bits == want
