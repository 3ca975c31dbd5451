"""A small ONNX graph builder for the OPs accounting tests, following the export conventions:
binary weights are a BipolarQuant on a constant, int8 weights a Quant (bit width 8) on a constant,
binary activations a BipolarQuant (scale 1), the input a Quant (UINT8, scale 1)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.infer_shapes import InferShapes

QONNX = "qonnx.custom_op.general"
OURS = "flows.custom_ops"


class Net:
    """Append nodes with `op`; each helper returns the name of the tensor it produces."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self._n = 0

    def _name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, value, stem: str = "c") -> str:
        name = self._name(stem)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def op(self, op_type: str, inputs: list[str], *, outputs: int = 1, name: str | None = None,
           domain: str = "", **attrs):  # fmt: skip
        name = name or self._name(op_type.lower())
        outs = [f"{name}_out{i}" for i in range(outputs)]
        self.nodes.append(
            helper.make_node(op_type, inputs, outs, name=name, domain=domain, **attrs)
        )
        return outs[0] if outputs == 1 else outs

    def pixels(self) -> str:
        """The input contract: UINT8 pixels, scale 1."""
        ins = ["x", self.const(1.0), self.const(0.0), self.const(8.0)]
        return self.op("Quant", ins, domain=QONNX, signed=0, narrow=0, rounding_mode="ROUND")

    def sign(self, x: str) -> str:
        return self.op("BipolarQuant", [x, self.const(1.0)], domain=QONNX)

    def binary_weight(self, shape: tuple[int, ...], scale: float | None = 0.5) -> str:
        """sign(W) with a per-output-channel scale (None: scale 1, no scaling factor)."""
        w = np.random.default_rng(0).standard_normal(shape)
        s = np.ones(1) if scale is None else np.full((shape[0],) + (1,) * (len(shape) - 1), scale)
        return self.op("BipolarQuant", [self.const(w, "w"), self.const(s)], domain=QONNX)

    def int_weight(self, shape: tuple[int, ...], bits: int = 8) -> str:
        w = np.random.default_rng(1).standard_normal(shape)
        s = np.full((shape[0],) + (1,) * (len(shape) - 1), 0.01)
        ins = [self.const(w, "w"), self.const(s), self.const(0.0), self.const(float(bits))]
        return self.op("Quant", ins, domain=QONNX, signed=1, narrow=0, rounding_mode="ROUND")

    def pad(self, x: str, p: int = 1, value: float = -1.0) -> str:
        pads = np.array([0, 0, p, p, 0, 0, p, p], dtype=np.int64)
        name = self._name("pads")
        self.inits.append(numpy_helper.from_array(pads, name))
        return self.op("Pad", [x, name, self.const(value)], mode="constant")

    def conv(self, x: str, w: str, *, stride: int = 1, pad: int = 0, k: int = 3) -> str:
        return self.op("Conv", [x, w], kernel_shape=[k, k], strides=[stride] * 2, pads=[pad] * 4)

    def bn(self, x: str, c: int) -> str:
        ins = [x, self.const(np.ones(c)), self.const(np.zeros(c)), self.const(np.zeros(c))]
        return self.op("BatchNormalization", ins + [self.const(np.ones(c))])

    def shift(self, x: str, c: int) -> str:
        return self.op("Add", [x, self.const(np.zeros((1, c, 1, 1)))])

    def model(self, out: str) -> ModelWrapper:
        """The graph with input `x` and output `out`; custom-op outputs get their shapes from
        `self.shapes` (shape inference does not know ops it cannot import)."""
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(self.shape))
        y = helper.make_tensor_value_info(out, TensorProto.FLOAT, None)
        vis = [helper.make_tensor_value_info(t, TensorProto.FLOAT, list(s))
               for t, s in self.shapes.items()]  # fmt: skip
        graph = helper.make_graph(self.nodes, "ops_test", [x], [y], self.inits, value_info=vis)
        proto = helper.make_model(
            graph,
            opset_imports=[
                helper.make_opsetid("", 13),
                helper.make_opsetid(QONNX, 1),
                helper.make_opsetid(OURS, 1),
            ],
        )
        model = ModelWrapper(proto).transform(InferShapes())
        shape = model.get_tensor_shape(out)
        if shape is None:
            raise ValueError(f"shape inference left {out!r} without a shape; set net.shapes")
        model.set_tensor_shape(out, shape)
        return model
