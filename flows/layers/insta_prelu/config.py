"""The InstaPReLU config: forms, types, folding, evaluators and the RTL schedule; the gamma table
and the checked parameter reader (`param`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flows.datatypes import INT, DataType, Kind
from flows.errors import ConfigError
from flows.fixedpoint import rne
from flows.hwmodel.ranges import product_range, width
from flows.hwmodel.serial import serial_bits
from flows.layers.checks import check_constants, check_divides, check_positive, checked_param
from flows.layers.insta_se.config import SEConfig, se_macs_of, se_path_cycles
from flows.layers.insta_statistics import (
    InstaFrame,
    check_buffer,
    check_evaluation,
    check_mu_range,
    check_multipliers,
    check_stat_memory,
    refined_mu_type,
    statistic_type,
)

FORMS = ("alpha", "se", "reuse")
# A folded (odd) gamma table adds two evaluator stages: the read's register, then the sign.
TABLE_FOLD_STAGES = 2
# RTL evaluator (hw/templates/insta_prelu.v.j2): steps from the read of the snapshot to the gamma
# table read (read, operands, two product stages of mul_pipe, Bv + Mv*S, rounding, saturation,
# table); the SE form delays v to the same step. With a shared Mv*S, mul_seq registers the operands
# itself and takes N + 1 stages: N - 1 more (`eval_stages`).
EVAL_STAGES = 8
# ... and of the read side: the reads, their register, x 2^G - gamma, the product, + add, the
# rounded sum, the saturated output.
OUTPUT_STAGES = 7


def gamma_table(v_exponent: int, input_scale: float, frac_bits: int, v_bits: int) -> np.ndarray:
    """table[v + 128] = rne(3 tanh(v 2^-e / 3) / s * 2^G) for v in -128..127: gamma in units of
    x's grid with G fractional bits. The one function the lowering and the tests use (numerics 8)."""
    vt = INT(v_bits)
    v = np.arange(vt.min, vt.max + 1, dtype=np.float64) * 2.0**-v_exponent
    return rne(3.0 * np.tanh(v / 3.0) / input_scale * 2.0**frac_bits).astype(np.int64)


