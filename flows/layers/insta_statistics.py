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
from flows.hwmodel.logic import mul_slices
from flows.hwmodel.memory import WRITTEN_STYLES, buffer_style, pinned_memory
from flows.hwmodel.ranges import smallest_type, width
from flows.hwmodel.serial import serial_cycles
from flows.hwmodel.structure import clog2
from flows.layers.backends import ctype, type_ctype
from flows.layers.registry import DramRegion

# The evaluator must have read the snapshot of frame k (eval_steps reads after the write side's
# WRITE_STAGES cycles of accumulate pipeline and 1 to start) before frame k+1's last vector starts
# to overwrite it: SNAPSHOT_SLACK with the parallel write side, more with the shared one.
WRITE_STAGES = 5  # parallel: mu, d, d^2, two stages of d^3 (hw/templates/_insta_write_side.v.j2)
SNAPSHOT_SLACK = WRITE_STAGES + 1

# How the INSTA blocks' wide products are built (docs/insta.md, "Shared multipliers"): "parallel"
# gives every product its own multiplier blocks (one word per cycle); "shared" runs each lane's
# cube d*d, d^2*d on one multiplier (hw/lib/cube_seq.v: one word per 1 + N cycles, N the slices of
# d^2) and each evaluator's M*S on one (hw/lib/mul_seq.v: N cycles per step, N the slices of S);
# "serial" has the shared cube and evaluators without a multiplier, one bit per cycle
# (hw/lib/eval_serial.v: N + 1 cycles per step, N the bits of the evaluator's exact sum plus one;
# docs/insta.md, "Serial evaluators"). The SE forms' evaluators keep their products.
MULTIPLIER_STYLES = ("parallel", "shared", "serial")

# When the evaluators read the frame's statistic (docs/insta.md, "Held evaluation"): "overlap"
# copies S into a snapshot memory at the frame's last vector, so the evaluation overlaps the next
# frame's input; "hold" has no snapshot: the evaluators read the accumulators themselves while the
# input holds the next frame, which costs `resume_cycles - word_cycles` cycles per frame and saves
# the snapshot (NF words of PE x bits(S): two block RAMs per unit on insta_resnet18's 7x7 stage).
EVALUATIONS = ("overlap", "hold")


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


