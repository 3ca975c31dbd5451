"""The per-frame statistic of the INSTA modules, shared by InstaThreshold and the own-statistics
InstaPReLU (docs/numerics.md section 8; docs/insta.md, "Architecture"):

    S_c = sum_hw (x 2^k - mu_c)^3     exact, mu_c on the input grid refined by k fractional bits

its types and bounds, and the rule for how many threshold (or gamma) evaluators keep up with one
frame: both blocks share the write side (hw/templates/_insta_write_side.v.j2) and its snapshot.
Also what the two kinds share beyond the statistic: their frame geometry (`InstaFrame`), the
template parameters of the write side and the evaluator banks (`frame_context`), the HLS
typedefs of the write side (`write_side_typedefs`) and the kernels' summary line.
"""

from __future__ import annotations

import numpy as np

from flows.datatypes import DataType
from flows.errors import ConfigError
from flows.hwmodel.memory import buffer_style
from flows.hwmodel.ranges import smallest_type, width
from flows.hwmodel.structure import clog2
from flows.layers.backends import ctype, type_ctype

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


def statistic(x: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """S (frames, C) = sum over the H*W vectors of (x - mu)^3, exact in int64 (callers with
    mu_frac_bits = k pass x << k)."""
    d = np.asarray(x, dtype=np.int64) - np.asarray(mu, dtype=np.int64)
    return (d * d * d).sum(axis=1)


def statistic_type(t: DataType, k: int, num_vectors: int) -> DataType:
    """The type of S: |S| <= H*W*((2^n - 1) 2^k)^3, at most INT(3(n + k) + ceil(log2(H*W)) + 1)."""
    bound = statistic_bound(t, k, num_vectors)
    return smallest_type(-bound, bound)


# Where an INSTA frame buffer lives: on chip (block RAM, URAM or LUT RAM by the size rule of
# flows.hwmodel.memory) or in the board's DRAM behind the tier of docs/dram.md.
BUFFER_PLACES = ("chip", "dram")


def check_buffer(name: str, buffer: str) -> None:
    if buffer not in BUFFER_PLACES:
        raise ConfigError(
            f"{name}: buffer={buffer!r} is not a frame-buffer place; use one of {BUFFER_PLACES}"
        )


class InstaFrame:
    """The frame and evaluator geometry InstaThreshold and InstaPReLU share (a mixin of their
    dataclasses): an H x W x C frame, `pe` channels per word, one word per cycle, and
    `num_evaluators` evaluators (G channels per cycle) of the per-frame statistic."""

    channels: int
    height: int
    width: int
    pe: int
    input_type: DataType
    mu_frac_bits: int
    _se_macs: int | None

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

    @property
    def max_deviation(self) -> int:
        """max |x 2^k - mu| with x and mu in the input range: (2^n - 1) 2^k."""
        return (self.input_type.max - self.input_type.min) << self.mu_frac_bits

    @property
    def min_evaluators(self) -> int | None:
        """Fewest evaluators G (a divisor of PE) with C/G + SNAPSHOT_SLACK <= (H*W - 1) * NF
        (`min_evaluators`)."""
        return min_evaluators(self.channels, self.pe, self.num_vectors)

    @property
    def eval_steps(self) -> int:
        """Cycles the evaluators take per frame (G channels per cycle)."""
        return self.channels // self.num_evaluators

    @property
    def num_se_macs(self) -> int | None:
        """With an SE (INSTA-Th+, INSTA-PReLU+): its MACs per cycle (`se_macs` or the fewest
        that keep up)."""
        return self._se_macs


def frame_context(cfg: InstaFrame, eval_stages: int) -> dict:
    """The template parameters of the frame, the statistic and the evaluator banks that both INSTA
    blocks' templates share (_insta_write_side.v.j2 and the double-banked per-channel values);
    `eval_stages`: the kind's evaluator pipeline (the bank's write step)."""
    t, mt, g, nfw = cfg.input_type, cfg.mu_type, cfg.num_evaluators, clog2(cfg.nf)
    depth = max(cfg.buffer_words, 1)  # a reuse InstaPReLU has no frame buffer
    return dict(
        channels=cfg.channels, height=cfg.height, width=cfg.width, hw=cfg.num_vectors,
        pe=cfg.pe, nf=cfg.nf, acc_type=cfg.acc_type.name, mu_type=mt.name,
        kfrac=cfg.mu_frac_bits, x_signed=t.signed, mu_signed=mt.signed, mu_w=cfg.pe * mt.bits,
        snw=cfg.pe * cfg.acc_type.bits, depth=depth,
        external=getattr(cfg, "buffer", "chip") == "dram",
        slack=cfg.buffer_words - cfg.cycles_per_frame,
        buffer_style=buffer_style(cfg.pe * t.bits, depth), aw=clog2(depth),
        cntw=width(0, depth, False), nfw=nfw, vw=clog2(cfg.num_vectors), g=g,
        groups=cfg.pe // g, steps=cfg.eval_steps, kw=clog2(cfg.eval_steps), jw=clog2(cfg.pe // g),
        bank_depth=(2 << nfw) if cfg.nf > 1 else 2,
        bank_waddr=f"{{e_par, enf{eval_stages}}}" if cfg.nf > 1 else "e_par",
        ed=eval_stages, bank_raddr="{r_par, r_nf}" if cfg.nf > 1 else "r_par",
    )  # fmt: skip


def write_side_typedefs(cfg: InstaFrame) -> list[tuple[str, str]]:
    """The HLS typedefs of the write side both INSTA kernels share (insta_common.hpp), from exact
    ranges: x 2^k, mu, d = x 2^k - mu, d^3 and S."""
    t, k, dev = cfg.input_type, cfg.mu_frac_bits, cfg.max_deviation
    return [
        ("shifted_t", ctype(t.min << k, t.max << k)),
        ("mu_t", type_ctype(cfg.mu_type)),
        ("d_t", ctype(-dev, dev)),
        ("cube_t", ctype(-(dev**3), dev**3)),
        ("acc_t", type_ctype(cfg.acc_type)),
    ]


def ports_summary(cfg: InstaFrame, kind: str) -> str:
    """An INSTA kernel's one-line summary: form, map, folding, evaluators, input type."""
    return (
        f"{kind}, {cfg.height}x{cfg.width}x{cfg.channels} pe={cfg.pe} "
        f"evaluators={cfg.num_evaluators}, {cfg.input_type} in"
    )
