"""Windows over a map, shared by SlidingWindow, MaxPool and AvgPool: the strided window view, the
output size (ONNX ceil_mode=0), the geometry of a window config (`Windowed`) and the input-map
check."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from flows.errors import ConfigError
from flows.layers.checks import check_divides, check_positive


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


class Windowed:
    """The geometry of a window config (a mixin of the SlidingWindow, MaxPool and AvgPool
    dataclasses): kernel x kernel windows at `stride` over an in_h x in_w map of `channels`,
    `pe` per word, padded by `pad` on every side (a kind without a `pad` field does not pad)."""

    name: str
    channels: int
    in_h: int
    in_w: int
    kernel: int
    stride: int
    pe: int

    @property
    def padding(self) -> int:
        return getattr(self, "pad", 0)

    def check_geometry(self, what: str) -> None:
        """ConfigError unless the sizes are positive, PE divides the channels, the padding
        leaves a real element in every window and a `what` fits the padded map."""
        check_positive(self.name, channels=self.channels, in_h=self.in_h, in_w=self.in_w,
                       kernel=self.kernel, stride=self.stride)  # fmt: skip
        check_divides(self.name, self.channels, "PE", self.pe)
        pad = self.padding
        if not 0 <= pad < self.kernel:
            raise ConfigError(
                f"{self.name}: pad must be in 0..kernel-1 = 0..{self.kernel - 1} (every window "
                f"needs a real element), got {pad}"
            )
        if min(self.in_h, self.in_w) + 2 * pad < self.kernel:
            padded = f" padded by {pad}" if hasattr(self, "pad") else ""
            raise ConfigError(
                f"{self.name}: a {self.kernel}x{self.kernel} {what} does not fit the "
                f"{self.in_h}x{self.in_w} map{padded}"
            )

    @property
    def out_h(self) -> int:
        return window_out(self.in_h, self.kernel, self.stride, self.padding)

    @property
    def out_w(self) -> int:
        return window_out(self.in_w, self.kernel, self.stride, self.padding)

    @property
    def num_vectors(self) -> int:
        """Input vectors (pixels) per frame."""
        return self.in_h * self.in_w

    @property
    def out_vectors(self) -> int:
        return self.out_h * self.out_w


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
