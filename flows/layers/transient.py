"""Transient float kinds: what the QONNX import produces before streamlining removes it.

They exist so that every streamlining step is a graph-to-graph rewrite that can be executed before
and after. None has hardware (no ports in its record); a graph that still holds one cannot be built
(flows.graph checks).
Arithmetic is float64 on semantic values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import BIPOLAR, DataType
from flows.errors import ConfigError
from flows.hwmodel.ranges import dot_range, smallest_type
from flows.layers.checks import check_positive
from flows.layers.registry import LayerKind


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


@dataclass(frozen=True)
class Requant:
    """A QONNX activation `Quant` split at import: q = clamp(rne(x / scale)) onto `output_type`.

    The integer q is followed in the graph by a FloatAffine(mul=scale) that restores the real
    value; streamlining folds that scale into the consumers and this node into an integer layer.
    """

    name: str
    channels: int
    scale: float
    output_type: DataType
    num_vectors: int = 1


@dataclass(frozen=True)
class FloatAdd:
    """Element-wise sum of two real streams (a residual add before lowering)."""

    name: str
    channels: int
    num_vectors: int = 1


@dataclass(frozen=True)
class FloatPReLU:
    """PReLU with a per-channel slope: x where x >= 0, else slope * x."""

    name: str
    channels: int
    num_vectors: int = 1


@dataclass(frozen=True)
class FloatInsta:
    """An INSTA custom op (`module` "threshold" or "prelu") on an H x W x C map, float32 as
    `flows.custom_ops.insta_reference`. Threshold outputs: [y, m3 (1 x C)]; a reuse-form PReLU
    has m3 as its second input. Parameters are the op's named inputs (mu, sigma, beta, alpha,
    ...)."""

    name: str
    module: str
    form: str
    channels: int
    height: int
    width: int

    @property
    def num_vectors(self) -> int:
        return self.height * self.width

    @property
    def output_types(self) -> tuple:
        return (BIPOLAR, None) if self.module == "threshold" else (None,)


def requant_execute(cfg: Requant, params, inputs):
    x = np.asarray(inputs[0], dtype=np.float64) / cfg.scale
    t = cfg.output_type
    return [np.clip(np.round(x), t.min, t.max).astype(np.int64)]


def float_add_execute(cfg: FloatAdd, params, inputs):
    return [np.asarray(inputs[0], np.float64) + np.asarray(inputs[1], np.float64)]


def float_prelu_execute(cfg: FloatPReLU, params, inputs):
    x = np.asarray(inputs[0], np.float64)
    return [np.where(x >= 0, x, x * np.asarray(params["slope"], np.float64))]


def _nchw(cfg: FloatInsta, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(x.shape[0], cfg.height, cfg.width, cfg.channels).transpose(0, 3, 1, 2)


def _stream(y: np.ndarray) -> np.ndarray:
    n, c, h, w = y.shape
    return y.transpose(0, 2, 3, 1).reshape(n, h * w, c)


def float_insta_execute(cfg: FloatInsta, params, inputs):
    from flows.custom_ops import insta_reference

    p = {k: np.asarray(v) for k, v in params.items()}
    se = tuple(p[k] for k in ("w1", "s1", "w2", "s2")) if cfg.form == "se" else None
    x = _nchw(cfg, inputs[0])
    if cfg.module == "threshold":
        alpha = p.get("alpha")
        y, m3 = insta_reference.insta_threshold(
            x, p["mu"], p["sigma"], p["beta"], alpha=alpha, se=se
        )
        return [_stream(y).astype(np.int64), m3.astype(np.float64)[:, None, :]]
    kw = {"se": se} if se is not None else {}
    if cfg.form == "reuse":
        m3 = np.asarray(inputs[1], np.float64).reshape(x.shape[0], -1)
        kw.update(m3=m3, p=p["p"], q=p["q"])
    else:
        kw.update(mu=p["mu"], sigma=p["sigma"])
        if cfg.form == "alpha":
            kw["a"] = p["a"]
    return [_stream(insta_reference.insta_prelu(x, p["slope"], p["zeta"], **kw)).astype(np.float64)]


def _real(cfg, input_types: list) -> list:
    return [None]


def _bipolar(cfg, input_types: list) -> list:
    return [BIPOLAR]


def _matmul_type(cfg: MatMul, input_types: list) -> list:
    """Integer weights on an integer stream: the exact dot product's type; else real."""
    xt = input_types[0]
    if cfg.weight_type is None or xt is None:
        return [None]
    return [smallest_type(*dot_range(xt, cfg.weight_type, cfg.mw))]


KINDS = (
    LayerKind(MatMul, matmul_execute, output_types=_matmul_type),
    LayerKind(FloatAffine, float_affine_execute, output_types=_real),
    LayerKind(Sign, sign_execute, output_types=_bipolar),
    LayerKind(Requant, requant_execute),
    LayerKind(FloatAdd, float_add_execute, output_types=_real),
    LayerKind(FloatPReLU, float_prelu_execute, output_types=_real),
    LayerKind(FloatInsta, float_insta_execute),
)