@dataclass(frozen=True)
class InstaPReLU(InstaFrame):
    """INSTA-PReLU on an H x W x C frame (+ requantisation); see the module docstring."""

    name: str
    channels: int
    height: int
    width: int
    input_type: DataType
    output_type: DataType
    form: str
    v_exponent: int  # e: v = v_int * 2^-e
    stat_exponent: int  # Ev of Mv, Bv
    shift: int  # F of mul_pos, mul_neg (add has F + G)
    table_type: DataType
    gamma_frac_bits: int = 8  # G
    v_bits: int = 8  # v_c is INT(v_bits): the table has 2^v_bits entries
    mu_frac_bits: int = 0  # k: mu_c is in units of 2^-k input steps
    se: SEConfig | None = None  # form "se": v = SE(m3) (flows/layers/insta_se)
    mul_type: DataType = INT(16)
    add_type: DataType = INT(32)
    stat_channels: int | None = None  # reuse: channels of the INSTA-Th statistic (input 1)
    stat_type: DataType | None = None  # reuse: its element type
    pe: int = 1
    mantissa_bits: int = 18
    offset_bits: int = 48
    se_macs: int | None = None  # form "se": MACs per cycle of the SE (None: fewest that keep up)
    buffer: str = "chip"  # own forms' frame buffer: "chip" or "dram" (docs/dram.md)
    multipliers: str = "parallel"  # "shared": one multiplier per cube and evaluator; "serial"
    # the shared cube and bit-serial evaluators (docs/insta.md)
    constants: str = "chip"  # "dram": per-channel constants streamed in (docs/dram.md)
    evaluation: str = "overlap"  # or "hold": no snapshot, the input waits (insta.md)
    stat_memory: str = "auto"  # accumulators, snapshot, bank: size rule, or "block" (insta.md)
    table_fold: bool = False  # the table is odd (table[-v] = -table[v]): store v >= 0 only
    _se_macs: int | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, height=self.height, width=self.width)
        check_divides(self.name, self.channels, "PE", self.pe)
        if self.form not in FORMS:
            raise ConfigError(f"{self.name}: form {self.form!r}; one of {', '.join(FORMS)}")
        if self.input_type.kind == Kind.BIPOLAR:
            raise ConfigError(f"{self.name}: INSTA-PReLU needs an integer input, not BIPOLAR")
        if self.form == "reuse":
            if self.stat_channels is None or self.stat_type is None:
                raise ConfigError(f"{self.name}: the reuse form needs stat_channels and stat_type")
            check_divides(self.name + " (statistic channels)", self.channels, "C_stat",
                          self.stat_channels)  # fmt: skip
        check_buffer(self.name, self.buffer)
        check_constants(self.name, self.constants)
        if self.form == "reuse" and self.buffer != "chip":
            raise ConfigError(
                f"{self.name}: the reuse form has no frame buffer to place; buffer must be 'chip'"
            )
        if (self.form == "se") != (self.se is not None):
            raise ConfigError(f"{self.name}: form 'se' and an SE config go together")
        check_multipliers(self)
        check_evaluation(self)
        check_stat_memory(self)
        if self.shift < 0 or self.stat_exponent < 0:
            raise ConfigError(f"{self.name}: shift and stat_exponent must be >= 0")
        m = se_macs_of(self.name, self.se, self.channels, self.pe, self.cycles_per_frame,
                       self.se_macs)  # fmt: skip
        se = self.se
        if se is not None and (se.v_bits, se.v_exponent) != (self.v_bits, self.v_exponent):
            raise ConfigError(
                f"{self.name}: the SE's v (INT{se.v_bits} at 2^-{se.v_exponent}) "
                f"must index the gamma table (INT{self.v_bits} at 2^-{self.v_exponent})"
            )
        if self.serial_evaluators and self.min_evaluators is None:
            raise ConfigError(
                f"{self.name}: serial evaluators ({self.eval_cycles} cycles a step) cannot "
                f"evaluate {self.channels} channels within a frame of {self.words_per_frame} "
                "word(s), even with PE of them; use multipliers='shared' or 'parallel', or a "
                "lower PE"
            )
        object.__setattr__(self, "_se_macs", m)  # checked once, kept when pickled

    @property
    def acc_type(self) -> DataType:
        """S_c of the own statistics (as InstaThreshold.acc_type), or the reused one."""
        if self.form == "reuse":
            return self.stat_type
        return statistic_type(self.input_type, self.mu_frac_bits, self.num_vectors)

    @property
    def mu_type(self) -> DataType:
        return refined_mu_type(self.input_type, self.mu_frac_bits)

    # --- RTL schedule (hw/templates/insta_prelu.v.j2, docs/insta.md) -----------------------------
    @property
    def has_write_side(self) -> bool:
        return self.form != "reuse"

    @property
    def eval_stages(self) -> int:
        """The evaluator pipeline (EVAL_STAGES; N - 1 more with a shared Mv*S of N slices; 2 more
        with a folded table: its read registered again, then the sign and the -2^(b-1) entry;
        serial: the read, eval_serial's N + 1 cycles to v, the table read)."""
        fold = TABLE_FOLD_STAGES if self.table_fold else 0
        if self.serial_evaluators:  # the read, eval_serial's N + 1 cycles to v, the table read
            return self.eval_cycles + 2 + fold
        return EVAL_STAGES + self.eval_cycles - 1 + fold

    @property
    def serial_bits(self) -> int:
        """N of the serial evaluator: Bv + Mv*S exact (`widths.vsum_bits`, which a test checks),
        rounded at 2^-ev, saturated to INT<vb>."""
        vb, bt = self.v_bits, INT(self.offset_bits)
        p_lo, p_hi = product_range(INT(self.mantissa_bits).bounds, self.acc_type.bounds)
        sum_bits = width(p_lo + bt.min, p_hi + bt.max, True)
        return serial_bits(sum_bits, self.stat_exponent, vb, -(1 << (vb - 1)), (1 << (vb - 1)) - 1)

    @property
    def table_words(self) -> int:
        """Entries the hardware stores: 2^v_bits, or 2^(v_bits - 1) folded."""
        return 1 << (self.v_bits - 1 if self.table_fold else self.v_bits)

    @property
    def stat_words(self) -> int:
        """Words of S per frame on the reuse form's input 1 (PE lanes of stat_type)."""
        return (self.stat_channels or self.channels) // self.pe

    @property
    def num_evaluators(self) -> int:
        """The RTL's evaluators: the minimum (PE where even PE misses the rule)."""
        return self.min_evaluators or self.pe

    @property
    def gamma_latency(self) -> int:
        """Own statistics: cycles from accepting a frame's last word to reading its first word
        out of the buffer; reuse: from accepting a frame's last S word to accepting its first
        element (when that waits): the evaluators' reads plus their pipeline (RTL), after the
        write side's stages in the own forms; the SE form adds its SE path between the
        statistic and the evaluators."""
        overhead = self.eval_stages + (3 if self.form == "reuse" else self.write_stages + 2)
        se = 0 if self.se is None else se_path_cycles(self.se, self.pe, self.num_se_macs)
        return self.eval_cycles_per_frame + overhead + se

    @property
    def buffer_words(self) -> int:
        """Own statistics: one frame plus the words that arrive while gamma is evaluated (as
        InstaThreshold.buffer_words); reuse: no frame buffer."""
        if self.form == "reuse":
            return 0
        return self.frame_buffer_words(self.gamma_latency)

    @property
    def buffer_bits(self) -> int:
        return self.buffer_words * self.pe * self.input_type.bits

    @property
    def first_output_latency(self) -> int:
        """Cycles from the first input transfer to the first output transfer (no stalls).
        Own form: the frame, gamma, the OUTPUT_STAGES. Reuse: from the first S transfer, with
        the elements waiting: the S words, gamma, the OUTPUT_STAGES."""
        if self.form == "reuse":
            return self.stat_words - 1 + self.gamma_latency + OUTPUT_STAGES
        last_word = (self.words_per_frame - 1) * self.word_cycles
        return last_word + 1 + self.gamma_latency + OUTPUT_STAGES


