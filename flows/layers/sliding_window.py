"""SlidingWindow: the convolution input generator (im2col on a stream), with padding and stride.

Input: `(N, in_h*in_w, channels)`, one vector per pixel in raster order (row-major), channels last
(docs/numerics.md section 1). Output: `(N, out_h*out_w, kernel*kernel*channels)`, one vector per
output pixel in raster order. **Element order inside an output vector is (ky, kx, c)**: element
`(ky*kernel + kx)*channels + c` is input channel `c` at row `oy*stride + ky - pad`, column
`ox*stride + kx - pad` of the padded map. The MVAU weight matrix of a convolution is therefore the
ONNX weight `(OC, IC, kh, kw)` transposed to `(OC, kh, kw, IC)` and reshaped to
`(OC, kh*kw*IC)` (`conv_weight_matrix`).

Padding inserts `pad_value`, a *semantic* value of the input type: -1 for BIPOLAR streams (stream
bit 0, numerics section 7), 0 for integer streams. A window as large as the whole (unpadded) map
with stride 1 emits the map as one vector in raster order: the stream's words unchanged, i.e. a
reshape (used for Flatten before a fully connected layer; its hardware is a pass-through).

Hardware (hw/templates/sliding_window.v.j2): `pe` channels per input word; an output word holds
`positions` consecutive window positions (in (ky, kx) order) of `pe` channels each, so
`positions > 1` needs whole pixels (`pe == channels`) and divides kernel^2 (a 7x7 stem on 3
channels at positions 7 emits a window row, 21 elements, per cycle; at 49 a whole window). Each
position of a word reads its own copy of the line buffer (`positions` copies, written together),
so one cycle reads them all. A circular
line buffer of `rows` input rows (rounded up to a power of two words), addressed by the global
index of the input word modulo its depth. The writer accepts a word while the reader's current
output row no longer needs the slot; the reader walks `(oy, ox, ky, kx, f)` (innermost last), one
word per clock, once every input row of its output row is written; a padded position emits the pad
word (all stream bits 0: -1 for BIPOLAR, 0 for integers). `rows` = k + s, or, if more, the rows
from the last window of a frame to the first window of the next, so the writer can run ahead
across frame boundaries and the frame interval is the busier port's:
`max(in_h*in_w, out_h*out_w*kernel^2) * channels / pe` cycles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType, Kind, pack_words
from flows.errors import ConfigError, FoldingError
from flows.hwmodel.logic import scaled
from flows.hwmodel.memory import unpinned_memory
from flows.hwmodel.ports import Port
from flows.hwmodel.resources import Estimate
from flows.hwmodel.structure import clog2, csd_digits
from flows.layers.backends import LayerRTL
from flows.layers.checks import check_divides
from flows.layers.registry import ALL, OUTPUTS, Fold, LayerKind
from flows.layers.windows import Windowed, check_map, windows


@dataclass(frozen=True)
class SlidingWindow(Windowed):
    """kernel x kernel windows at `stride` over an in_h x in_w map padded by `pad` on every side."""

    name: str
    channels: int
    in_h: int
    in_w: int
    kernel: int
    stride: int = 1
    pad: int = 0
    pad_value: int = 0
    pe: int = 1
    input_type: DataType | None = None  # element type of the stream; the RTL emitter needs it
    positions: int = 1  # window positions per output word (module docstring)

    def __post_init__(self) -> None:
        self.check_geometry("window")
        check_divides(self.name + " (window positions)", self.kernel_area, "positions",
                      self.positions)  # fmt: skip
        if self.positions > 1 and self.pe != self.channels:
            raise FoldingError(
                f"{self.name}: positions={self.positions} emits whole pixels, so PE must be the "
                f"{self.channels} channels (got {self.pe}); use positions=1 to fold channels"
            )
        if self.pad_value not in (-1, 0):
            raise ConfigError(
                f"{self.name}: pad_value must be -1 (BIPOLAR input) or 0 (integer input), "
                f"got {self.pad_value}"
            )
        if self.input_type is not None and self.pad:
            want = -1 if self.input_type.kind == Kind.BIPOLAR else 0
            if self.pad_value != want:
                raise ConfigError(
                    f"{self.name}: a {self.input_type} stream pads with {want}, "
                    f"got pad_value={self.pad_value}"
                )

    @property
    def out_channels(self) -> int:
        return self.kernel * self.kernel * self.channels

    @property
    def kernel_area(self) -> int:
        return self.kernel * self.kernel

    @property
    def out_lanes(self) -> int:
        """Elements per output word: `positions` positions of `pe` channels."""
        return self.pe * self.positions

    @property
    def cycles_per_frame(self) -> int:
        return max(
            self.num_vectors * self.channels // self.pe,
            self.out_vectors * self.out_channels // self.out_lanes,
        )


def execute(cfg: SlidingWindow, params, inputs):
    """(N, in_h*in_w, C) -> (N, out_h*out_w, kernel*kernel*C), vector order (ky, kx, c)."""
    x = check_map(cfg.name, inputs[0], cfg.num_vectors, cfg.channels)
    n = x.shape[0]
    x = x.reshape(n, cfg.in_h, cfg.in_w, cfg.channels)
    p = cfg.pad
    x = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), constant_values=cfg.pad_value)
    w = windows(x, cfg.in_h + 2 * p, cfg.in_w + 2 * p, cfg.kernel, cfg.stride)
    return [w.reshape(n, cfg.out_vectors, cfg.out_channels)]


def conv_weight_matrix(w: np.ndarray) -> np.ndarray:
    """ONNX conv weights (OC, IC, kh, kw) -> MVAU matrix (OC, kh*kw*IC) in (ky, kx, c) order."""
    w = np.asarray(w)
    return w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1)


def element_type(cfg) -> DataType:
    """The stream's element type of a window or pool config; the RTL and the estimator need it
    (the flow sets it: FillInputTypes; the estimator fills it from the input stream)."""
    if cfg.input_type is None:
        raise ConfigError(f"{cfg.name}: input_type is not set; the RTL needs the stream's type")
    return cfg.input_type


def ports(cfg: SlidingWindow) -> tuple[dict[str, Port], dict[str, Port]]:
    t = element_type(cfg)
    return {"s_axis": Port(cfg.pe, t, cfg.channels, cfg.num_vectors)}, {
        "m_axis": Port(cfg.out_lanes, t, cfg.out_channels, cfg.out_vectors)
    }


def passes_type(cfg, input_types: list) -> list:
    """Data movement: the input's element type passes through."""
    return [input_types[0]]


