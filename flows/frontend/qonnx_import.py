"""Import a (Brevitas-exported) QONNX model into the dataflow graph, node for node.

The result still holds real-valued transient kinds (MatMul with real weights, FloatAffine, Sign);
streamlining (flows/transforms) turns them into hardware layer kinds. Supported ONNX ops are listed
in `IMPORTERS`; any other op raises UnsupportedOpError naming the op and the node.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.general.bipolar_quant import binary_quant
from qonnx.custom_op.general.intquant import int_quant
from qonnx.util.cleanup import cleanup_model

from flows.datatypes import INT, UINT, DataType
from flows.errors import (
    MalformedModelError,
    NumericContractError,
    UnsupportedOpError,
    UnsupportedPatternError,
)
from flows.frontend.conv_import import conv_importers
from flows.frontend.residual_import import activation_quant, residual_importers
from flows.graph import DataflowGraph, Stream
from flows.layers import FloatAffine, MatMul, Sign


def read_onnx(path: Path) -> onnx.ModelProto:
    """Read and check an ONNX file; MalformedModelError if it is missing or not a valid model."""
    path = Path(path)
    if not path.is_file():
        raise MalformedModelError(f"{path}: no such ONNX file")
    try:
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
    except Exception as e:  # noqa: BLE001 - onnx raises several types for a bad file
        raise MalformedModelError(
            f"{path}: not a valid ONNX model ({type(e).__name__}: {e})"
        ) from None
    return proto


def load(path: Path) -> ModelWrapper:
    """Read and clean an ONNX file; MalformedModelError if it is not a valid model."""
    proto = read_onnx(path)
    try:
        return cleanup_model(ModelWrapper(proto))
    except Exception as e:  # noqa: BLE001
        raise MalformedModelError(f"{path}: qonnx cleanup failed ({e})") from None


class _Importer:
    def __init__(self, model: ModelWrapper) -> None:
        self.m = model
        g = model.graph
        if len(g.input) != 1 or len(g.output) != 1:
            raise UnsupportedPatternError(
                f"the graph has {len(g.input)} inputs and {len(g.output)} outputs; "
                "exactly one of each is supported"
            )
        self.in_name, self.out_name = g.input[0].name, g.output[0].name
        self.graph: DataflowGraph | None = None
        self.alias: dict[str, str] = {}  # ONNX tensor -> stream of the dataflow graph

    def shape(self, tensor: str) -> tuple[int, int]:
        """ONNX (1, C) -> (1 vector, C channels); (1, C, H, W) -> (H*W vectors, C channels),
        raster order, channels last (flows/frontend/conv_import.py). Dynamic or batch > 1 shapes
        are rejected."""
        shp = self.m.get_tensor_shape(tensor)
        if shp is None or any((not isinstance(d, int)) or d <= 0 for d in shp):
            raise UnsupportedPatternError(
                f"tensor {tensor!r} has a dynamic or unknown shape {shp}; export with a fixed "
                "input shape (batch 1)"
            )
        if len(shp) == 4 and shp[0] == 1:
            return (int(shp[2]) * int(shp[3]), int(shp[1]))
        if len(shp) != 2 or shp[0] != 1:
            raise UnsupportedPatternError(
                f"tensor {tensor!r} has shape {tuple(shp)}; this flow handles (1, C) tensors "
                "and (1, C, H, W) maps"
            )
        return (1, int(shp[1]))

    def const(self, tensor: str) -> np.ndarray | None:
        init = self.m.get_initializer(tensor)
        if init is not None:
            return np.asarray(init)
        prod = self.m.find_producer(tensor)
        if prod is not None and prod.op_type in ("BipolarQuant", "Quant"):
            if all(self.const(i) is not None for i in prod.input):
                ints, scale, _ = self.quantised_const(prod)
                return ints * scale
        return None

    def quantised_const(self, node) -> tuple[np.ndarray, np.ndarray, DataType]:
        """A Quant/BipolarQuant on a constant -> (integer values, scale, type)."""
        w = self.m.get_initializer(node.input[0])
        scale = np.asarray(self.m.get_initializer(node.input[1]), dtype=np.float64)
        if node.op_type == "BipolarQuant":
            from flows.datatypes import BIPOLAR

            return binary_quant(w, 1.0).astype(np.int64), scale, BIPOLAR
        zp, bits = (np.asarray(self.m.get_initializer(i)) for i in node.input[2:4])
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if np.any(zp != 0):
            raise NumericContractError(f"{node.name}: weight zero point must be 0")
        signed, narrow = int(attrs.get("signed", 1)), int(attrs.get("narrow", 0))
        rounding = attrs.get("rounding_mode", "ROUND")
        rounding = rounding.decode() if isinstance(rounding, bytes) else rounding
        q = int_quant(w, scale, zp, bits, signed, narrow, rounding)
        ints = np.round(q / scale).astype(np.int64)
        nbits = int(np.asarray(bits).ravel()[0])
        return ints, scale, (INT(nbits) if signed else UINT(nbits))

    def src(self, tensor: str) -> str:
        return self.alias.get(tensor, tensor)

    def run(self) -> DataflowGraph:
        nodes = list(self.m.graph.node)
        consumed_consts = {n.output[0] for n in nodes if self._is_weight_quant(n)}
        first = nodes[0] if nodes else None
        if first is None or first.op_type != "Quant" or first.input[0] != self.in_name:
            raise UnsupportedPatternError(
                "the model input must go through a Quant node (UINT8 pixels, scale 1, zero point 0;"
                " docs/numerics.md section 4)"
            )
        dtype = self._input_type(first)
        self.graph = DataflowGraph([Stream(self.in_name, dtype, self.shape(self.in_name))], [])
        self.alias[first.output[0]] = self.in_name
        for node in nodes[1:]:
            if node.output[0] in consumed_consts:
                continue
            handler = IMPORTERS.get(node.op_type)
            if node.op_type == "Quant":
                handler = activation_quant
            if handler is None:
                raise UnsupportedOpError(
                    f"op {node.op_type} (node {node.name!r}) has no lowering in this flow; "
                    f"supported ops: {', '.join(sorted(IMPORTERS))}, Quant on the input"
                )
            handler(self, node)
        self.graph.outputs = [self.src(self.out_name)]
        return self.graph

    def _is_weight_quant(self, node) -> bool:
        return (
            node.op_type in ("BipolarQuant", "Quant")
            and self.m.get_initializer(node.input[0]) is not None
        )

    def _input_type(self, node) -> DataType:
        scale, zp, bits = (np.asarray(self.m.get_initializer(i)) for i in node.input[1:4])
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if scale.size != 1 or float(scale.ravel()[0]) != 1.0 or np.any(zp != 0):
            raise NumericContractError(
                f"input Quant {node.name!r} has scale {scale.ravel()[:4]} and zero point "
                f"{zp.ravel()[:4]}; the input contract is integer pixels with scale 1, zero point 0"
            )
        bits = int(bits.ravel()[0])
        return INT(bits) if int(attrs.get("signed", 1)) else UINT(bits)

    def add(self, cfg, node, inp: str, **params) -> None:
        out = node.output[0]
        self.graph.add(cfg, [self.src(inp)], [Stream(out, None, self.shape(out))], **params)


def _matmul(imp: _Importer, node) -> None:
    x, w_name = node.input[0], node.input[1]
    prod = imp.m.find_producer(w_name)
    if prod is None or not imp._is_weight_quant(prod):
        if imp.m.get_initializer(w_name) is None:
            raise UnsupportedPatternError(f"{node.name}: weights must be a constant")
        ints, scale, wtype = None, None, None
        w = np.asarray(imp.m.get_initializer(w_name), dtype=np.float64)
    else:
        ints, scale, wtype = imp.quantised_const(prod)
        w = ints * scale
    transpose_b = False
    if node.op_type == "Gemm":
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if (
            attrs.get("transA", 0)
            or attrs.get("alpha", 1.0) != 1.0
            or attrs.get("beta", 1.0) != 1.0
        ):
            raise UnsupportedPatternError(
                f"{node.name}: Gemm with transA/alpha/beta is unsupported"
            )
        transpose_b = bool(attrs.get("transB", 0))
    # ONNX MatMul: y = x @ W with W (mw, mh); our MatMul stores W as (mh, mw).
    wt = w if transpose_b else w.T
    params = {"weights": wt}
    if ints is not None:
        params["int_weights"] = ints if transpose_b else ints.T
        params["weight_scale"] = np.broadcast_to(scale, w.shape).copy()
        params["weight_scale"] = params["weight_scale"] if transpose_b else params["weight_scale"].T
    mh, mw = wt.shape
    name = imp.graph.unique_name(node.name or "MatMul")
    cfg = MatMul(name=name, mw=mw, mh=mh)
    if node.op_type == "Gemm" and len(node.input) > 2:
        mid = Stream(name + "_out", None, (1, mh))
        imp.graph.add(cfg, [imp.src(x)], [mid], **params)
        if ints is not None:
            imp.graph.node(name).params["int_weight_type"] = wtype
        bias = np.asarray(imp.const(node.input[2]), dtype=np.float64).reshape(-1)
        bcfg = FloatAffine(name=imp.graph.unique_name(name + "_bias"), channels=mh)
        imp.graph.add(
            bcfg, [mid.name], [Stream(node.output[0], None, (1, mh))], mul=np.ones(mh), add=bias
        )
        return
    imp.add(cfg, node, x, **params)
    if ints is not None:
        imp.graph.node(name).params["int_weight_type"] = wtype


def _batchnorm(imp: _Importer, node) -> None:
    gamma, beta, mean, var = (np.asarray(imp.const(i), dtype=np.float64) for i in node.input[1:5])
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    eps = float(attrs.get("epsilon", 1e-5))
    mul = gamma / np.sqrt(var + eps)
    cfg = FloatAffine(
        name=imp.graph.unique_name(node.name or "BatchNorm"),
        channels=gamma.size,
        num_vectors=imp.shape(node.output[0])[0],
    )
    imp.add(cfg, node, node.input[0], mul=mul, add=beta - mean * mul)


def _elementwise(imp: _Importer, node) -> None:
    a, b = node.input
    c = imp.const(b)
    if c is None:
        raise UnsupportedPatternError(
            f"{node.name}: {node.op_type} of two streams is not supported yet (only by a constant)"
        )
    vectors, channels = imp.shape(node.output[0])
    c = np.broadcast_to(np.asarray(c, dtype=np.float64).reshape(-1), (channels,)).copy()
    mul, add = (c, np.zeros(channels)) if node.op_type == "Mul" else (np.ones(channels), c)
    cfg = FloatAffine(
        name=imp.graph.unique_name(node.name or node.op_type),
        channels=channels,
        num_vectors=vectors,
    )
    imp.add(cfg, node, a, mul=mul, add=add)


def _bipolar_act(imp: _Importer, node) -> None:
    scale = np.asarray(imp.const(node.input[1]))
    if scale.size != 1 or float(scale.ravel()[0]) != 1.0:
        raise NumericContractError(
            f"{node.name}: binary activations must have scale 1 (found {scale.ravel()[:4]})"
        )
    vectors, channels = imp.shape(node.output[0])
    imp.add(
        Sign(
            name=imp.graph.unique_name(node.name or "Sign"), channels=channels, num_vectors=vectors
        ),
        node,
        node.input[0],
    )


IMPORTERS = {
    "MatMul": _matmul,
    "Gemm": _matmul,
    "BatchNormalization": _batchnorm,
    "Mul": _elementwise,
    "Add": _elementwise,
    "BipolarQuant": _bipolar_act,
}
IMPORTERS.update(conv_importers(IMPORTERS))  # Conv, Pad, MaxPool, Flatten, Reshape
IMPORTERS.update(residual_importers(IMPORTERS))  # Add/Sub of streams, PRelu, pools, INSTA ops


def import_model(model: ModelWrapper) -> DataflowGraph:
    """Cleaned QONNX model -> DataflowGraph (transient kinds, integer input stream)."""
    return _Importer(model).run()
