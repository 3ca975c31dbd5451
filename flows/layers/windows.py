"""Windows over a map, shared by SlidingWindow, MaxPool and AvgPool: the strided window view, the
output size (ONNX ceil_mode=0), the fits check and the input-map check."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from flows.errors import ConfigError


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
