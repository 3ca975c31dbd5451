"""MaxPool: per-channel maximum over kernel x kernel windows at `stride`, with optional padding.

Input `(N, in_h*in_w, channels)` in raster order, channels last (docs/numerics.md section 1); output
`(N, out_h*out_w, channels)` with `out = (in + 2*pad - kernel) // stride + 1` (ONNX `ceil_mode=0`).
Windows may overlap (kernel > stride, e.g. the ResNet stem's 3x3 stride-2 pad-1 pool).

**Padding** (numerics section 7): the map is padded by `pad` positions on every side holding the
smallest value of the element type (-1, stream bit 0, on BIPOLAR streams). ONNX pads MaxPool with
-inf; the two agree because `pad < kernel` (enforced) leaves at least one real element in every
window, and the type minimum never exceeds it. On a BIPOLAR stream the maximum of -1/+1 values is
the OR of the stream bits (1 means +1); on integer streams it is the integer maximum. The output
type is the input type.

Cycle model (the RTL, `hw/templates/max_pool.v.j2`): `pe` channels per word on both ports. The
pool scans the map one word per cycle, taking an input word at every real position, and emits
each output word as its window completes. A window that reaches into the right or bottom padding
completes at a virtual position past the map, so the scan covers `scan_h x scan_w` positions,
`scan = in + max(0, (out - 1)*stride + kernel - pad - in)` (0 to `pad` virtual rows/columns; none
for the ResNet stem or for pad 0): `scan_h * scan_w * channels / pe` cycles. Without padding this
is `in_h * in_w * channels / pe` (the input port bounds the frame).

The separable maximum of the RTL: the scan walks `(vy, vx, f)`, taking an input word at real
positions and the pad word elsewhere. Row pass: k-1 chained NF-word memories give the same
channel group 1..k-1 columns back; where a window's last column is reached, the row maximum (taps
in the left padding masked) goes on. Column pass: k-1 chained `out_w * nf`-word memories of row
maxima give the same window column 1..k-1 rows back; where a window's last row is reached the
output word is emitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType, Kind, pack_words
from flows.errors import ConfigError
from flows.hwmodel.logic import CONTROL_FF, CONTROL_LUT, scaled
from flows.hwmodel.memory import memory
from flows.hwmodel.ports import Port
from flows.hwmodel.resources import Estimate
from flows.hwmodel.structure import clog2
from flows.layers.backends import LayerRTL
from flows.layers.registry import LayerKind
from flows.layers.sliding_window import element_type, passes_type
from flows.layers.windows import Windowed, windows


@dataclass(frozen=True)
class MaxPool(Windowed):
    """kernel x kernel maximum at `stride` over an in_h x in_w map padded by `pad` (type minimum)
    on every side; `pe` channels per word."""

    name: str
    channels: int
    in_h: int
    in_w: int
    kernel: int
    stride: int
    pe: int = 1
    pad: int = 0
    input_type: DataType | None = None  # element type of the stream; the RTL emitter needs it

    def __post_init__(self) -> None:
        self.check_geometry("pool")

    def _scan(self, size: int, out: int) -> int:
        # Virtual rows/columns past the map where the last window ends (0..pad).
        return size + max(0, (out - 1) * self.stride + self.kernel - self.pad - size)

    @property
    def scan_h(self) -> int:
        """Rows the RTL scans per frame: the map plus bottom padding rows that end a window."""
        return self._scan(self.in_h, self.out_h)

    @property
    def scan_w(self) -> int:
        """Columns the RTL scans per row: the map plus right padding columns that end a window."""
        return self._scan(self.in_w, self.out_w)

    @property
    def cycles_per_frame(self) -> int:
        return self.scan_h * self.scan_w * self.channels // self.pe


def _pad_value(cfg: MaxPool, x: np.ndarray):
    """The smallest value of the element type: -inf on floats (ONNX), else the type minimum."""
    if np.issubdtype(x.dtype, np.floating):
        return -np.inf
    if cfg.input_type is not None:
        return cfg.input_type.min
    return np.iinfo(np.int64).min


def execute(cfg: MaxPool, params, inputs):
    """(N, in_h*in_w, C) -> (N, out_h*out_w, C): the maximum of each (padded) window, per channel.

    Integer or float input; the output has the input's dtype (integers computed in int64)."""
    x = np.asarray(inputs[0])
    if x.ndim != 3 or x.shape[1:] != (cfg.num_vectors, cfg.channels):
        raise ConfigError(
            f"{cfg.name}: input has shape {x.shape}, expected "
            f"(frames, {cfg.num_vectors}, {cfg.channels})"
        )
    dtype = x.dtype
    if not np.issubdtype(dtype, np.floating):
        x = x.astype(np.int64)
    n, p = x.shape[0], cfg.pad
    x = x.reshape(n, cfg.in_h, cfg.in_w, cfg.channels)
    if p:
        x = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), constant_values=_pad_value(cfg, x))
    w = windows(x, cfg.in_h + 2 * p, cfg.in_w + 2 * p, cfg.kernel, cfg.stride)
    return [w.max(axis=3).reshape(n, cfg.out_vectors, cfg.channels).astype(dtype, copy=False)]