def param(cfg: InstaPReLU, params: dict, key: str, t: DataType | None, size: int) -> np.ndarray:
    """A per-channel (or table) constant of the layer, checked (flows.layers.registry)."""
    return checked_param(cfg.name, params, key, (size,), t)


def is_odd_table(table: np.ndarray) -> bool:
    """table[v - min] = -table[-v - min] for every v > min (v in INT<b>, index v - min; so the
    entry of v = 0 is 0): the gamma table of `gamma_table` is odd (3 tanh is odd and rne is
    symmetric)."""
    half = len(table) // 2
    return bool(table[half] == 0 and np.array_equal(table[half + 1 :], -table[1:half][::-1]))


def check_emittable(cfg: InstaPReLU, params: dict) -> None:
    """What both emitters (RTL and HLS) need beyond the config's own checks: a statistic word of
    PE lanes divides stat_channels (reuse form), and mu lies in the input range (own forms). Kept
    out of __post_init__ so that folding may propose any PE and reject it here with advice."""
    if cfg.form == "reuse" and cfg.stat_channels % cfg.pe:
        raise ConfigError(
            f"{cfg.name}: the statistic port carries PE={cfg.pe} lanes per word, which must "
            f"divide stat_channels={cfg.stat_channels}; lower PE"
        )
    if cfg.form != "reuse":
        mu = param(cfg, params, "mu", cfg.mu_type, cfg.channels)
        check_mu_range(cfg.name, mu, cfg.input_type, cfg.mu_frac_bits)
    if cfg.table_fold and not is_odd_table(param(cfg, params, "table", None, 1 << cfg.v_bits)):
        raise ConfigError(
            f"{cfg.name}: table_fold stores half the gamma table, but this table is not odd "
            "(table[-v] != -table[v]); set table_fold=False or build it with gamma_table"
        )
