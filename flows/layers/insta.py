"""InstaThreshold: the instance-aware threshold INSTA-Th in integers (DESIGN.md section 4).

Per frame and channel c over the H*W positions of the input x (an INT<n> or UINT<n> stream),
with the constants folded offline by `fold_insta_constants` (docs/numerics.md sections 8 and 9):

    S_c = sum_hw (x 2^k - mu_c)^3                 exact integer, mu_c on the input grid refined
                                                  by k = mu_frac_bits fractional bits
    T_c = (A_c + M_c * S_c) * 2^-E                A_c INT48, M_c INT18 (carries 2^-3k), E per layer
    y   = +1 if x >= ceil(T_c)   (sign_c = +1, sigma_c > 0)        else -1
          +1 if x <= floor(T_c)  (sign_c = -1, sigma_c < 0)        else -1

Equality gives +1 (sign(0) = +1). The layer has two outputs: the BIPOLAR activations and the input
itself, which the hardware delays by one frame (its frame buffer) to feed the residual shortcut.
The float module it stands for (`insta_threshold_float`) is sign(x_hat - t) with
x_hat = (x - mu)/sigma, t = beta + alpha * mean_hw(x_hat^3) (INSTA-BNN supplementary section C).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from flows.datatypes import BIPOLAR, INT, DataType, Kind
from flows.errors import ConfigError, NumericContractError
from flows.hwmodel.ranges import smallest_type
from flows.layers.insta_se import SEConfig, se_macs_of, se_path_cycles, se_v
from flows.layers.registry import (
    LayerKind,
    check_divides,
    check_positive,
    checked_param,
    register,
)

# Largest per-layer exponent E: bounds E where M and A do not (alpha = 0 and a small offset) and
# keeps the evaluator's sum and shifter widths finite (docs/numerics.md section 9).
MAX_EXPONENT = 47
# RTL pipeline (hw/templates/insta_threshold.v.j2): the evaluators take EVAL_STAGES steps from the
# read of the snapshot to the bank write (read, operand, operand register, two product stages of
# mul_pipe, A' + M*S; the bank is written with the clamp at the last).
EVAL_STAGES = 6
# Cycles from the clock edge that accepts a frame's last word to the edge that reads its first
# word out is eval_steps + THRESHOLD_OVERHEAD: 5 to the snapshot write (mu, d, d^2, two stages of
# d^3, accumulate), 1 to start the evaluators, eval_steps reads, EVAL_STAGES - 1 more stages to the
# clamp, 1 to the bank write, 1 to the reader's read.
THRESHOLD_OVERHEAD = 5 + 1 + (EVAL_STAGES - 1) + 1 + 1
# The evaluator must have read the snapshot of frame k (eval_steps reads after 6 cycles of
# accumulate pipeline and start) before frame k+1's last vector starts to overwrite it.
SNAPSHOT_SLACK = 6


def refined_mu_type(t: DataType, k: int) -> DataType:
    """mu_c in units of 2^-k steps of the input type t, inside its range: [min 2^k, max 2^k]."""
    return smallest_type(t.min << k, t.max << k)


def check_mu_range(name: str, mu: np.ndarray, t: DataType, k: int) -> None:
    """ConfigError unless mu (units of 2^-k input steps) lies in the input range, which bounds S
    by acc_type (the type check of the parameters alone allows a little beyond it)."""
    if np.any(mu < t.min << k) or np.any(mu > t.max << k):
        raise ConfigError(
            f"{name}: mu must lie in the input range ({t.min << k}..{t.max << k} in units of "
            "2^-mu_frac_bits), which bounds S (acc_type); clamp it at export"
        )


def statistic_bound(t: DataType, k: int, num_vectors: int) -> int:
    """max |S| = H*W*((2^n - 1) 2^k)^3 for x of type t and mu in its range on the 2^-k grid."""
    return num_vectors * ((t.max - t.min) << k) ** 3


def min_evaluators(channels: int, pe: int, num_vectors: int) -> int | None:
    """Fewest evaluators G (a divisor of PE) with C/G + SNAPSHOT_SLACK <= (H*W - 1) * NF: the
    snapshot of frame k is read before frame k+1's last vector overwrites it (docs/insta.md)."""
    budget = (num_vectors - 1) * (channels // pe) - SNAPSHOT_SLACK
    for g in range(1, pe + 1):
        if pe % g == 0 and channels // g <= budget:
            return g
    return None


@dataclass(frozen=True)
class InstaThreshold:
    """INSTA-Th on an H x W x C frame, `pe` channels per word; see the module docstring.

    `exponent` is E of the fixed-point threshold; `evaluators` (a divisor of PE) threshold
    evaluators share the per-frame work, None picks `min_evaluators`, the fewest that keep up.
    """

    name: str
    channels: int
    height: int
    width: int
    input_type: DataType
    exponent: int
    pe: int = 1
    evaluators: int | None = None
    mantissa_bits: int = 18
    offset_bits: int = 48
    statistic_output: bool = False  # a third output: S per frame, for a reuse INSTA-PReLU
    se: SEConfig | None = None  # INSTA-Th+: T = (A + M * tanh_table[SE(S)]) 2^-E (numerics 10)
    tanh_frac_bits: int = 12  # G of the INSTA-Th+ table: rne(3 tanh(v / 3) 2^G)
    se_macs: int | None = None  # INSTA-Th+: MACs per cycle of the SE (None: fewest that keep up)
    mu_frac_bits: int = 0  # k: mu_c is in units of 2^-k input steps, S in units of 2^-3k
    _se_macs: int | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, height=self.height, width=self.width)
        check_divides(self.name, self.channels, "PE", self.pe)
        if self.input_type.kind == Kind.BIPOLAR:
            raise ConfigError(
                f"{self.name}: INSTA-Th needs an INT<n> or UINT<n> input, not BIPOLAR"
            )
        if not 0 <= self.exponent <= MAX_EXPONENT:
            raise ConfigError(
                f"{self.name}: exponent E={self.exponent} is outside 0..{MAX_EXPONENT}"
            )
        if self.mu_frac_bits < 0:
            raise ConfigError(f"{self.name}: mu_frac_bits={self.mu_frac_bits} must be >= 0")
        if not (2 <= self.mantissa_bits <= 32 and 2 <= self.offset_bits <= 62):
            raise ConfigError(
                f"{self.name}: mantissa_bits must be in 2..32 and offset_bits in 2..62, got "
                f"{self.mantissa_bits} and {self.offset_bits}"
            )
        acc_bits = self._bound.bit_length() + 1  # acc_type's
        if acc_bits > 62:
            raise ConfigError(
                f"{self.name}: the accumulator needs {acc_bits} bits (more than 62): "
                f"use a narrower input than {self.input_type}, a smaller map or fewer than "
                f"{self.mu_frac_bits} mu_frac_bits"
            )
        self._check_evaluators()
        m = se_macs_of(self.name, self.se, self.channels, self.pe, self.cycles_per_frame,
                       self.se_macs)  # fmt: skip
        object.__setattr__(self, "_se_macs", m)  # checked once, kept when pickled

    def _check_evaluators(self) -> None:
        g_min = self.min_evaluators
        if g_min is None:
            raise ConfigError(
                f"{self.name}: a {self.height}x{self.width} map with {self.nf} word(s) per "
                f"vector leaves {(self.num_vectors - 1) * self.nf} cycles per frame for "
                f"{self.channels} threshold evaluations, too few even with PE={self.pe} "
                "evaluators; lower PE"
            )
        g = self.evaluators
        if g is not None and (g < 1 or self.pe % g):
            raise ConfigError(f"{self.name}: evaluators={g} must divide PE={self.pe}")
        if g is not None and g < g_min:
            raise ConfigError(
                f"{self.name}: evaluators={g} cannot keep up with one frame per "
                f"{self.cycles_per_frame} cycles; at least {g_min} are needed"
            )

    # --- shapes and folding ----------------------------------------------------------------------
    @property
    def num_vectors(self) -> int:
        return self.height * self.width

    @property
    def nf(self) -> int:
        """Words per vector (channel groups of PE)."""
        return self.channels // self.pe

    @property
    def cycles_per_frame(self) -> int:
        """Steady state: one word per cycle on every port."""
        return self.num_vectors * self.nf

    # --- types -----------------------------------------------------------------------------------
    @property
    def output_type(self) -> DataType:
        return BIPOLAR

    @property
    def output_types(self) -> tuple[DataType, ...]:
        """(activations, delayed input for the shortcut[, statistic S (1 vector of C)])."""
        if self.statistic_output:
            return BIPOLAR, self.input_type, self.acc_type
        return BIPOLAR, self.input_type

    @property
    def mu_type(self) -> DataType:
        """mu_c in units of 2^-k input steps, inside the input range: [min 2^k, max 2^k]."""
        return refined_mu_type(self.input_type, self.mu_frac_bits)

    @property
    def max_deviation(self) -> int:
        """max |x 2^k - mu| with x and mu in the input range: (2^n - 1) 2^k."""
        return (self.input_type.max - self.input_type.min) << self.mu_frac_bits

    @property
    def acc_type(self) -> DataType:
        """S_c: |S| <= H*W*((2^n - 1) 2^k)^3, at most INT(3(n + k) + ceil(log2(H*W)) + 1)
        (numerics 8)."""
        return smallest_type(-self._bound, self._bound)

    @property
    def _bound(self) -> int:
        return statistic_bound(self.input_type, self.mu_frac_bits, self.num_vectors)

    @property
    def mantissa_type(self) -> DataType:
        return INT(self.mantissa_bits)

    @property
    def offset_type(self) -> DataType:
        return INT(self.offset_bits)

    @property
    def threshold_type(self) -> DataType:
        """Thresholds clamped to [min, max + 1] of the input, as in Threshold (numerics 3)."""
        t = self.input_type
        return DataType(t.kind, t.bits + 1)

    # --- evaluators and buffering ------------------------------------------------------------
    @property
    def min_evaluators(self) -> int | None:
        """Fewest evaluators G (a divisor of PE) with C/G + SNAPSHOT_SLACK <= (H*W - 1) * NF."""
        return min_evaluators(self.channels, self.pe, self.num_vectors)

    @property
    def num_evaluators(self) -> int:
        return self.evaluators if self.evaluators is not None else self.min_evaluators

    @property
    def eval_steps(self) -> int:
        """Cycles the evaluators take per frame (G channels per cycle)."""
        return self.channels // self.num_evaluators

    @property
    def num_se_macs(self) -> int | None:
        """INSTA-Th+: the SE block's MACs per cycle (`se_macs` or the fewest that keep up)."""
        return self._se_macs

    @property
    def threshold_latency(self) -> int:
        """Cycles from accepting a frame's last word to reading its first word out; INSTA-Th+
        adds its SE path between the statistic and the evaluators."""
        se = 0 if self.se is None else se_path_cycles(self.se, self.pe, self.num_se_macs)
        return self.eval_steps + THRESHOLD_OVERHEAD + se

    @property
    def buffer_words(self) -> int:
        """Frame buffer depth: one frame plus the words of the next one that arrive while the
        thresholds are evaluated, so the input never waits (one word per cycle)."""
        return self.cycles_per_frame + self.threshold_latency

    @property
    def buffer_bits(self) -> int:
        return self.buffer_words * self.pe * self.input_type.bits

    @property
    def frame_bits(self) -> int:
        """H*W*C*N: the part of the buffer DESIGN.md section 4 accounts for."""
        return self.num_vectors * self.channels * self.input_type.bits

    @property
    def first_output_latency(self) -> int:
        """Cycles from the first input transfer to the first output transfer (no stalls): the
        frame, the thresholds, then the read, its register and the compare."""
        return self.cycles_per_frame + self.threshold_latency + 3


