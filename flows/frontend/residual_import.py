"""Import of residual / INSTA graph ops (hooks of qonnx_import): activation Quant, Add of two
streams, Sub, PRelu, AveragePool, GlobalAveragePool and the INSTA custom ops.

* An activation `Quant` (per-tensor power-of-two or any positive scale, zero point 0, not narrow)
  becomes a transient `Requant` (q = clamp(rne(x/s)), integer) followed by `FloatAffine(mul=s)`,
  so the real value is unchanged and streamlining can move `s` into the consumers.
* `Add` of two streams becomes `FloatAdd`; whether both inputs share one scale is checked when it
  is lowered to `AddStreams` (docs/numerics.md section 6).
* `Sub` by a constant is a `FloatAffine` (add -c); `PRelu` is `FloatPReLU` (per-channel slope).
* `AveragePool` (square, no padding) is `AvgPool` (sums) + `FloatAffine(1/k^2)`;
  `GlobalAveragePool` is `GlobalAvgPool` (sums) + `FloatAffine(1/(H*W))` (numerics section 6).
* `InstaThreshold` / `InstaPReLU` (domain `flows.custom_ops`) become `FloatInsta` with their
  named parameters; the threshold's second output (m3, shape (1, C)) is a one-vector stream.
"""

from __future__ import annotations

import numpy as np
import onnx

from flows.custom_ops import PRELU_INPUTS, THRESHOLD_INPUTS
from flows.datatypes import INT, UINT
from flows.errors import NumericContractError, UnsupportedPatternError
from flows.graph import Stream
from flows.layers import (
    AvgPool,
    FloatAdd,
    FloatAffine,
    FloatInsta,
    FloatPReLU,
    GlobalAvgPool,
    Requant,
)


