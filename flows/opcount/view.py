"""Read-only questions about a cleaned QONNX graph that the accounting rules ask.

Shapes come from qonnx's shape inference (run by `cleanup_model`); constants are initializers or a
weight quantiser (`Quant` / `BipolarQuant`) on an initializer. A tensor is *binary* when it is the
output of a `BipolarQuant` on activations (or of an INSTA threshold), possibly moved through
value-preserving ops (pad with +-1, max-pool, reshape).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from qonnx.core.modelwrapper import ModelWrapper

from flows.errors import UnsupportedPatternError

#: Ops that move binary values without changing them (a max of +-1 values is +-1).
_BINARY_PASS = {"MaxPool", "Reshape", "Flatten", "Transpose", "Identity", "Squeeze", "Unsqueeze"}
#: Ops a weight may go through between its quantiser and the layer that uses it.
_WEIGHT_PASS = {"Transpose", "Reshape", "Identity", "Flatten", "Squeeze", "Unsqueeze"}
_QUANTS = ("Quant", "BipolarQuant")


@dataclass(frozen=True)
class Weight:
    """A constant weight operand: its values' shape, whether it is binary, its bit width, and the
    per-channel scale of a binary quantiser (None when the scale is 1, i.e. no scaling factor)."""

    shape: tuple[int, ...]
    binary: bool
    bits: int | None  # quantiser bit width (1 for binary, None for a float initializer)
    scale: np.ndarray | None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


def attrs(node: onnx.NodeProto) -> dict:
    """The node's attributes as Python values."""
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class GraphView:
    """Shapes, constants, weights, consumers and binary-ness of the tensors of one model."""

    def __init__(self, model: ModelWrapper) -> None:
        self.m = model
        self._producer = {o: n for n in model.graph.node for o in n.output}
        self._consumers: dict[str, list[onnx.NodeProto]] = {}
        self._const = {t.name for t in model.graph.initializer}
        for n in model.graph.node:  # ONNX graphs are topologically sorted
            for i in n.input:
                self._consumers.setdefault(i, []).append(n)
            if n.op_type == "Constant" or all(i in self._const for i in n.input if i):
                self._const.update(n.output)

    def producer(self, tensor: str) -> onnx.NodeProto | None:
        return self._producer.get(tensor)

    def consumers(self, tensor: str) -> list[onnx.NodeProto]:
        return self._consumers.get(tensor, [])

    def shape(self, tensor: str, node: onnx.NodeProto) -> tuple[int, ...]:
        """Static shape of `tensor`; UnsupportedPatternError if shape inference left it unknown."""
        shp = self.m.get_tensor_shape(tensor)
        if shp is None or any((not isinstance(d, int)) or d <= 0 for d in shp):
            raise UnsupportedPatternError(
                f"tensor {tensor!r} (at node {node.name!r}, {node.op_type}) has a dynamic or "
                f"unknown shape {shp}; export with a fixed input shape (batch 1) so every tensor "
                "has a static shape"
            )
        return tuple(int(d) for d in shp)

    def initializer(self, tensor: str) -> np.ndarray | None:
        init = self.m.get_initializer(tensor)
        return None if init is None else np.asarray(init)

    def is_folded(self, node: onnx.NodeProto) -> bool:
        """A node computed from constants only (a weight quantiser, a transpose of a weight):
        no per-inference work; its cost, if any, is counted at the node that uses it."""
        return all(o in self._const for o in node.output)

    def is_weight_quant(self, node: onnx.NodeProto) -> bool:
        """A Quant/BipolarQuant whose data input is a constant: a weight, costed at its user."""
        return node.op_type in _QUANTS and self.initializer(node.input[0]) is not None

    def is_const(self, tensor: str) -> bool:
        """True for initializers and tensors computed from constants only."""
        return tensor in self._const

    def const_size(self, tensor: str) -> int:
        """Number of elements of a constant tensor (shape from the initializer or the inference)."""
        init = self.initializer(tensor)
        if init is not None:
            return int(init.size)
        shp = self.m.get_tensor_shape(tensor)
        if shp is None or not all(isinstance(d, int) for d in shp):
            raise UnsupportedPatternError(
                f"constant {tensor!r} has no static shape after qonnx cleanup; fold it into an "
                "initializer before counting"
            )
        return int(np.prod(shp))

    def weight(self, tensor: str) -> Weight | None:
        """The constant weight behind `tensor`, or None if `tensor` is not a constant."""
        init = self.initializer(tensor)
        if init is not None:
            return Weight(tuple(init.shape), binary=False, bits=None, scale=None)
        prod = self.producer(tensor)
        if prod is None:
            return None
        if prod.op_type in _WEIGHT_PASS:
            inner = self.weight(prod.input[0])
            if inner is None:
                return None
            shape = self.m.get_tensor_shape(tensor) or inner.shape
            return Weight(tuple(shape), inner.binary, inner.bits, inner.scale)
        if not self.is_weight_quant(prod):
            return None
        values = self.initializer(prod.input[0])
        if prod.op_type == "BipolarQuant":
            scale = self.initializer(prod.input[1])
            trivial = scale is None or np.all(scale == 1.0)
            return Weight(tuple(values.shape), True, 1, None if trivial else scale)
        bits = self.initializer(prod.input[3])
        nbits = int(np.asarray(bits).ravel()[0]) if bits is not None else None
        # An integer Quant is never bipolar (1-bit signed is {-1, 0}): real-valued weights.
        return Weight(tuple(values.shape), binary=False, bits=nbits, scale=None)

    def is_binary(self, tensor: str) -> bool:
        """True if every value of `tensor` is +-1 by construction of the graph."""
        prod = self.producer(tensor)
        if prod is None:
            return False
        if prod.op_type == "BipolarQuant":
            return not self.is_weight_quant(prod)
        if prod.op_type == "InstaThreshold":
            return tensor == prod.output[0]
        if prod.op_type == "Pad":
            return self.is_binary(prod.input[0]) and self._pad_keeps_binary(prod)
        if prod.op_type in _BINARY_PASS:
            return self.is_binary(prod.input[0])
        return False

    def _pad_keeps_binary(self, node: onnx.NodeProto) -> bool:
        """Edge / reflect padding repeats +-1 values; constant padding must pad with +-1."""
        mode = attrs(node).get("mode", b"constant")
        if mode not in (b"constant", "constant"):
            return True
        if len(node.input) > 2 and node.input[2]:
            value = self.initializer(node.input[2])
            return value is not None and float(np.asarray(value).ravel()[0]) in (-1.0, 1.0)
        return float(attrs(node).get("value", 0.0)) in (-1.0, 1.0)  # opset < 11 attribute

    def only_consumers_are(self, tensor: str, op_types: tuple[str, ...]) -> bool:
        """True if `tensor` feeds at least one node, all of `op_types`, and is no graph output."""
        users = self.consumers(tensor)
        outputs = {o.name for o in self.m.graph.output}
        return bool(users) and tensor not in outputs and all(u.op_type in op_types for u in users)