# --- golden model --------------------------------------------------------------------------------
def check_params(cfg: InstaThreshold, params: dict) -> tuple[np.ndarray, ...]:
    """(mu, A, M, sign) as int64 arrays, checked against the config's types."""
    types = {
        "mu": cfg.mu_type,
        "A": cfg.offset_type,
        "M": cfg.mantissa_type,
        "sign": BIPOLAR,
    }
    return tuple(checked_param(cfg.name, params, k, (cfg.channels,), t) for k, t in types.items())


def statistic(x: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """S (frames, C) = sum over the H*W vectors of (x - mu)^3, exact in int64 (callers with
    mu_frac_bits = k pass x << k)."""
    d = np.asarray(x, dtype=np.int64) - np.asarray(mu, dtype=np.int64)
    return (d * d * d).sum(axis=1)


def thresholds(cfg: InstaThreshold, params: dict, s: np.ndarray) -> np.ndarray:
    """Integer thresholds (frames, C): ceil(T) where sign = +1, floor(T) where sign = -1.

    `s` is S in the config's units ((2^-k input steps)^3; M carries the 2^-3k). Exact: int64
    while |A + M*S| < 2^62, Python integers beyond; then clamped to [min - 1, max + 1] of the
    input, which changes no comparison.
    """
    _, a, m, sign = check_params(cfg, params)
    if cfg.se is not None:  # INSTA-Th+: the table value of v = SE(m3) replaces S
        v_int = se_v(cfg.name, cfg.se, params, np.asarray(s), cfg.acc_type.bits)
        tab = np.asarray(params["tanh"], dtype=np.int64)
        if tab.shape != (1 << cfg.se.v_bits,):
            raise ConfigError(f"{cfg.name}: tanh table has shape {tab.shape}")
        s = tab[v_int - cfg.se.v_type.min]
        dtype = object if cfg.mantissa_bits + cfg.tanh_frac_bits + 2 > 61 else np.int64
    else:
        dtype = object if cfg.mantissa_bits + cfg.acc_type.bits > 61 else np.int64
    v = a.astype(dtype) + m.astype(dtype) * np.asarray(s).astype(dtype)
    e, t = cfg.exponent, cfg.input_type
    th = np.where(sign > 0, -((-v) >> e), v >> e)  # >> floors: ceil = -floor(-v / 2^E)
    return np.minimum(np.maximum(th, t.min - 1), t.max + 1).astype(np.int64)


def insta_execute(cfg: InstaThreshold, params, inputs):
    """[activations (BIPOLAR), the input (what the hardware emits one frame later)]."""
    mu, _, _, sign = check_params(cfg, params)
    (x,) = inputs
    x = np.asarray(x, dtype=np.int64)
    if x.ndim != 3 or x.shape[1:] != (cfg.num_vectors, cfg.channels):
        raise ConfigError(
            f"{cfg.name}: input has shape {x.shape}, expected "
            f"(frames, {cfg.num_vectors}, {cfg.channels})"
        )
    cfg.input_type.check(x, f"{cfg.name}: input")
    s = statistic(x << cfg.mu_frac_bits, mu)
    th = thresholds(cfg, params, s)[:, None, :]
    passed = np.where(sign > 0, x >= th, x <= th)
    out = [np.where(passed, 1, -1).astype(np.int64), x.copy()]
    return out + [s[:, None, :]] if cfg.statistic_output else out


register(LayerKind("InstaThreshold", InstaThreshold, insta_execute))


# --- folding the float module --------------------------------------------------------------------
class InstaConstants(NamedTuple):
    """The integer constants of one InstaThreshold (docs/numerics.md section 8)."""

    mu: np.ndarray
    A: np.ndarray  # noqa: N815 - the names of numerics section 8
    M: np.ndarray  # noqa: N815
    sign: np.ndarray
    E: int  # noqa: N815

    def params(self) -> dict[str, np.ndarray]:
        return {"mu": self.mu, "A": self.A, "M": self.M, "sign": self.sign}


def _fits(values: list[int], bits: int) -> bool:
    return all(-(1 << (bits - 1)) <= v < (1 << (bits - 1)) for v in values)


def _exponent(k: list[Fraction], offset: list[Fraction], mbits: int, obits: int) -> int:
    """Largest E in 0..MAX_EXPONENT with every M = rne(K 2^E) in INT(mbits) and every
    A = rne(offset 2^E) in INT(obits) (both only grow with E)."""
    for e in range(MAX_EXPONENT, -1, -1):
        if _fits([round(v * 2**e) for v in k], mbits) and _fits(
            [round(v * 2**e) for v in offset], obits
        ):
            return e
    raise NumericContractError(
        f"INSTA constants do not fit even at E=0: max |K| = {float(max(map(abs, k))):.3g} needs "
        f"more than {mbits} mantissa bits or max |mu + sigma*beta| = "
        f"{float(max(map(abs, offset))):.3g} more than {obits} offset bits"
    )


def _vector(name: str, v, channels: int | None) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if channels is not None and a.shape != (channels,):
        raise ConfigError(f"fold_insta_constants: {name} has {a.size} values, expected {channels}")
    if not np.all(np.isfinite(a)):
        raise NumericContractError(f"fold_insta_constants: {name} holds non-finite values")
    return a


def fold_insta_constants(
    mu,
    sigma,
    alpha,
    beta,
    H: int,  # noqa: N803
    W: int,  # noqa: N803
    input_scale: float,
    *,
    input_type: DataType,
    mantissa_bits: int = 18,
    offset_bits: int = 48,
    se_tanh_frac_bits: int | None = None,
    mu_frac_bits: int = 0,
) -> InstaConstants:
    """Float INSTA-Th parameters (real units; x_real = input_scale * x) -> integer constants.

    Exact rational arithmetic on the float64 values, one round-half-to-even per constant:
    mu_int = clamp(rne(mu / s 2^k), min 2^k, max 2^k) with k = mu_frac_bits (mu on the input grid
    refined by k bits); with sigma_x = sigma / s, A = rne((mu_int 2^-k + sigma_x * beta) 2^E),
    M = rne(alpha / (H W sigma_x^2) 2^(E - 3k)) (S is in units of 2^-3k) and E the largest
    exponent that fits (see `_exponent`); sign = sign(sigma). With `se_tanh_frac_bits` = G
    (INSTA-Th+), alpha is ignored and M = rne(sigma_x 2^(E - G)) scales the tanh table (the SE
    carries the 2^-3k of S).
    """
    mu_f = _vector("mu", mu, None)
    c = mu_f.size
    sigma_f, alpha_f, beta_f = (
        _vector(n, v, c) for n, v in (("sigma", sigma), ("alpha", alpha), ("beta", beta))
    )
    if np.any(sigma_f == 0):
        raise NumericContractError("fold_insta_constants: sigma is 0 in a channel")
    if not (math.isfinite(input_scale) and input_scale > 0):
        raise NumericContractError(f"fold_insta_constants: input_scale={input_scale} must be > 0")
    if mu_frac_bits < 0:
        raise ConfigError(f"fold_insta_constants: mu_frac_bits={mu_frac_bits} must be >= 0")
    s, hw, kb = Fraction(input_scale), H * W, mu_frac_bits
    lo, hi = input_type.min << kb, input_type.max << kb
    mu_int = [min(max(round(Fraction(m) / s * 2**kb), lo), hi) for m in mu_f]
    sig_x = [Fraction(v) / s for v in sigma_f]
    offset = [Fraction(mi, 2**kb) + sx * Fraction(b)
              for mi, sx, b in zip(mu_int, sig_x, beta_f, strict=True)]  # fmt: skip
    if se_tanh_frac_bits is None:  # S = sum (x 2^k - mu_int)^3 = 2^3k sum (x - mu_int 2^-k)^3
        k = [Fraction(a) / (hw * sx * sx * 2 ** (3 * kb))
             for a, sx in zip(alpha_f, sig_x, strict=True)]  # fmt: skip
    else:  # INSTA-Th+: T = offset + sigma_x * tanh_table / 2^G, so M carries sigma_x 2^-G
        k = [sx / 2**se_tanh_frac_bits for sx in sig_x]
    e = _exponent(k, offset, mantissa_bits, offset_bits)
    return InstaConstants(
        mu=np.array(mu_int, dtype=np.int64),
        A=np.array([round(v * 2**e) for v in offset], dtype=np.int64),
        M=np.array([round(v * 2**e) for v in k], dtype=np.int64),
        sign=np.where(sigma_f > 0, 1, -1).astype(np.int64),
        E=e,
    )


def insta_threshold_float(x, mu, sigma, alpha, beta) -> np.ndarray:
    """The float module in float64: sign(x_hat - t), t = beta + alpha * mean_hw(x_hat^3).

    x: (frames, H*W, C) real values; returns -1/+1 with sign(0) = +1.
    """
    x_hat = (np.asarray(x, dtype=np.float64) - np.asarray(mu)) / np.asarray(sigma)
    t = np.asarray(beta) + np.asarray(alpha) * np.mean(x_hat**3, axis=1, keepdims=True)
    return np.where(x_hat - t >= 0, 1, -1).astype(np.int64)
