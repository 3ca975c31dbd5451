"""The SE block of INSTA-Th+ / INSTA-PReLU+ in integers (DESIGN.md section 4; numerics section 10).

Float (flows.custom_ops.insta.se_block): v = FC2(ReLU(FC1(m3))) with 8-bit weights w1 (H x C), w2
(C x H) and per-output-channel steps s1, s2. Once per frame, from the exact statistic S of the
module (m3_c = S_c * k_c, k_c = 1 / (H W sigma_x^3) in the units of S):

    m3_c = sat_INT8(rne(Mm_c * S_c * 2^-m3_shift))        m3 on the grid 2^-m3_exponent
    h_j  = sat_UINT8(rne(Mh_j * max(w1 m3, 0)_j * 2^-hidden_shift))
                                                          hidden on the grid 2^-hidden_exponent
    v_c  = sat_INT(v_bits)(rne(Mo_c * (w2 h)_c * 2^-v_shift))
                                                          v on the grid 2^-v_exponent

with Mm = rne(k 2^(m3_exponent + m3_shift)), Mh = rne(s1 2^(hidden_exponent - m3_exponent +
hidden_shift)), Mo = rne(s2 2^(v_exponent - hidden_exponent + v_shift)) 18-bit mantissas, each
shift the largest in 0..MAX_SHIFT that keeps its mantissas in 18 bits. The SE's 2*C*H multiplies
are scheduled within a frame by the hardware (issue 5). The module that owns the SE turns v into
its threshold or gamma through a 3 tanh(./3) table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from flows.datatypes import INT, UINT, DataType
from flows.errors import ConfigError, NumericContractError
from flows.fixedpoint import rne_shift
from flows.layers.registry import checked_param

MAX_SHIFT = 62
# Pipeline cycles between the phases of the SE block's RTL (hw/templates/insta_se.v.j2): the last S
# word's m3 reaches its register 5 cycles after the transfer (S/Mm register, two product stages,
# rounding, shift-in); a MAC's result reaches h or v 8 cycles after its issue (ROM read, weight
# and operand register, product, accumulate, two rescaler product stages, rounding, shift-in), so
# each layer starts one cycle after the previous layer's last value is stored.
M3_DRAIN = 4
LAYER_DRAIN = 7
# The INSTA+ blocks' snapshot reader (hw/templates/_insta_stat_reader.v.j2): one cycle to start,
# one registered read before the SE block takes the first S word.
SE_FEED = 2
# ... and when that reader has waited for the SE (busy with the previous frame), its registered
# read refills one cycle after the SE is ready again: one cycle per frame on top of the SE's work.
SE_RESTART = 1
SE_INPUT = INT(8)
SE_HIDDEN = UINT(8)
WEIGHT = INT(8)


@dataclass(frozen=True)
class SEConfig:
    """Shapes, grids and shifts of one integer SE block."""

    channels: int
    hidden: int
    m3_exponent: int
    hidden_exponent: int
    v_exponent: int
    v_bits: int
    m3_shift: int
    hidden_shift: int
    v_shift: int
    mantissa_bits: int = 18

    def __post_init__(self) -> None:
        if self.channels < 1 or self.hidden < 1:
            raise ConfigError(f"SE: channels and hidden must be >= 1 ({self})")
        if min(self.m3_shift, self.hidden_shift, self.v_shift) < 0:
            raise ConfigError("SE: shifts must be >= 0")

    @property
    def v_type(self) -> DataType:
        return INT(self.v_bits)

    @property
    def macs(self) -> int:
        """Multiply-accumulates per frame: 2 * C * hidden (2 C^2 / r)."""
        return 2 * self.channels * self.hidden


def se_cycles(se: SEConfig, lanes: int, macs_per_cycle: int) -> int:
    """Cycles of the SE block from its last S transfer to its last v transfer (full output rate):
    FC1 and FC2 each take C*hidden/M issue cycles, v leaves in C/lanes words, plus the drains:
    `2*C*hidden/M + C/lanes + 18`."""
    issue = se.channels * se.hidden // macs_per_cycle
    return M3_DRAIN + issue + LAYER_DRAIN + issue + LAYER_DRAIN + se.channels // lanes


def mac_options(se: SEConfig) -> list[int]:
    """MACs per cycle the SE block accepts: the common divisors of C and hidden, ascending."""
    g = math.gcd(se.channels, se.hidden)
    return [m for m in range(1, g + 1) if g % m == 0]


def se_path_cycles(se: SEConfig, lanes: int, macs_per_cycle: int) -> int:
    """Cycles an INSTA+ block's SE adds between a frame's S snapshot and its evaluators: the
    reader's start and read, C/lanes S words into the SE, then `se_cycles`."""
    return SE_FEED + se.channels // lanes + se_cycles(se, lanes, macs_per_cycle)


