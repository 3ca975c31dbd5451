"""Accounting rules for standard ONNX / QONNX ops (INSTA-BNN supplementary, section C).

Each rule maps one node to the rows it costs. Conventions (docs/ops.md):

* Only multiplications count; one MAC is one FLOP (real) or one BOP (binary x binary).
* A MAC is a BOP only when the weight is binary *and* the input activation is binary; a binary
  weight on a real or integer input (a first layer on pixels) is a FLOP.
* Non-binary weights (float, or integer-quantised: the int8 first conv, downsample 1x1 convs and
  last FC) are real-valued in the papers' FP32 convention: 32-bit parameters, MACs as FLOPs.
* BatchNorm: 2C parameters and one multiplication per element; directly before sign (every consumer
  is a binary activation quantiser) C parameters and no multiplication.
* A binary weight's per-channel scaling factor costs Hout*Wout*Cout multiplications and Cout
  parameters, unless the conv/FC feeds only a BatchNorm (conv-BN order: the scale merges into BN's).
* Additions, shifts by constants, residual adds, comparisons, (P)ReLU, pooling, padding, reshapes
  and activation quantisers are free; their constant operands still count as 32-bit parameters.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx

from flows.errors import UnsupportedPatternError
from flows.opcount.report import LayerOps
from flows.opcount.view import GraphView, attrs

REAL_BITS = 32
BINARY_BITS = 1

Rule = Callable[[GraphView, onnx.NodeProto], list[LayerOps]]


def row(v: GraphView, node: onnx.NodeProto, kind: str, *, part: str = "", **costs) -> LayerOps:
    """A row for `node` (or its `part`, e.g. "scale") with its first input's and output's shapes."""
    in_shape = _maybe_shape(v, node.input[0]) if node.input else ()
    return LayerOps(
        name=f"{node.name}/{part}" if part else node.name,
        op_type=node.op_type,
        kind=kind,
        in_shape=in_shape,
        out_shape=v.shape(node.output[0], node),
        **costs,
    )


def _maybe_shape(v: GraphView, tensor: str) -> tuple[int, ...]:
    shp = v.m.get_tensor_shape(tensor)
    return tuple(int(d) for d in shp) if shp and all(isinstance(d, int) for d in shp) else ()


def real_params(n: int) -> dict[str, int]:
    return {"params": n, "params_bits": n * REAL_BITS}


def _linear(v: GraphView, node: onnx.NodeProto, what: str) -> list[LayerOps]:
    """Conv / MatMul / Gemm: MACs = output elements x reduction length."""
    x, w_name = node.input[0], node.input[1]
    out_shape = v.shape(node.output[0], node)
    w = v.weight(w_name)
    if w is None:
        if node.op_type != "MatMul" or v.is_const(x):
            raise UnsupportedPatternError(
                f"{node.name}: {node.op_type} needs constant weights as its second input "
                "(a BipolarQuant / Quant on an initializer, or an initializer)"
            )
        # A product of two streams: real multiplications, no stored parameters.
        k = v.shape(x, node)[-1]
        return [row(v, node, "real fc (2 streams)", flops=int(np.prod(out_shape)) * k)]
    if node.op_type == "Conv":
        reduction = int(np.prod(w.shape[1:]))  # Cin/groups * kh * kw
    else:
        reduction = v.shape(x, node)[-1]
    macs = int(np.prod(out_shape)) * reduction
    binary_macs = w.binary and v.is_binary(x)
    bits = BINARY_BITS if w.binary else REAL_BITS
    note = ""
    if w.binary and not binary_macs:
        note = "binary weights on a non-binary input: MACs counted as FLOPs"
    elif w.bits not in (None, 1):
        note = f"{w.bits}-bit weights counted as real-valued (FP32 convention)"
    kind = f"{'binary' if binary_macs else 'real'} {what}"
    rows = [
        row(
            v,
            node,
            kind,
            flops=0 if binary_macs else macs,
            bops=macs if binary_macs else 0,
            params=w.size,
            params_bits=w.size * bits,
            note=note,
        )
    ]
    if len(node.input) > 2 and node.input[2]:
        n = v.const_size(node.input[2])
        rows.append(row(v, node, "bias", part="bias", **real_params(n)))
    if w.scale is not None:
        rows.append(_weight_scale(v, node, w.scale, out_shape))
    return rows


def _weight_scale(v: GraphView, node, scale: np.ndarray, out_shape) -> LayerOps:
    if v.only_consumers_are(node.output[0], ("BatchNormalization",)):
        return row(v, node, "weight scale", part="scale", note="merged with the next BN (conv-BN)")
    return row(
        v,
        node,
        "weight scale",
        part="scale",
        flops=int(np.prod(out_shape)),
        **real_params(int(scale.size)),
        note="not merged: no BN directly after",
    )


def conv(v: GraphView, node: onnx.NodeProto) -> list[LayerOps]:
    return _linear(v, node, "conv")


def fc(v: GraphView, node: onnx.NodeProto) -> list[LayerOps]:
    if node.op_type == "Gemm":
        a = attrs(node)
        if a.get("transA", 0):
            raise UnsupportedPatternError(f"{node.name}: Gemm with transA=1 is not supported")
    return _linear(v, node, "fc")


def batchnorm(v: GraphView, node: onnx.NodeProto) -> list[LayerOps]:
    out_shape = v.shape(node.output[0], node)
    channels = out_shape[1] if len(out_shape) > 1 else out_shape[0]
    if v.only_consumers_are(node.output[0], ("BipolarQuant",)):
        return [row(v, node, "bn before sign", **real_params(channels))]
    return [row(v, node, "batchnorm", flops=int(np.prod(out_shape)), **real_params(2 * channels))]


def _const_operand(v: GraphView, node: onnx.NodeProto) -> str | None:
    consts = [i for i in node.input if i and v.is_const(i)]
    return consts[0] if consts else None


def multiply(v: GraphView, node: onnx.NodeProto) -> list[LayerOps]:
    """Mul / Div: one multiplication per output element; a constant operand is parameters."""
    const = _const_operand(v, node)
    flops = int(np.prod(v.shape(node.output[0], node)))
    params = real_params(v.const_size(const)) if const else {}
    return [row(v, node, "multiply", flops=flops, **params)]


def add(v: GraphView, node: onnx.NodeProto) -> list[LayerOps]:
    """Add / Sub: free; a constant operand (RSign / RPReLU shift) is parameters."""
    const = _const_operand(v, node)
    if const is None:
        return [row(v, node, "residual add")]
    return [row(v, node, "shift", **real_params(v.const_size(const)))]


def prelu(v: GraphView, node: onnx.NodeProto) -> list[LayerOps]:
    """PReLU is free (supplementary C); its slopes are parameters."""
    return [row(v, node, "prelu", **real_params(v.const_size(node.input[1])))]


#: Costless ops -> their row kind: sign, activation quantisers (the residual stream's requantisers
#: do not exist in the FP32 model), ReLU, pools (the 1/k of an average folds into the next layer),
#: padding and reshapes.
FREE_KINDS = {
    "BipolarQuant": "sign",
    "Quant": "act quant",
    "Trunc": "act quant",
    "Relu": "relu",
    "MaxPool": "pool",
    "AveragePool": "pool",
    "GlobalAveragePool": "pool",
    "Pad": "pad",
    **dict.fromkeys(
        ("Flatten", "Reshape", "Transpose", "Identity", "Squeeze", "Unsqueeze", "Concat"),
        "reshape",
    ),
}


def free(v: GraphView, node: onnx.NodeProto) -> list[LayerOps]:
    """A costless node (FREE_KINDS): no FLOPs, no BOPs, no parameters."""
    return [row(v, node, FREE_KINDS[node.op_type])]


RULES: dict[str, Rule] = {
    "Conv": conv,
    "MatMul": fc,
    "Gemm": fc,
    "BatchNormalization": batchnorm,
    "Mul": multiply,
    "Div": multiply,
    "Add": add,
    "Sub": add,
    "PRelu": prelu,
    **dict.fromkeys(FREE_KINDS, free),
}
