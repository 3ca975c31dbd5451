"""Accounting rules for the INSTA custom ops (supplementary section C; DESIGN.md section 4).

Per module, with the module's input of C channels over H x W positions:

| module | parameters (32-bit unless noted) | FLOPs |
|---|---|---|
| INSTA-Th | 4C (mu, sigma, alpha, beta) | 3HWC + 2C |
| INSTA-PReLU | 5C (mu, sigma, a, slope, zeta) | 3HWC + 3C |
| INSTA-PReLU, reuse form | 5C + 2C (p, q) | HWC + 2C |
| `+` (SE) form | alpha / a replaced by 2C^2/r 8-bit SE weights, plus C + C/r step sizes | + 2C^2/r + C + C/r |

3HWC = HWC for the normalisation + 2HWC for the cube; 2C = spatial averaging + the channel-wise
factor; INSTA-PReLU adds C for 3*tanh(./3).

Readings of the ambiguous sentences (also in docs/ops.md and the tests):

* Reuse form: "eliminates a cubic operation ... also removes spatial averaging, reducing the extra
  operations from 3C to 2C; instead two channel-wise parameters are used". Read literally: only the
  cube (2HWC) and the averaging go; the normalisation (HWC) and the five per-channel parameters stay,
  and p, q are added: 7C parameters, HWC + 2C FLOPs.
* SE form: the SE replaces the *parameter* alpha (resp. a), so the per-channel parameters drop by C;
  the C-proportional operations of the base module stay (in the SE form the channel-wise factor's
  multiplication becomes the 3*tanh(./3) bound), and the SE's MACs (2C^2/r, from the exported
  weight shapes) plus one multiplication per step size (C + C/r) are added as FLOPs. The SE's ReLU
  is free; the SE has no biases.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx

from flows.errors import UnsupportedPatternError
from flows.ops.report import LayerOps
from flows.ops.rules import REAL_BITS, row
from flows.ops.view import GraphView, attrs

#: SE weights are 8-bit (supplementary B and C).
SE_BITS = 8


def _geometry(v: GraphView, node: onnx.NodeProto) -> tuple[int, int]:
    """(C, H*W) of the module's input x (N, C, H, W) or (N, C)."""
    shape = v.shape(node.input[0], node)
    if len(shape) < 2 or shape[0] != 1:
        raise UnsupportedPatternError(
            f"{node.name}: {node.op_type} input has shape {shape}; expected (1, C, H, W)"
        )
    return shape[1], int(np.prod(shape[2:]))


def _se_weights(v: GraphView, node: onnx.NodeProto) -> list[tuple[int, int]]:
    """(size, bits) of each SE weight matrix among the node's constant inputs (2-D weights)."""
    found = []
    for name in node.input[1:]:
        w = v.weight(name) if name else None
        if w is not None and len(w.shape) == 2 and min(w.shape) > 1:
            found.append((w.size, w.bits if w.bits not in (None, 32) else SE_BITS))
    return found


def _se_cost(
    v: GraphView, node: onnx.NodeProto, channels: int
) -> tuple[int, int, int, int] | None:
    """(SE MACs, SE weight bits, step-size count, hidden width) of an SE form, else None."""
    weights = _se_weights(v, node)
    if not weights:
        return None
    if len(weights) != 2:
        raise UnsupportedPatternError(
            f"{node.name}: {node.op_type} has {len(weights)} SE weight matrices; the SE form has "
            "two (FC1 C -> C/r, FC2 C/r -> C)"
        )
    macs = sum(size for size, _ in weights)
    hidden = weights[0][0] // channels
    bits = sum(size * b for size, b in weights)
    return macs, bits, channels + hidden, hidden


def _module(
    v: GraphView,
    node: onnx.NodeProto,
    *,
    kind: str,
    per_channel: int,
    channel_ops: int,
    elementwise: int,
) -> list[LayerOps]:
    """One row: `per_channel` x C real parameters, `elementwise` x HWC + `channel_ops` x C FLOPs,
    plus the SE's weights, MACs and step sizes when the node carries SE weights."""
    c, hw = _geometry(v, node)
    flops = elementwise * hw * c + channel_ops * c
    params, bits, note = per_channel * c, per_channel * c * REAL_BITS, ""
    se = _se_cost(v, node, c)
    if se is not None:
        macs, se_bits, steps, hidden = se
        kind += "+"
        params += macs + steps - c  # the SE replaces the channel-wise factor
        bits += se_bits + (steps - c) * REAL_BITS
        flops += macs + steps
        note = f"SE C={c}, C/r={hidden}"
    return [row(v, node, kind, flops=flops, params=params, params_bits=bits, note=note)]


def insta_threshold(v: GraphView, node: onnx.NodeProto) -> list[LayerOps]:
    """INSTA-Th(+): 4C parameters, 3HWC + 2C FLOPs (+ SE)."""
    return _module(v, node, kind="insta-th", per_channel=4, channel_ops=2, elementwise=3)


def insta_prelu(v: GraphView, node: onnx.NodeProto) -> list[LayerOps]:
    """INSTA-PReLU(+): 5C parameters, 3HWC + 3C FLOPs (+ SE); the reuse form 7C, HWC + 2C."""
    if _reuses_statistics(v, node):
        return _module(
            v, node, kind="insta-prelu reuse", per_channel=7, channel_ops=2, elementwise=1
        )
    return _module(v, node, kind="insta-prelu", per_channel=5, channel_ops=3, elementwise=3)


def _reuses_statistics(v: GraphView, node: onnx.NodeProto) -> bool:
    """The reuse form takes a second stream: the m3 output of an InstaThreshold."""
    streams = [i for i in node.input[1:] if i and not v.is_const(i)]
    for s in streams:
        prod = v.producer(s)
        if prod is None or prod.op_type != "InstaThreshold" or s != prod.output[1]:
            raise UnsupportedPatternError(
                f"{node.name}: InstaPReLU's extra stream {s!r} must be the m3 output of an "
                "InstaThreshold (statistics-reuse form)"
            )
    return bool(streams) or bool(attrs(node).get("reuse", 0))


INSTA_RULES: dict[str, Callable[[GraphView, onnx.NodeProto], list[LayerOps]]] = {
    "InstaThreshold": insta_threshold,
    "InstaPReLU": insta_prelu,
}