def min_evaluators(
    channels: int, pe: int, num_vectors: int, word_cycles: int, eval_cycles: int, slack: int
) -> int | None:
    """Fewest evaluators G (a divisor of PE) with C/G * N_e + slack <= (H*W - 1) * NF * K: the
    snapshot of frame k is read before frame k+1's last vector overwrites it (docs/insta.md; K
    cycles per word and N_e per evaluator step, both 1 with parallel multipliers)."""
    budget = (num_vectors - 1) * (channels // pe) * word_cycles - slack
    for g in range(1, pe + 1):
        if pe % g == 0 and channels // g * eval_cycles <= budget:
            return g
    return None


def frame_memories(cfg: InstaFrame, bank_bits: int, family: str) -> tuple[int, int, int]:
    """(LUT, BRAM, LUT RAM) of the memories both INSTA blocks hold besides the frame buffer and
    their constants: the S accumulators and the snapshot (own statistic; NF words of PE lanes,
    the accumulator's read address a register, so both are synchronous-read RAMs; a held
    evaluation has no snapshot) or the statistic input's snapshot (reuse), and the double bank
    of per-channel results (2 NF words of `bank_bits`). The RTL pins their `ram_style` by the
    size rule or the layer's `stat_memory` (`buffer_style`), and `pinned_memory` costs them:
    block RAM, or distributed RAM whose cells (ECP5 TRELLIS_DPR16X4; Xilinx `lutram_luts`) are
    LUT RAM and whose read multiplexer is LUT."""
    snw = cfg.pe * cfg.acc_type.bits
    words = [(snw, cfg.nf)] * (2 if cfg.has_write_side and not cfg.held else 1)
    words += [(bank_bits, 2 * cfg.nf)]
    costs = [pinned_memory(w, d, family, cfg.stat_memory) for w, d in words]
    return tuple(sum(c[i] for c in costs) for i in range(3))


def dram_forms(cfg: InstaFrame) -> list[dict]:
    """The DRAM forms of an INSTA block (`LayerKind.dram_forms`): its frame buffer (own forms),
    its streamed constants, or both (docs/dram.md)."""
    forms = [{"buffer": "dram"}] if cfg.buffer_words else []
    forms.append({"constants": "dram"})
    return forms + ([{"buffer": "dram", "constants": "dram"}] if cfg.buffer_words else [])


def evaluators_in_dram(cfg: InstaFrame) -> bool:
    """The evaluators' per-step constants stream in too (constants in DRAM, no SE: the SE forms
    keep theirs). A step then issues only with its constants word; the write side's hold on the
    snapshot (snap_pending) keeps a stalled evaluation exact."""
    return cfg.constants == "dram" and cfg.se is None


def constant_regions(cfg: InstaFrame, eval_bits: int) -> list[DramRegion]:
    """With constants in DRAM, the write side's mu (NF words of PE lanes) read once per input
    vector into `s_axis_mu` (none without a write side), and the evaluators' constants
    (`eval_steps` words of `eval_bits`) read once per frame into `s_axis_e` (none with an SE)."""
    if cfg.constants != "dram":
        return []
    out = []
    if cfg.has_write_side:
        mu = cfg.pe * cfg.mu_type.bits
        out.append(DramRegion("mu", mu, cfg.nf, cfg.num_vectors, f"{cfg.name}_mu.mem"))
    if evaluators_in_dram(cfg):
        out.append(DramRegion("e", eval_bits, cfg.eval_steps, 1, f"{cfg.name}_e.mem"))
    return out


def held_slack(cfg: InstaFrame, latency: int) -> int:
    """Held evaluation: the frame buffer's words beyond one frame. The input resumes
    `resume_cycles` after a frame's last word and the reader starts `latency` after it, so the
    next frame's words taken meanwhile (one per word_cycles) plus one must fit."""
    return (latency - cfg.resume_cycles) // cfg.word_cycles + 1


def check_hls_forms(cfg: InstaFrame) -> None:
    """The HLS kernels have parallel multipliers, constants on chip and a snapshot only:
    ConfigError for the shared form, for constants in DRAM, for a held evaluation and for a pinned
    memory style."""
    if cfg.constants != "chip":
        raise ConfigError(
            f"{cfg.name}: the HLS kernels keep their constants on chip; build this layer with the "
            "RTL backend, or set constants='chip' in the folding file"
        )
    if cfg.evaluation != "overlap":
        raise ConfigError(
            f"{cfg.name}: the HLS kernels evaluate from a snapshot (evaluation='overlap'); build "
            "this layer with the RTL backend, or set evaluation='overlap' in the folding file"
        )
    if cfg.multipliers != "parallel":
        raise ConfigError(
            f"{cfg.name}: the HLS kernels have no form for multipliers={cfg.multipliers!r} (the "
            "shared and serial forms are hw/lib/cube_seq.v, mul_seq.v and eval_serial.v); build "
            "this layer with the RTL backend, or set multipliers='parallel' in the folding file"
        )
    if cfg.stat_memory != "auto":
        raise ConfigError(
            f"{cfg.name}: the HLS kernels leave their memories' binding to the HLS tool "
            f"(stat_memory={cfg.stat_memory!r} is an RTL style); build this layer with the RTL "
            "backend, or set stat_memory='auto' in the folding file"
        )


def check_evaluation(cfg: InstaFrame) -> None:
    """ConfigError unless `evaluation` is one of EVALUATIONS and the held form applies: an own
    statistic (a write side), no SE and no statistic output (both read the snapshot while the
    next frame arrives), and a frame long enough that an evaluation is out of the pipeline
    before the next one starts."""
    if cfg.evaluation not in EVALUATIONS:
        raise ConfigError(f"{cfg.name}: evaluation={cfg.evaluation!r}; use one of {EVALUATIONS}")
    if cfg.evaluation != "hold":
        return
    if not cfg.has_write_side:
        raise ConfigError(
            f"{cfg.name}: evaluation='hold' reads the block's own accumulators, and the reuse form "
            "has none; use evaluation='overlap'"
        )
    if cfg.se is not None or getattr(cfg, "statistic_output", False):
        raise ConfigError(
            f"{cfg.name}: the SE and the statistic output read the snapshot while the next frame "
            "arrives, which evaluation='hold' does not keep; use evaluation='overlap'"
        )
    if (cfg.words_per_frame - 1) * cfg.word_cycles + cfg.write_stages + 1 < cfg.eval_stages:
        raise ConfigError(
            f"{cfg.name}: a frame of {cfg.words_per_frame} word(s) is shorter than the "
            f"evaluators' {cfg.eval_stages}-stage pipeline, which evaluation='hold' needs; use "
            "evaluation='overlap' or a lower PE"
        )


def check_stat_memory(cfg: InstaFrame) -> None:
    """ConfigError unless `stat_memory` is one of WRITTEN_STYLES."""
    if cfg.stat_memory not in WRITTEN_STYLES:
        raise ConfigError(
            f"{cfg.name}: stat_memory={cfg.stat_memory!r}; use one of {WRITTEN_STYLES}"
        )


def check_multipliers(cfg: InstaFrame) -> None:
    """ConfigError unless `multipliers` is a style and the shared forms' operands fit their one
    multiplier: d within 18 bits (the write side's cube, shared and serial) and the evaluator's M
    within 18 bits (shared; the serial evaluator takes any width)."""
    if cfg.multipliers not in MULTIPLIER_STYLES:
        raise ConfigError(
            f"{cfg.name}: multipliers={cfg.multipliers!r}; use one of {MULTIPLIER_STYLES}"
        )
    if cfg.multipliers == "parallel":
        return
    dev = width(-cfg.max_deviation, cfg.max_deviation, True)
    if cfg.has_write_side and dev > 18:
        raise ConfigError(
            f"{cfg.name}: {cfg.multipliers} multipliers need d = x 2^k - mu within 18 bits, here "
            f"{dev}: use multipliers='parallel', or fewer mu_frac_bits than {cfg.mu_frac_bits}"
        )
    if cfg.multipliers == "shared" and cfg.se is None and cfg.mantissa_bits > 18:
        raise ConfigError(
            f"{cfg.name}: shared multipliers need the evaluator's mantissa within 18 bits, here "
            f"{cfg.mantissa_bits}: use multipliers='parallel' or mantissa_bits <= 18"
        )


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
    dataclasses): an H x W x C frame, `pe` channels per word, one word per `word_cycles` cycles,
    and `num_evaluators` evaluators (G channels per step, a step every `eval_cycles` cycles) of
    the per-frame statistic."""

    name: str
    channels: int
    height: int
    width: int
    pe: int
    input_type: DataType
    mu_frac_bits: int
    mantissa_bits: int
    multipliers: str
    constants: str
    evaluation: str
    stat_memory: str
    se: object
    _se_macs: int | None

    @property
    def num_vectors(self) -> int:
        return self.height * self.width

    @property
    def nf(self) -> int:
        """Words per vector (channel groups of PE)."""
        return self.channels // self.pe

    @property
    def words_per_frame(self) -> int:
        return self.num_vectors * self.nf

    @property
    def cycles_per_frame(self) -> int:
        """Steady state: one word per `word_cycles` on every port, and with a held evaluation
        the cycles the input waits for it once per frame."""
        hold = self.resume_cycles - self.word_cycles if self.held else 0
        return self.words_per_frame * self.word_cycles + hold

    def frame_buffer_words(self, latency: int) -> int:
        """Frame buffer depth of an own-statistic block whose per-frame values are ready `latency`
        cycles after a frame's last word: one frame plus the words of the next that arrive
        meanwhile (one per word_cycles), so the input never waits; held, the next frame arrives
        only `resume_cycles` after the last word (`held_slack`)."""
        if self.held:
            return self.words_per_frame + held_slack(self, latency)
        return self.words_per_frame + -(-latency // self.word_cycles)

    @property
    def held(self) -> bool:
        """The input holds while the evaluators read the accumulators (no snapshot)."""
        return self.evaluation == "hold"

    @property
    def resume_cycles(self) -> int:
        """Held evaluation: cycles from accepting a frame's last word to accepting the next
        frame's first: write_stages to the last accumulation, 1 to start the evaluators, 1 to
        their first read, eval_cycles_per_frame to their last, 1 to release the input."""
        return self.write_stages + 2 + self.eval_cycles_per_frame

    @property
    def has_write_side(self) -> bool:
        """The block computes its own statistic (the write side and its frame buffer)."""
        return True

    @property
    def shared(self) -> bool:
        """The write side's cube on one multiplier (the shared and the serial styles)."""
        return self.multipliers in ("shared", "serial")

    @property
    def shared_evaluators(self) -> bool:
        """The evaluators' product is shared (mul_seq): the shared style without an SE (the SE
        forms' evaluators multiply a table value of at most 18 bits and keep their form)."""
        return self.multipliers == "shared" and self.se is None

    @property
    def serial_evaluators(self) -> bool:
        """The evaluators are hw/lib/eval_serial.v (the serial style without an SE)."""
        return self.multipliers == "serial" and self.se is None

    @property
    def serial_bits(self) -> int:
        """N of the kind's serial evaluator (`flows.hwmodel.serial.serial_bits`)."""
        raise NotImplementedError

    @property
    def square_slices(self) -> int:
        """Slices of d^2 in the shared cube (hw/lib/cube_seq.v)."""
        return mul_slices(width(0, self.max_deviation**2, True))

    @property
    def word_cycles(self) -> int:
        """Cycles per input word: 1, or with the shared cube 1 + the slices of d^2."""
        return 1 + self.square_slices if self.shared and self.has_write_side else 1

    @property
    def write_stages(self) -> int:
        """Register stages from accepting a word to its accumulator write: WRITE_STAGES, or with
        the shared cube x and mu, then hw/lib/cube_seq.v's N + 2, then 1."""
        return self.square_slices + 4 if self.shared else WRITE_STAGES

    @property
    def eval_cycles(self) -> int:
        """Cycles per evaluator step: 1, with a shared M*S the slices of S, serial N + 1."""
        if self.serial_evaluators:
            return serial_cycles(self.serial_bits)
        return mul_slices(self.acc_type.bits) if self.shared_evaluators else 1

    @property
    def eval_cycles_per_frame(self) -> int:
        """Cycles from the evaluators' first snapshot read to their last."""
        return (self.eval_steps - 1) * self.eval_cycles + 1

    @property
    def snapshot_slack(self) -> int:
        """SNAPSHOT_SLACK, plus the stages the shared cube adds (read at call time: the tests
        narrow SNAPSHOT_SLACK to show the rule is tight)."""
        return SNAPSHOT_SLACK + self.write_stages - WRITE_STAGES

    @property
    def max_deviation(self) -> int:
        """max |x 2^k - mu| with x and mu in the input range: (2^n - 1) 2^k."""
        return (self.input_type.max - self.input_type.min) << self.mu_frac_bits

    @property
    def min_evaluators(self) -> int | None:
        """Fewest evaluators G (a divisor of PE) that read the snapshot in time
        (`min_evaluators`); 1 with a held evaluation (the input waits for any G)."""
        if self.held:
            return 1
        return min_evaluators(self.channels, self.pe, self.num_vectors, self.word_cycles,
                              self.eval_cycles, self.snapshot_slack)  # fmt: skip

    @property
    def eval_steps(self) -> int:
        """Evaluator steps per frame (G channels per step)."""
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
    paced = cfg.shared_evaluators or cfg.serial_evaluators  # a step every eval_cycles
    base_issue = "e_issue" if paced else "e_run"  # when a step may issue
    return dict(
        channels=cfg.channels, height=cfg.height, width=cfg.width, hw=cfg.num_vectors,
        pe=cfg.pe, nf=cfg.nf, acc_type=cfg.acc_type.name, mu_type=mt.name,
        kfrac=cfg.mu_frac_bits, x_signed=t.signed, mu_signed=mt.signed, mu_w=cfg.pe * mt.bits,
        snw=cfg.pe * cfg.acc_type.bits, depth=depth,
        external=getattr(cfg, "buffer", "chip") == "dram",
        mu_dram=cfg.has_write_side and cfg.constants == "dram", stat_memory=cfg.stat_memory,
        slack=cfg.buffer_words - cfg.words_per_frame,
        buffer_style=buffer_style(cfg.pe * t.bits, depth), aw=clog2(depth),
        cntw=width(0, depth, False), nfw=nfw, vw=clog2(cfg.num_vectors), g=g,
        groups=cfg.pe // g, steps=cfg.eval_steps, kw=clog2(cfg.eval_steps), jw=clog2(cfg.pe // g),
        bank_depth=(2 << nfw) if cfg.nf > 1 else 2,
        bank_waddr=f"{{e_par, enf{eval_stages}}}" if cfg.nf > 1 else "e_par",
        ed=eval_stages, bank_raddr="{r_par, r_nf}" if cfg.nf > 1 else "r_par",
        shared=cfg.shared, ws=cfg.write_stages, wk=cfg.word_cycles, ne=cfg.eval_cycles,
        words=cfg.words_per_frame,
        wkw=clog2(cfg.word_cycles), new=clog2(cfg.eval_cycles),
        eshared=cfg.shared_evaluators, eserial=cfg.serial_evaluators, paced=paced,
        e_dram=evaluators_in_dram(cfg), hold=cfg.held,
        issue="e_go" if evaluators_in_dram(cfg) else base_issue,
        base_issue=base_issue,
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
