"""AvgPool and GlobalAvgPool: average pools that keep sums (docs/numerics.md section 6).

The 1/k^2 (or 1/(H*W)) of the average is not applied: it folds into the next layer's scale, so the
pool is exact. `AvgPool` sums kernel x kernel windows at `stride` (no padding, ONNX ceil_mode=0);
`GlobalAvgPool` sums the whole H x W map into one vector per frame. Both accept float values too
(the transient float graph runs them before the streams become integers).
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.datatypes import DataType
from flows.hwmodel.ranges import smallest_type
from flows.layers.registry import LayerKind, check_divides, check_positive, register
from flows.layers.sliding_window import check_map, check_window_fits, window_out, windows


def _sum_type(t: DataType | None, n: int) -> DataType | None:
    return None if t is None else smallest_type(n * t.min, n * t.max)


@dataclass(frozen=True)
class AvgPool:
    """Sum of kernel x kernel windows at `stride` over an in_h x in_w map; `pe` channels/word."""

    name: str
    channels: int
    in_h: int
    in_w: int
    kernel: int
    stride: int
    pe: int = 1
    input_type: DataType | None = None

    def __post_init__(self) -> None:
        check_positive(
            self.name, channels=self.channels, in_h=self.in_h, in_w=self.in_w,
            kernel=self.kernel, stride=self.stride,
        )  # fmt: skip
        check_divides(self.name, self.channels, "PE", self.pe)
        check_window_fits(self.name, "pool", self.in_h, self.in_w, self.kernel, None)

    @property
    def out_h(self) -> int:
        return window_out(self.in_h, self.kernel, self.stride)

    @property
    def out_w(self) -> int:
        return window_out(self.in_w, self.kernel, self.stride)

    @property
    def num_vectors(self) -> int:
        return self.in_h * self.in_w

    @property
    def out_vectors(self) -> int:
        return self.out_h * self.out_w

    @property
    def output_type(self) -> DataType | None:
        return _sum_type(self.input_type, self.kernel * self.kernel)

    @property
    def cycles_per_frame(self) -> int:
        return max(self.num_vectors, self.out_vectors) * self.channels // self.pe


@dataclass(frozen=True)
class GlobalAvgPool:
    """Sum over the whole height x width map per channel; `pe` channels per word."""

    name: str
    channels: int
    height: int
    width: int
    pe: int = 1
    input_type: DataType | None = None

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, height=self.height, width=self.width)
        check_divides(self.name, self.channels, "PE", self.pe)

    @property
    def num_vectors(self) -> int:
        return self.height * self.width

    @property
    def out_vectors(self) -> int:
        """One vector per frame (the streams' and benches' `out_vectors` convention)."""
        return 1

    @property
    def output_type(self) -> DataType | None:
        return _sum_type(self.input_type, self.num_vectors)

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.channels // self.pe


def avg_pool_execute(cfg: AvgPool, params, inputs):
    """(N, in_h*in_w, C) -> (N, out_h*out_w, C): the sum of each window, per channel."""
    x = check_map(cfg.name, inputs[0], cfg.num_vectors, cfg.channels)
    n = x.shape[0]
    w = windows(x.reshape(n, cfg.in_h, cfg.in_w, cfg.channels), cfg.in_h, cfg.in_w, cfg.kernel,
                cfg.stride)  # fmt: skip
    return [w.sum(axis=3).reshape(n, cfg.out_vectors, cfg.channels)]


def global_avg_pool_execute(cfg: GlobalAvgPool, params, inputs):
    """(N, H*W, C) -> (N, 1, C): the sum over the map, per channel."""
    x = check_map(cfg.name, inputs[0], cfg.num_vectors, cfg.channels)
    return [x.sum(axis=1, keepdims=True)]


register(LayerKind("AvgPool", AvgPool, avg_pool_execute))
register(LayerKind("GlobalAvgPool", GlobalAvgPool, global_avg_pool_execute))
