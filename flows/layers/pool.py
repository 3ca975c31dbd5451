"""MaxPool: per-channel maximum over kernel x kernel windows at `stride` (no padding).

Input `(N, in_h*in_w, channels)` in raster order, channels last (docs/numerics.md section 1); output
`(N, out_h*out_w, channels)` with `out = (in - kernel) // stride + 1` (ONNX `ceil_mode=0`). On a
BIPOLAR stream the maximum of -1/+1 values is the OR of the stream bits (1 means +1); on integer
streams it is the integer maximum. The output type is the input type.

Cycle model (assumption the RTL will follow): `pe` channels per word on both ports; the pool
accepts one input word per cycle and emits each output word as its window completes, so the input
port bounds the frame: `max(in_h*in_w, out_h*out_w) * channels / pe` cycles.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.datatypes import DataType
from flows.errors import ConfigError
from flows.layers.registry import LayerKind, check_divides, check_positive, register
from flows.layers.sliding_window import check_map, windows


@dataclass(frozen=True)
class MaxPool:
    """kernel x kernel maximum at `stride` over an in_h x in_w map; `pe` channels per word."""

    name: str
    channels: int
    in_h: int
    in_w: int
    kernel: int
    stride: int
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
        if min(self.in_h, self.in_w) < self.kernel:
            raise ConfigError(
                f"{self.name}: a {self.kernel}x{self.kernel} pool does not fit the "
                f"{self.in_h}x{self.in_w} map"
            )

    @property
    def out_h(self) -> int:
        return (self.in_h - self.kernel) // self.stride + 1

    @property
    def out_w(self) -> int:
        return (self.in_w - self.kernel) // self.stride + 1

    @property
    def num_vectors(self) -> int:
        """Input vectors (pixels) per frame."""
        return self.in_h * self.in_w

    @property
    def out_vectors(self) -> int:
        return self.out_h * self.out_w

    @property
    def cycles_per_frame(self) -> int:
        return max(self.num_vectors, self.out_vectors) * self.channels // self.pe


def max_pool_execute(cfg: MaxPool, params, inputs):
    """(N, in_h*in_w, C) -> (N, out_h*out_w, C): the maximum of each window, per channel."""
    x = check_map(cfg.name, inputs[0], cfg.num_vectors, cfg.channels)
    n = x.shape[0]
    w = windows(x.reshape(n, cfg.in_h, cfg.in_w, cfg.channels), cfg.in_h, cfg.in_w, cfg.kernel,
                cfg.stride)  # fmt: skip
    return [w.max(axis=3).reshape(n, cfg.out_vectors, cfg.channels)]


register(LayerKind("MaxPool", MaxPool, max_pool_execute))
