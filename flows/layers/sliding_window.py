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

Cycle model (assumption the RTL will follow): `pe` channels per word on both ports; every cycle
the generator accepts one input word and/or emits one output word, and the busier port bounds the
frame: `max(in_h*in_w, out_h*out_w*kernel^2) * channels / pe` cycles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from flows.datatypes import DataType, Kind
from flows.errors import ConfigError
from flows.layers.registry import LayerKind, check_divides, check_positive, register


@dataclass(frozen=True)
class SlidingWindow:
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

    def __post_init__(self) -> None:
        check_positive(
            self.name,
            channels=self.channels,
            in_h=self.in_h,
            in_w=self.in_w,
            kernel=self.kernel,
            stride=self.stride,
        )
        check_divides(self.name, self.channels, "PE", self.pe)
        if self.pad < 0 or self.pad >= self.kernel:
            raise ConfigError(f"{self.name}: pad must be in 0..kernel-1, got {self.pad}")
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
        check_window_fits(self.name, "window", self.in_h, self.in_w, self.kernel, self.pad)

    @property
    def out_h(self) -> int:
        return window_out(self.in_h, self.kernel, self.stride, self.pad)

    @property
    def out_w(self) -> int:
        return window_out(self.in_w, self.kernel, self.stride, self.pad)

    @property
    def num_vectors(self) -> int:
        """Input vectors (pixels) per frame."""
        return self.in_h * self.in_w

    @property
    def out_vectors(self) -> int:
        return self.out_h * self.out_w

    @property
    def out_channels(self) -> int:
        return self.kernel * self.kernel * self.channels

    @property
    def cycles_per_frame(self) -> int:
        elements = max(self.num_vectors * self.channels, self.out_vectors * self.out_channels)
        return elements // self.pe


def windows(x: np.ndarray, in_h: int, in_w: int, kernel: int, stride: int) -> np.ndarray:
    """(N, H, W, C) already padded -> (N, out_h, out_w, kernel*kernel, C), (ky, kx) row-major.

    Any dtype (the packed XnorMVAU windows uint64 words, AvgPool floats). One copy of a strided
    view: `window[n, oy, ox, ky*kernel + kx] = x[n, oy*stride + ky, ox*stride + kx]`."""
    view = sliding_window_view(x[:, :in_h, :in_w], (kernel, kernel), axis=(1, 2))
    # (N, in_h-k+1, in_w-k+1, C, ky, kx) -> every stride-th origin, taps before channels.
    view = view[:, ::stride, ::stride].transpose(0, 1, 2, 4, 5, 3)
    n, out_h, out_w = view.shape[:3]
    return view.reshape(n, out_h, out_w, kernel * kernel, x.shape[3])


def window_out(size: int, kernel: int, stride: int, pad: int = 0) -> int:
    """Output rows (or columns) of kernel-wide windows at `stride` over `size` padded by `pad`
    on both sides (ONNX ceil_mode=0); shared by SlidingWindow, MaxPool and AvgPool."""
    return (size + 2 * pad - kernel) // stride + 1


def check_window_fits(
    name: str, what: str, in_h: int, in_w: int, kernel: int, pad: int | None
) -> None:
    """ConfigError unless a kernel x kernel `what` fits the in_h x in_w map padded by `pad`
    (None: a kind without padding)."""
    if min(in_h, in_w) + 2 * (pad or 0) < kernel:
        padded = f" padded by {pad}" if pad is not None else ""
        raise ConfigError(
            f"{name}: a {kernel}x{kernel} {what} does not fit the {in_h}x{in_w} map{padded}"
        )


def check_map(name: str, x: np.ndarray, vectors: int, channels: int) -> np.ndarray:
    """The input map as int64 (integer streams) or float64 (the transient float graph, whose
    values must not be truncated), checked against (frames, vectors, channels)."""
    x = np.asarray(x)
    x = x.astype(np.int64) if np.issubdtype(x.dtype, np.integer) else x.astype(np.float64)
    if x.ndim != 3 or x.shape[1:] != (vectors, channels):
        raise ConfigError(
            f"{name}: input has shape {x.shape}, expected (frames, {vectors}, {channels})"
        )
    return x


def sliding_window_execute(cfg: SlidingWindow, params, inputs):
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


register(LayerKind("SlidingWindow", SlidingWindow, sliding_window_execute))