def _attrs(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _affine(imp, name: str, src: str, out: Stream, mul, add) -> None:
    vectors, channels = out.shape
    mul = np.broadcast_to(np.asarray(mul, np.float64).reshape(-1), (channels,)).copy()
    add = np.broadcast_to(np.asarray(add, np.float64).reshape(-1), (channels,)).copy()
    cfg = FloatAffine(name=imp.graph.unique_name(name), channels=channels, num_vectors=vectors)
    imp.graph.add(cfg, [src], [out], mul=mul, add=add)


def activation_quant(imp, node) -> None:
    """Quant on a stream -> Requant (integer q) -> FloatAffine(mul=scale)."""
    name = node.name or "Quant"
    scale, zp, bits = (imp.const(i) for i in node.input[1:4])
    if scale is None or zp is None or bits is None:
        raise UnsupportedPatternError(f"{name}: scale, zero point and bit width must be constant")
    scale = np.asarray(scale, np.float64).ravel()
    attrs = _attrs(node)
    if scale.size != 1 or not scale[0] > 0:
        raise NumericContractError(
            f"{name}: activation quantiser has scale {scale[:4]}; a single positive "
            "(per-tensor) scale is required (docs/numerics.md section 6)"
        )
    if np.any(np.asarray(zp) != 0):
        raise NumericContractError(f"{name}: activation zero point must be 0 (numerics section 6)")
    if int(attrs.get("narrow", 0)):
        raise NumericContractError(
            f"{name}: narrow-range activation quantisers are not supported; use the full range"
        )
    rounding = attrs.get("rounding_mode", b"ROUND")
    rounding = rounding.decode() if isinstance(rounding, bytes) else rounding
    if rounding != "ROUND":
        raise NumericContractError(
            f"{name}: rounding mode {rounding}; requantisation is round-half-to-even (ROUND)"
        )
    n = int(np.asarray(bits).ravel()[0])
    dtype = INT(n) if int(attrs.get("signed", 1)) else UINT(n)
    vectors, channels = imp.shape(node.output[0])
    cfg = Requant(
        name=imp.graph.unique_name(name), channels=channels, scale=float(scale[0]),
        output_type=dtype, num_vectors=vectors,
    )  # fmt: skip
    mid = Stream(imp.graph.unique_name(name + "_int"), None, (vectors, channels))
    imp.graph.add(cfg, [imp.src(node.input[0])], [mid])
    out = Stream(node.output[0], None, (vectors, channels))
    _affine(imp, name + "_scale", mid.name, out, scale[0], 0.0)


def add_or_sub(base):
    """Add/Sub: two streams -> FloatAdd (Add only); a stream and a constant -> FloatAffine."""

    def handler(imp, node) -> None:
        a, b = node.input
        if imp.const(a) is None and imp.const(b) is None:
            if node.op_type != "Add":
                raise UnsupportedPatternError(
                    f"{node.name}: {node.op_type} of two streams is not supported (only Add)"
                )
            vectors, channels = imp.shape(node.output[0])
            for t in (a, b):
                if imp.shape(t) != (vectors, channels):
                    raise UnsupportedPatternError(
                        f"{node.name}: Add inputs {a!r} {imp.shape(a)} and {b!r} {imp.shape(b)} "
                        "have different shapes (broadcasting streams is not supported)"
                    )
            cfg = FloatAdd(name=imp.graph.unique_name(node.name or "Add"), channels=channels,
                           num_vectors=vectors)  # fmt: skip
            imp.graph.add(
                cfg, [imp.src(a), imp.src(b)], [Stream(node.output[0], None, (vectors, channels))]
            )
            return
        if node.op_type == "Sub":
            c = imp.const(b)
            if c is None:
                raise UnsupportedPatternError(f"{node.name}: Sub of a constant minus a stream")
            out = Stream(node.output[0], None, imp.shape(node.output[0]))
            _affine(imp, node.name or "Sub", imp.src(a), out, 1.0, -np.asarray(c, np.float64))
            return
        if imp.const(a) is not None:  # c + x: the same affine
            node = onnx.helper.make_node("Add", [b, a], list(node.output), name=node.name)
        base(imp, node)

    return handler


def prelu(imp, node) -> None:
    slope = imp.const(node.input[1])
    if slope is None:
        raise UnsupportedPatternError(f"{node.name}: PRelu slope must be a constant")
    vectors, channels = imp.shape(node.output[0])
    slope = np.broadcast_to(np.asarray(slope, np.float64).reshape(-1), (channels,)).copy()
    cfg = FloatPReLU(name=imp.graph.unique_name(node.name or "PRelu"), channels=channels,
                     num_vectors=vectors)  # fmt: skip
    imp.add(cfg, node, node.input[0], slope=slope)


def _nchw(imp, tensor: str):
    imp.shape(tensor)
    return tuple(int(d) for d in imp.m.get_tensor_shape(tensor)[1:])


def average_pool(imp, node) -> None:
    name = node.name or "AveragePool"
    attrs = _attrs(node)
    k = [int(v) for v in attrs["kernel_shape"]]
    s = [int(v) for v in attrs.get("strides", [1, 1])]
    if int(attrs.get("ceil_mode", 0)) or any(int(p) for p in attrs.get("pads", [])):
        raise UnsupportedPatternError(f"{name}: AveragePool with padding or ceil_mode")
    if len(set(k)) != 1 or len(set(s)) != 1:
        raise UnsupportedPatternError(f"{name}: only square kernels and equal strides")
    c, h, w = _nchw(imp, node.input[0])
    cfg = AvgPool(name=imp.graph.unique_name(name), channels=c, in_h=h, in_w=w, kernel=k[0],
                  stride=s[0])  # fmt: skip
    mid = Stream(imp.graph.unique_name(name + "_sum"), None, (cfg.out_vectors, c))
    imp.graph.add(cfg, [imp.src(node.input[0])], [mid])
    out = Stream(node.output[0], None, imp.shape(node.output[0]))
    _affine(imp, name + "_scale", mid.name, out, 1.0 / (k[0] * k[0]), 0.0)


def global_average_pool(imp, node) -> None:
    name = node.name or "GlobalAveragePool"
    c, h, w = _nchw(imp, node.input[0])
    cfg = GlobalAvgPool(name=imp.graph.unique_name(name), channels=c, height=h, width=w)
    mid = Stream(imp.graph.unique_name(name + "_sum"), None, (1, c))
    imp.graph.add(cfg, [imp.src(node.input[0])], [mid])
    out = Stream(node.output[0], None, imp.shape(node.output[0]))
    _affine(imp, name + "_scale", mid.name, out, 1.0 / (h * w), 0.0)


def insta(imp, node) -> None:
    """InstaThreshold / InstaPReLU custom op -> FloatInsta with named float parameters."""
    module = "threshold" if node.op_type == "InstaThreshold" else "prelu"
    form = _attrs(node).get("form", b"alpha")
    form = form.decode() if isinstance(form, bytes) else form
    roles = (THRESHOLD_INPUTS if module == "threshold" else PRELU_INPUTS).get(form)
    if roles is None or len(roles) != len(node.input):
        raise UnsupportedPatternError(
            f"{node.name}: {node.op_type} form {form!r} with {len(node.input)} inputs is not a "
            "known INSTA op signature (flows.custom_ops)"
        )
    c, h, w = _nchw(imp, node.input[0])
    params, streams = {}, [imp.src(node.input[0])]
    for role, tensor in zip(roles[1:], node.input[1:], strict=True):
        if role == "m3":
            streams.append(imp.src(tensor))
            continue
        v = imp.const(tensor)
        if v is None:
            raise UnsupportedPatternError(f"{node.name}: parameter {role} must be a constant")
        params[role] = np.asarray(v, np.float64)
    cfg = FloatInsta(name=imp.graph.unique_name(node.name or node.op_type), module=module,
                     form=form, channels=c, height=h, width=w)  # fmt: skip
    outs = [Stream(node.output[0], None, (h * w, c))]
    if module == "threshold" and len(node.output) > 1:
        outs.append(Stream(node.output[1], None, (1, c)))
    imp.graph.add(cfg, streams, outs, **params)


def residual_importers(base: dict) -> dict:
    return {
        "Add": add_or_sub(base["Add"]),
        "Sub": add_or_sub(base["Add"]),
        "PRelu": prelu,
        "AveragePool": average_pool,
        "GlobalAveragePool": global_average_pool,
        "InstaThreshold": insta,
        "InstaPReLU": insta,
    }
