"""Accounting rules for the INSTA custom ops (supplementary section C; docs/models.md section 3).

The ops are `flows.custom_ops::InstaThreshold` / `InstaPReLU`, their `form` attribute selects the
variant and their inputs are named by `flows.custom_ops.THRESHOLD_INPUTS` / `PRELU_INPUTS`.
Per module, with the module's input x of C channels over H x W positions:

| module (form) | parameters (32-bit unless noted) | FLOPs |
|---|---|---|
| INSTA-Th ("alpha") | 4C: mu, sigma, alpha, beta | 3HWC + 2C |
| INSTA-Th+ ("se") | 3C + 2C^2/r 8-bit SE weights + (C + C/r) step sizes | 3HWC + 2C + 2C^2/r + C + C/r |
| INSTA-PReLU ("alpha") | 5C: mu, sigma, a, slope, zeta | 3HWC + 3C |
| INSTA-PReLU+ ("se") | 4C + 2C^2/r 8-bit + (C + C/r) | 3HWC + 3C + 2C^2/r + C + C/r |
| INSTA-PReLU, reuse ("reuse") | 5C + 2C (p, q) = 7C | HWC + 2C |

3HWC = HWC for the normalisation + 2HWC for the cube; 2C = spatial averaging + the channel-wise
factor; INSTA-PReLU's third C is 3*tanh(./3). The SE's width C/r is read from its weight shapes.

Readings of the ambiguous sentences (also in docs/ops.md and tests/flows/test_ops*.py):

* Reuse form. The supplementary: statistics reuse "eliminates a cubic operation ... also removes
  spatial averaging thereby reducing the number of required extra operations from 3C to 2C.
  Instead, two channel-wise parameters are used". Read literally (as docs/ops.md states
  it): only the cube (2HWC) and the averaging go, the normalisation (HWC) and the five per-channel
  parameters stay, and p, q are added: 7C parameters, HWC + 2C FLOPs. (Our exported reuse module
  stores only slope, zeta, p, q and normalises nothing; counting what it stores would give 4C and
  2C. The paper's accounting is followed, not our module.)
* SE form. The SE replaces the *parameter* alpha (resp. a): per-channel parameters drop by C. The
  C-proportional operations of the base module stay (the multiply by alpha becomes the
  3*tanh(./3) bound on the SE output), and the SE's MACs (2C^2/r) and one multiplication per step
  size (C + C/r) are added as FLOPs. The SE has no biases; its ReLU is free.
"""

from __future__ import annotations

from collections.abc import Callable

import onnx

from flows.custom_ops import PRELU_INPUTS, THRESHOLD_INPUTS
from flows.errors import UnsupportedPatternError
from flows.opcount.report import LayerOps
from flows.opcount.rules import REAL_BITS, row
from flows.opcount.view import GraphView, attrs

#: SE weights are 8-bit (supplementary B and C).
SE_BITS = 8

#: form -> (per-channel parameters, channel-wise FLOPs per channel, elementwise FLOPs per element)
_THRESHOLD = {"alpha": (4, 2, 3), "se": (3, 2, 3)}
_PRELU = {"alpha": (5, 3, 3), "se": (4, 3, 3), "reuse": (7, 2, 1)}


def _form(node: onnx.NodeProto, forms: dict[str, tuple[str, ...]]) -> str:
    form = attrs(node).get("form", b"alpha")
    form = form.decode() if isinstance(form, bytes) else str(form)
    if form not in forms:
        raise UnsupportedPatternError(
            f"{node.name}: {node.op_type} form {form!r} is unknown; expected one of "
            f"{sorted(forms)} (flows.custom_ops)"
        )
    if len(node.input) != len(forms[form]):
        raise UnsupportedPatternError(
            f"{node.name}: {node.op_type} form {form!r} takes the inputs {forms[form]}, "
            f"the node has {len(node.input)}; re-export the model"
        )
    return form


def _geometry(v: GraphView, node: onnx.NodeProto) -> tuple[int, int]:
    """(C, H*W) of the module's input x (1, C, H, W)."""
    shape = v.shape(node.input[0], node)
    if len(shape) != 4 or shape[0] != 1:
        raise UnsupportedPatternError(
            f"{node.name}: {node.op_type} input has shape {shape}; expected (1, C, H, W)"
        )
    return shape[1], shape[2] * shape[3]


def _se(v: GraphView, node: onnx.NodeProto, roles: tuple[str, ...], c: int) -> tuple[int, int]:
    """(SE MACs = number of SE weights = 2C^2/r, step sizes = C + C/r) from the tensor shapes."""
    named = dict(zip(roles, node.input, strict=True))
    weights = sum(v.const_size(named[r]) for r in ("w1", "w2"))
    steps = sum(v.const_size(named[r]) for r in ("s1", "s2"))
    hidden = v.const_size(named["s1"])
    if weights != 2 * c * hidden or steps != c + hidden:
        raise UnsupportedPatternError(
            f"{node.name}: SE weights hold {weights} values and {steps} step sizes; a C={c} -> "
            f"C/r={hidden} -> C block has {2 * c * hidden} and {c + hidden}"
        )
    return weights, steps


def _module(
    v: GraphView, node: onnx.NodeProto, forms: dict, costs: dict, kind: str
) -> list[LayerOps]:
    form = _form(node, forms)
    per_channel, channel_ops, elementwise = costs[form]
    c, hw = _geometry(v, node)
    flops = elementwise * hw * c + channel_ops * c
    params = per_channel * c
    bits = params * REAL_BITS
    note = {"reuse": "reuses the block's INSTA-Th m3 (p, q affine)"}.get(form, "")
    if form == "se":
        weights, steps = _se(v, node, forms[form], c)
        kind += "+"
        flops += weights + steps
        params += weights + steps
        bits += weights * SE_BITS + steps * REAL_BITS
        note = f"SE {c} -> {steps - c} -> {c}, 8-bit weights"
    elif form == "reuse":
        kind += " reuse"
    return [row(v, node, kind, flops=flops, params=params, params_bits=bits, note=note)]


def insta_threshold(v: GraphView, node: onnx.NodeProto) -> list[LayerOps]:
    """INSTA-Th: 4C parameters, 3HWC + 2C FLOPs; INSTA-Th+: the SE replaces alpha."""
    return _module(v, node, THRESHOLD_INPUTS, _THRESHOLD, "insta-th")


def insta_prelu(v: GraphView, node: onnx.NodeProto) -> list[LayerOps]:
    """INSTA-PReLU: 5C, 3HWC + 3C; INSTA-PReLU+: SE replaces a; reuse form: 7C, HWC + 2C."""
    if _form(node, PRELU_INPUTS) == "reuse":
        m3 = node.input[PRELU_INPUTS["reuse"].index("m3")]
        prod = v.producer(m3)
        if prod is None or prod.op_type != "InstaThreshold" or m3 != prod.output[1]:
            raise UnsupportedPatternError(
                f"{node.name}: the reuse form's m3 input {m3!r} must be the second output of an "
                "InstaThreshold (the same block's statistics)"
            )
    return _module(v, node, PRELU_INPUTS, _PRELU, "insta-prelu")


INSTA_RULES: dict[str, Callable[[GraphView, onnx.NodeProto], list[LayerOps]]] = {
    "InstaThreshold": insta_threshold,
    "InstaPReLU": insta_prelu,
}