def ports(cfg: MaxPool) -> tuple[dict[str, Port], dict[str, Port]]:
    t = element_type(cfg)
    return {"s_axis": Port(cfg.pe, t, cfg.channels, cfg.num_vectors)}, {
        "m_axis": Port(cfg.pe, t, cfg.channels, cfg.out_vectors)
    }


def buffer_words(cfg: MaxPool) -> int:
    """max(stride, kernel - pad) + 1 rows of scan_w input words."""
    return (max(cfg.stride, cfg.kernel - cfg.pad) + 1) * cfg.scan_w * (cfg.channels // cfg.pe)


def rtl(cfg: MaxPool, params: dict) -> LayerRTL:
    t = element_type(cfg)
    nf = cfg.channels // cfg.pe
    real_terms = []  # positions past the map (right/bottom padding) take the pad word
    if cfg.scan_w > cfg.in_w:
        real_terms.append(f"(vx < {clog2(max(cfg.scan_w, cfg.kernel))}'d{cfg.in_w})")
    if cfg.scan_h > cfg.in_h:
        real_terms.append(f"(vy < {clog2(max(cfg.scan_h, cfg.kernel))}'d{cfg.in_h})")
    ctx = dict(
        channels=cfg.channels,
        pe=cfg.pe,
        nf=nf,
        k=cfg.kernel,
        s=cfg.stride,
        pad=cfg.pad,
        pad_word=pack_words(t.encode([t.min] * cfg.pe), t.bits, cfg.pe)[0],
        real_terms=real_terms,
        in_h=cfg.in_h,
        in_wd=cfg.in_w,
        out_h=cfg.out_h,
        out_wd=cfg.out_w,
        scan_h=cfg.scan_h,
        scan_w=cfg.scan_w,
        first_end=cfg.kernel - 1 - cfg.pad,  # first column/row where a window ends
        signed=t.kind == Kind.INT,  # BIPOLAR: 1 bit, unsigned max = OR (1 means +1)
        fw=clog2(nf),
        vxw=clog2(max(cfg.scan_w, cfg.kernel)),
        vyw=clog2(max(cfg.scan_h, cfg.kernel)),
        cw=clog2(max(cfg.kernel - cfg.pad, cfg.stride)),
        oxw=clog2(cfg.out_w + 1),
        oyw=clog2(cfg.out_h + 1),
        aw=clog2(cfg.out_w * nf),
        paw=clog2((cfg.out_w + 1) * nf) + 1,
    )
    return LayerRTL(ctx)


def estimate(cfg: MaxPool, family: str) -> Estimate:
    """Separable maximum: k-1 delay memories of NF words (row pass) and k-1 of out_w*NF words
    (column pass), two chains of k-1 comparators per lane, scan counters. Analytic only (not yet
    fitted to a synthesis)."""
    bits = element_type(cfg).bits
    nf, taps = cfg.channels // cfg.pe, cfg.kernel - 1
    width = cfg.pe * bits
    lut_mem = bram = 0
    for depth in (nf, cfg.out_w * nf):
        luts, blocks = memory(width, depth, family)
        lut_mem, bram = lut_mem + taps * luts, bram + taps * blocks
    lut = CONTROL_LUT + 20 + scaled(2 * max(taps, 1) * width * 2, family) + lut_mem
    ff = CONTROL_FF + 20 + 2 * width + 2 * taps
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, 0)


KIND = LayerKind(
    config=MaxPool,
    execute=execute,
    output_types=passes_type,
    ports=ports,
    buffer_words=buffer_words,
    # the column pass gives an output row during the last input row of its windows only
    emit_burst_words=lambda cfg: cfg.out_w * cfg.channels // cfg.pe if cfg.stride > 1 else 0,
    template="max_pool.v.j2",
    rtl=rtl,
    estimate=estimate,
)