def pick_macs(name: str, se: SEConfig, lanes: int, frame_cycles: int, macs: int | None) -> int:
    """MACs per cycle of an INSTA+ block's SE: `macs` if given (checked), else the fewest that
    keep up. The SE takes one frame at a time (C/lanes S words, then `se_cycles` to its last v,
    then SE_RESTART), so it keeps up at one frame per `frame_cycles` iff
    C/lanes + se_cycles + SE_RESTART <= frame_cycles."""
    options = mac_options(se)
    if macs is not None and macs not in options:
        raise ConfigError(
            f"{name}: se_macs={macs} must divide both C={se.channels} and the SE's hidden "
            f"width {se.hidden}; one of {options}"
        )

    def period(m: int) -> int:
        return se.channels // lanes + se_cycles(se, lanes, m) + SE_RESTART

    fits = [m for m in options if period(m) <= frame_cycles]
    if not fits:
        need = period(options[-1])
        raise ConfigError(
            f"{name}: the SE block needs {need} cycles per frame even with {options[-1]} MACs, "
            f"but a frame lasts {frame_cycles} cycles at this folding; lower PE"
        )
    if macs is not None and macs < fits[0]:
        raise ConfigError(
            f"{name}: se_macs={macs} cannot keep up with one frame per {frame_cycles} cycles; "
            f"at least {fits[0]} are needed"
        )
    return macs if macs is not None else fits[0]


def se_macs_of(
    name: str, se: SEConfig | None, channels: int, lanes: int, frame_cycles: int, macs: int | None
) -> int | None:
    """The checked MACs per cycle of an INSTA+ layer's SE (None without an SE): its channels are
    the layer's, `macs` as `pick_macs` allows; se_macs without an SE is refused."""
    if se is None:
        if macs is not None:
            raise ConfigError(f"{name}: se_macs without an SE config")
        return None
    if se.channels != channels:
        raise ConfigError(f"{name}: the SE block has {se.channels} channels, the layer {channels}")
    return pick_macs(name, se, lanes, frame_cycles, macs)


def _scaled(m: np.ndarray, v: np.ndarray, shift: int, wide: bool) -> np.ndarray:
    dt = object if wide else np.int64
    return rne_shift(m.astype(dt) * np.asarray(v).astype(dt), shift)


def se_v(name: str, se: SEConfig, params: dict, s: np.ndarray, stat_bits: int) -> np.ndarray:
    """v (frames, C) as integers on the grid 2^-v_exponent from S (frames, C)."""
    c, h, mb = se.channels, se.hidden, se.mantissa_bits
    mant = INT(mb)
    mm = checked_param(name, params, "se_Mm", (c,), mant)
    w1 = checked_param(name, params, "se_w1", (h, c), WEIGHT)
    mh = checked_param(name, params, "se_Mh", (h,), mant)
    w2 = checked_param(name, params, "se_w2", (c, h), WEIGHT)
    mo = checked_param(name, params, "se_Mo", (c,), mant)
    m3 = _scaled(mm, s, se.m3_shift, mb + stat_bits > 61)
    m3 = np.clip(m3, SE_INPUT.min, SE_INPUT.max).astype(np.int64)
    acc1 = np.maximum(m3 @ w1.T, 0)
    hid = np.clip(_scaled(mh, acc1, se.hidden_shift, False), SE_HIDDEN.min, SE_HIDDEN.max)
    acc2 = hid.astype(np.int64) @ w2.T
    v = _scaled(mo, acc2, se.v_shift, False)
    return np.clip(v, se.v_type.min, se.v_type.max).astype(np.int64)


def _mantissas(values: list[Fraction], base_exp: int, bits: int, what: str):
    """Largest shift in 0..MAX_SHIFT with every rne(v 2^(base_exp + shift)) in INT(bits)."""
    lim = (1 << (bits - 1)) - 1
    for shift in range(MAX_SHIFT, -1, -1):
        e = base_exp + shift
        ints = [round(v * 2**e) if e >= 0 else round(v / 2**-e) for v in values]
        if all(abs(i) <= lim for i in ints):
            return shift, np.array(ints, dtype=np.int64)
    raise NumericContractError(f"SE {what}: a factor is too large for {bits}-bit mantissas")


def fold_se(
    k: list[Fraction],
    w1: np.ndarray,
    s1: np.ndarray,
    w2: np.ndarray,
    s2: np.ndarray,
    *,
    m3_exponent: int,
    hidden_exponent: int,
    v_exponent: int,
    v_bits: int,
    mantissa_bits: int = 18,
) -> tuple[SEConfig, dict[str, np.ndarray]]:
    """Float SE (integer-valued w1/w2, steps s1/s2) and the statistic factor k -> integer SE."""
    w1i, w2i = np.asarray(w1), np.asarray(w2)
    for w, n in ((w1i, "w1"), (w2i, "w2")):
        if np.any(w != np.round(w)) or np.any(np.abs(w) > 128) or np.any(w == 128):
            raise NumericContractError(f"SE weights {n} must be integers in -128..127")
    fr = lambda a: [Fraction(float(x)) for x in np.asarray(a, np.float64).ravel()]  # noqa: E731
    m3s, mm = _mantissas(k, m3_exponent, mantissa_bits, "m3 factor")
    hs, mh = _mantissas(fr(s1), hidden_exponent - m3_exponent, mantissa_bits, "FC1 step")
    vs, mo = _mantissas(fr(s2), v_exponent - hidden_exponent, mantissa_bits, "FC2 step")
    cfg = SEConfig(
        channels=w2i.shape[0], hidden=w1i.shape[0], m3_exponent=m3_exponent,
        hidden_exponent=hidden_exponent, v_exponent=v_exponent, v_bits=v_bits, m3_shift=m3s,
        hidden_shift=hs, v_shift=vs, mantissa_bits=mantissa_bits,
    )  # fmt: skip
    params = {
        "se_Mm": mm,
        "se_w1": w1i.astype(np.int64),
        "se_Mh": mh,
        "se_w2": w2i.astype(np.int64),
        "se_Mo": mo,
    }
    return cfg, params
