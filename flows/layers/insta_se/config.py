"""The SE block's configuration and schedule: shapes, grids, shifts, how many MACs per cycle keep
up with one frame (`pick_macs`), and its checked parameters (`se_params`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flows.datatypes import INT, UINT, DataType
from flows.errors import ConfigError
from flows.layers.checks import checked_param

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


@dataclass(frozen=True)
class SEParams:
    """The SE's constants, checked: the m3 mantissas Mm (C), FC1 weights w1 (hidden, C), the
    hidden mantissas Mh (hidden), FC2 weights w2 (C, hidden), the v mantissas Mo (C)."""

    mm: np.ndarray
    w1: np.ndarray
    mh: np.ndarray
    w2: np.ndarray
    mo: np.ndarray


def se_params(name: str, se: SEConfig, params: dict) -> SEParams:
    """The SE's parameters `se_Mm`, `se_w1`, `se_Mh`, `se_w2`, `se_Mo` of layer `name`, checked
    for shape and type (the one reader of the golden function and both emitters)."""
    c, h, mant = se.channels, se.hidden, INT(se.mantissa_bits)
    return SEParams(
        mm=checked_param(name, params, "se_Mm", (c,), mant),
        w1=checked_param(name, params, "se_w1", (h, c), WEIGHT),
        mh=checked_param(name, params, "se_Mh", (h,), mant),
        w2=checked_param(name, params, "se_w2", (c, h), WEIGHT),
        mo=checked_param(name, params, "se_Mo", (c,), mant),
    )
