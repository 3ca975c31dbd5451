"""The InstaThreshold config: shapes, types, folding, evaluators and the RTL schedule (the frame
buffer depth and latencies the tests measure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.datatypes import BIPOLAR, INT, DataType, Kind
from flows.errors import ConfigError
from flows.hwmodel.ranges import product_range, width
from flows.hwmodel.serial import serial_bits
from flows.layers.checks import check_constants, check_divides, check_positive
from flows.layers.insta_se.config import SEConfig, se_macs_of, se_path_cycles
from flows.layers.insta_statistics import (
    InstaFrame,
    check_buffer,
    check_evaluation,
    check_multipliers,
    check_stat_memory,
    refined_mu_type,
    statistic_bound,
    statistic_type,
)

# Largest per-layer exponent E: bounds E where M and A do not (alpha = 0 and a small offset) and
# keeps the evaluator's sum and shifter widths finite (docs/numerics.md section 9).
MAX_EXPONENT = 47
# RTL pipeline (hw/templates/insta_threshold.v.j2): the evaluators take EVAL_STAGES steps from the
# read of the snapshot to the bank write (read, operand, operand register, two product stages of
# mul_pipe, A' + M*S; the bank is written with the clamp at the last). With shared multipliers
# mul_seq registers the operands itself and takes N + 1 stages: N - 1 more (`eval_stages`).
EVAL_STAGES = 6
# Cycles from the clock edge that accepts a frame's last word to the edge that reads its first
# word out (`threshold_latency`): write_stages to the snapshot write (5: mu, d, d^2, two stages of
# d^3, accumulate), 1 to start the evaluators, eval_cycles_per_frame to the last read,
# eval_stages - 1 more stages to the clamp, 1 to the bank write, 1 to the reader's read.
THRESHOLD_OVERHEAD = 1 + 1 + 1


@dataclass(frozen=True)
class InstaThreshold(InstaFrame):
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
    buffer: str = "chip"  # the frame buffer: "chip" (block RAM/URAM) or "dram" (docs/dram.md)
    multipliers: str = "parallel"  # "shared": one multiplier per cube and evaluator; "serial"
    # the shared cube and bit-serial evaluators (docs/insta.md)
    constants: str = "chip"  # "dram": per-channel constants streamed in (docs/dram.md)
    evaluation: str = "overlap"  # or "hold": no snapshot, the input waits (insta.md)
    stat_memory: str = "auto"  # accumulators, snapshot, bank: size rule, or "block" (insta.md)
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
        check_buffer(self.name, self.buffer)
        check_constants(self.name, self.constants)
        check_multipliers(self)
        check_evaluation(self)
        check_stat_memory(self)
        if self.mu_frac_bits < 0:
            raise ConfigError(f"{self.name}: mu_frac_bits={self.mu_frac_bits} must be >= 0")
        if not (2 <= self.mantissa_bits <= 32 and 2 <= self.offset_bits <= 62):
            raise ConfigError(
                f"{self.name}: mantissa_bits must be in 2..32 and offset_bits in 2..62, got "
                f"{self.mantissa_bits} and {self.offset_bits}"
            )
        acc_bits = width(-self._bound, self._bound, True)  # acc_type's, before it is built
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
                + (f", or use evaluation='hold' or multipliers='shared' (a serial step takes "
                   f"{self.eval_cycles} cycles)" if self.serial_evaluators else "")
            )  # fmt: skip
        g = self.evaluators
        if g is not None and (g < 1 or self.pe % g):
            raise ConfigError(f"{self.name}: evaluators={g} must divide PE={self.pe}")
        if g is not None and g < g_min:
            raise ConfigError(
                f"{self.name}: evaluators={g} cannot keep up with one frame per "
                f"{self.cycles_per_frame} cycles; at least {g_min} are needed"
            )

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
    def acc_type(self) -> DataType:
        """S_c: |S| <= H*W*((2^n - 1) 2^k)^3, at most INT(3(n + k) + ceil(log2(H*W)) + 1)
        (numerics 8)."""
        return statistic_type(self.input_type, self.mu_frac_bits, self.num_vectors)

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
    def num_evaluators(self) -> int:
        return self.evaluators if self.evaluators is not None else self.min_evaluators

    @property
    def threshold_latency(self) -> int:
        """Cycles from accepting a frame's last word to reading its first word out; INSTA-Th+
        adds its SE path between the statistic and the evaluators."""
        se = 0 if self.se is None else se_path_cycles(self.se, self.pe, self.num_se_macs)
        return (self.write_stages + self.eval_cycles_per_frame + self.eval_stages - 1
                + THRESHOLD_OVERHEAD + se)  # fmt: skip

    @property
    def eval_stages(self) -> int:
        """The evaluator pipeline (EVAL_STAGES; N - 1 more with a shared M*S of N slices; serial:
        the read, then eval_serial's N + 1 cycles to `done`, whose cycle writes the bank)."""
        if self.serial_evaluators:
            return self.eval_cycles + 1
        return EVAL_STAGES + self.eval_cycles - 1

    @property
    def offset_range(self) -> tuple[int, int]:
        """The range of A' (`widths.hw_offsets`): A + 2^E - 1 or A + 2^E."""
        return self.offset_type.min, self.offset_type.max + (1 << self.exponent)

    @property
    def serial_bits(self) -> int:
        """N of the serial evaluator: A' + M*S exact (the range `widths.sum_bits` gives the forms
        without an SE, which a test checks), shifted by E, clamped to [min, max + 1]."""
        t = self.input_type
        p_lo, p_hi = product_range(self.mantissa_type.bounds, self.acc_type.bounds)
        a_lo, a_hi = self.offset_range
        sum_bits = width(a_lo + p_lo, a_hi + p_hi, True)
        return serial_bits(sum_bits, self.exponent, self.threshold_type.bits, t.min, t.max + 1)

    @property
    def buffer_words(self) -> int:
        """Frame buffer depth: one frame plus the words of the next one that arrive while the
        thresholds are evaluated (one per word_cycles), so the input never waits; held, the
        next frame arrives only `resume_cycles` after the last word (`held_slack`)."""
        return self.frame_buffer_words(self.threshold_latency)

    @property
    def buffer_bits(self) -> int:
        return self.buffer_words * self.pe * self.input_type.bits

    @property
    def frame_bits(self) -> int:
        """H*W*C*N: the frame itself, without the evaluation slack (docs/insta.md)."""
        return self.num_vectors * self.channels * self.input_type.bits

    @property
    def first_output_latency(self) -> int:
        """Cycles from the first input transfer to the first output transfer (no stalls): the
        frame (its last word word_cycles apart), the thresholds, then the read, its register
        and the compare."""
        return (self.words_per_frame - 1) * self.word_cycles + 1 + self.threshold_latency + 3