def line_buffer(cfg: SlidingWindow) -> tuple[int, int]:
    """(rows, words) of the circular line buffer: the k rows of a window plus s being written,
    and at a frame's end the rest of the frame from the last window's first row plus the first
    window of the next frame; words rounded up to a power of two."""
    nf = cfg.channels // cfg.pe
    rows = min(
        cfg.in_h + cfg.kernel,
        max(cfg.kernel + cfg.stride, cfg.in_h - (cfg.out_h - 1) * cfg.stride + cfg.kernel),
    )
    return rows, 1 << max(1, (rows * cfg.in_w * nf - 1).bit_length())


def buffer_words(cfg: SlidingWindow) -> int:
    """Input words taken in before the output catches up: the line buffer, or (k + 1) rows of
    the padded input if more."""
    nf = cfg.channels // cfg.pe
    return max(line_buffer(cfg)[1], (cfg.kernel + 1) * (cfg.in_w + 2 * cfg.pad) * nf)


def address_bits(cfg: SlidingWindow) -> int:
    """Bits of the window's global word indices (`gw` in the template): the writer's count, the
    frame base and the read address, modulo 4 x (a frame bank + the line buffer)."""
    nw = cfg.in_h * cfg.in_w * (cfg.channels // cfg.pe)
    return (4 * (nw + line_buffer(cfg)[1])).bit_length() + 1


def rtl(cfg: SlidingWindow, params: dict) -> LayerRTL:
    t = element_type(cfg)
    nf = cfg.channels // cfg.pe
    nw = cfg.in_h * cfg.in_w * nf  # words of one frame bank
    big = max(2 * nw, (cfg.in_h + cfg.kernel) * cfg.in_w * nf + (cfg.in_w + cfg.kernel) * nf)
    rows, depth = line_buffer(cfg)
    gw = address_bits(cfg)
    big = max(big, 1 << gw)
    pad_word = pack_words(t.encode([cfg.pad_value] * cfg.pe), t.bits, cfg.pe)[0]
    steps = cfg.kernel_area // cfg.positions  # output words per window (positions > 1)
    # (ky, kx) of position j of window word t: divmod(t * positions + j, kernel)
    taps = [
        [divmod(t_ * cfg.positions + j, cfg.kernel) for j in range(cfg.positions)]
        for t_ in range(steps)
    ]
    ctx = dict(
        channels=cfg.channels,
        pe=cfg.pe,
        nf=nf,
        k=cfg.kernel,
        s=cfg.stride,
        pad=cfg.pad,
        pad_value=cfg.pad_value,
        pad_word=pad_word,
        in_h=cfg.in_h,
        in_wd=cfg.in_w,
        out_h=cfg.out_h,
        out_wd=cfg.out_w,
        nw=nw,
        row=cfg.in_w * nf,
        rows=rows,
        depth=depth,
        db=depth.bit_length() - 1,
        gw=gw,
        sw=big.bit_length() + 2,  # signed width of the window arithmetic
        fw=clog2(nf),
        kw=clog2(cfg.kernel),
        oxw=clog2(cfg.out_w),
        oyw=clog2(cfg.out_h),
        out_vectors=cfg.out_vectors,
        positions=cfg.positions,
        steps=steps,
        tw=clog2(steps),
        taps=taps,
        pw=max(1, cfg.pe * t.bits),
    )
    return LayerRTL(ctx)


# The address logic (hw/templates/sliding_window.v.j2: the global indices g, lo_g, hi_g, their
# distances to the writer's count, the writer's count and frame base, the pad compares) is adders
# of `address_bits` bits, plus one more of them for each extra canonical-signed digit of the
# products by constants (`cmul`: by the row's words twice, by the words per pixel once). LUTs =
# ADDRESS_LUT + ADDRESS_LUT_PER_BIT * gw + ADDRESS_LUT_PER_DIGIT_BIT * gw * extra digits, fitted
# on six windows of Yosys 0.70 synth_ecp5 -noiopad (insta_resnet18's 56x56x64 and 7x7x512 at
# stride 1 and 28x28x128 at stride 2, resnet20's 32x32x16, cnv's 30x30x64 at PE 4, a digits 8x8x1)
# and held out on eight (the other ResNet-18 windows and its 7x7 stem, cnv's first, a stride-2
# 16x16x32 at PE 2, 56x56x64 at PE 4): LUT median error 6 %, worst 28 % (cnv's 32x32x3 UINT8
# window, over), FF 4 % and 13 % (`make bench-window`; docs/hardware.md, SlidingWindow).
ADDRESS_LUT, ADDRESS_LUT_PER_BIT, ADDRESS_LUT_PER_DIGIT_BIT = 35.4, 10.4, 2.4
# Registers: the writer's count, the frame base and the read pipeline's address, about three of
# `address_bits` each, the (oy, ox, ky, kx, f) counters and handshake in the constant, and the
# output word; fitted on the same six windows.
ADDRESS_FF, ADDRESS_FF_PER_BIT = 12, 3


def address_luts(cfg: SlidingWindow) -> float:
    """ECP5 LUTs of the window's address logic (ADDRESS_LUT*)."""
    nf = cfg.channels // cfg.pe
    extra = 2 * (len(csd_digits(cfg.in_w * nf)) - 1) + len(csd_digits(nf)) - 1
    gw = address_bits(cfg)
    return ADDRESS_LUT + ADDRESS_LUT_PER_BIT * gw + ADDRESS_LUT_PER_DIGIT_BIT * gw * extra


def estimate(cfg: SlidingWindow, family: str) -> Estimate:
    """The line buffer (`line_buffer`'s words, element width from the input type) where Yosys
    maps it (`unpinned_memory`); the address logic fitted
    (`address_luts`, the whole window's logic at one position per word)."""
    bits = element_type(cfg).bits
    lut_mem, bram, lutram = unpinned_memory(cfg.pe * bits, line_buffer(cfg)[1], family)
    p = cfg.positions  # one line-buffer copy and one address path per position
    # one position: the fit covers the output word too; more: a copy and an address path each
    lut = scaled(address_luts(cfg) + (p * (cfg.pe * bits * 2 + 40) if p > 1 else 0), family)
    ff = ADDRESS_FF + ADDRESS_FF_PER_BIT * address_bits(cfg) + 2 * p * cfg.pe * bits
    return Estimate(cfg.cycles_per_frame, lut + p * lut_mem, ff, p * bram, 0, lutram=p * lutram)


KIND = LayerKind(
    config=SlidingWindow,
    execute=execute,
    output_types=passes_type,
    ports=ports,
    folds={"pe": Fold(ALL), "positions": Fold(OUTPUTS, "kernel_area")},
    buffer_words=buffer_words,
    template="sliding_window.v.j2",
    rtl=rtl,
    estimate=estimate,
)
