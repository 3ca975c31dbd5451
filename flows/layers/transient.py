"""Transient float kinds: what the QONNX import produces before streamlining removes it.

They exist so that every streamlining step is a graph-to-graph rewrite that can be executed before
and after. None has hardware; a graph that still holds one cannot be built (flows.graph checks).
Arithmetic is float64 on semantic values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType
from flows.errors import ConfigError
from flows.layers.registry import LayerKind, check_positive, register


@dataclass(frozen=True)
class MatMul:
    """y = x @ W.T with W (mh x mw) real; `weight_type` is set once W is known to be integer."""

    name: str
    mw: int
    mh: int
    weight_type: DataType | None = None
    num_vectors: int = 1

    def __post_init__(self) -> None:
        check_positive(self.name, mw=self.mw, mh=self.mh, num_vectors=self.num_vectors)


@dataclass(frozen=True)
class FloatAffine:
    """y = x * mul[c] + add[c] with real per-channel mul and add."""

    name: str
    channels: int
    num_vectors: int = 1

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, num_vectors=self.num_vectors)


@dataclass(frozen=True)
class Sign:
    """Bipolar activation: +1 where x >= 0, else -1 (sign(0) = +1, as Brevitas and QONNX)."""

    name: str
    channels: int
    num_vectors: int = 1


def matmul_execute(cfg: MatMul, params, inputs):
    w = np.asarray(params["weights"], dtype=np.float64)
    if w.shape != (cfg.mh, cfg.mw):
        raise ConfigError(f"{cfg.name}: weights have shape {w.shape}, expected {(cfg.mh, cfg.mw)}")
    return [np.asarray(inputs[0], dtype=np.float64) @ w.T]


def float_affine_execute(cfg: FloatAffine, params, inputs):
    x = np.asarray(inputs[0], dtype=np.float64)
    return [x * np.asarray(params["mul"], np.float64) + np.asarray(params["add"], np.float64)]


def sign_execute(cfg: Sign, params, inputs):
    return [np.where(np.asarray(inputs[0]) >= 0, 1, -1).astype(np.int64)]


register(LayerKind("MatMul", MatMul, matmul_execute, hardware=False))
register(LayerKind("FloatAffine", FloatAffine, float_affine_execute, hardware=False))
register(LayerKind("Sign", Sign, sign_execute, hardware=False))
