"""The dataflow graph as ONNX, to look at in Netron (and to read back).

One ONNX node per layer: op_type = the layer kind, domain `flows.dataflow`, node name = layer name,
one attribute per config field (DataType as its name, e.g. "INT8"; None left out; bool as 0/1);
parameters are initializers `<layer>.<param>` after the node's stream inputs. A stream is a
(1, vectors, channels) float tensor; its element type is in the tensor's doc string (Netron's
description) and annotated the way qonnx does it (`quantization_annotation` / `finn_datatype`).
Parameters that are no arrays (an importer's notes) become text attributes `param_<key>`.
Generic over every registered kind: nothing here names a kind.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from flows.artifacts import atomic_file
from flows.datatypes import DataType, parse
from flows.errors import ConfigError, MalformedModelError
from flows.graph import DataflowGraph, Node, Stream
from flows.layers import all_kinds

DOMAIN = "flows.dataflow"
DOMAIN_VERSION = 1
PARAM_ATTRIBUTE = "param_"  # prefix of the attributes that hold a parameter that is no array


# --- export ---------------------------------------------------------------------------------------
def to_onnx(graph: DataflowGraph, name: str = "dataflow") -> onnx.ModelProto:
    """The graph as an ONNX model that passes `onnx.checker.check_model`."""
    nodes, inits = [], []
    for n in graph.topological():
        node, params = _node(n)
        nodes.append(node)
        inits.extend(params)
    inputs = [_value_info(graph.streams[s]) for s in graph.inputs]
    outputs = [_value_info(graph.streams[s]) for s in graph.outputs]
    boundary = set(graph.inputs) | set(graph.outputs)
    inner = [_value_info(s) for s in graph.streams.values() if s.name not in boundary]
    g = helper.make_graph(nodes, name, inputs, outputs, inits, value_info=inner)
    for s in graph.streams.values():
        if s.dtype is not None:
            g.quantization_annotation.append(_datatype_annotation(s))
    opsets = [
        helper.make_opsetid("", onnx.defs.onnx_opset_version()),
        helper.make_opsetid(DOMAIN, DOMAIN_VERSION),
    ]
    return helper.make_model(g, opset_imports=opsets, producer_name="flows")


def save_onnx(graph: DataflowGraph, path: Path, name: str = "dataflow") -> Path:
    """Write `to_onnx(graph)` atomically to `path`."""
    model = to_onnx(graph, name)
    with atomic_file(path, suffix=".onnx") as tmp:
        onnx.save(model, str(tmp))
    return Path(path)


def _node(n: Node) -> tuple[onnx.NodeProto, list[onnx.TensorProto]]:
    arrays = {k: param_array(v) for k, v in n.params.items()}
    params = [
        numpy_helper.from_array(a, f"{n.name}.{k}") for k, a in arrays.items() if a is not None
    ]
    node = helper.make_node(
        n.kind,
        [*n.inputs, *(p.name for p in params)],
        list(n.outputs),
        name=n.name,
        domain=DOMAIN,
        doc_string=(type(n.config).__doc__ or "").strip().split("\n")[0],
    )
    for f in dataclasses.fields(n.config):
        value = getattr(n.config, f.name)
        if f.name != "name" and value is not None:
            node.attribute.append(_attribute(f.name, value))
    for k, a in arrays.items():
        if a is None:  # not an array (an importer's note such as a DataType): its text
            node.attribute.append(_attribute(PARAM_ATTRIBUTE + k, n.params[k]))
    return node, params


def _attribute(key: str, value) -> onnx.AttributeProto:
    if isinstance(value, tuple | list):
        items = [_scalar(v) for v in value]
        if all(isinstance(v, int) for v in items):
            return helper.make_attribute(key, items, attr_type=onnx.AttributeProto.INTS)
        if all(isinstance(v, float) for v in items):
            return helper.make_attribute(key, items, attr_type=onnx.AttributeProto.FLOATS)
        return helper.make_attribute(key, [str(v) for v in items])
    return helper.make_attribute(key, _scalar(value))


def _scalar(value) -> int | float | str:
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)  # DataType -> "INT8"; anything else a kind adds: its text, for viewing


def param_array(value) -> np.ndarray | None:
    """A parameter as a numeric array, or None if it is not one (e.g. an importer's DataType)."""
    a = np.asarray(value)
    if a.dtype == object:
        try:
            a = a.astype(np.int64)  # Python integers (exact INSTA arithmetic) that fit int64
        except (TypeError, ValueError, OverflowError):
            return None
    return a if a.dtype.kind in "biuf" else None


def _value_info(s: Stream) -> onnx.ValueInfoProto:
    vectors, channels = s.shape
    doc = f"element type {s.dtype.name}" if s.dtype is not None else "real-valued"
    return helper.make_tensor_value_info(
        s.name, TensorProto.FLOAT, [1, vectors, channels], doc_string=doc
    )


def _datatype_annotation(s: Stream) -> onnx.TensorAnnotation:
    """qonnx ModelWrapper.set_tensor_datatype's encoding of an element type."""
    ann = onnx.TensorAnnotation(tensor_name=s.name)
    ann.quant_parameter_tensor_names.append(
        onnx.StringStringEntryProto(key="finn_datatype", value=s.dtype.name)
    )
    return ann


# --- import ---------------------------------------------------------------------------------------
def from_onnx(model: onnx.ModelProto) -> DataflowGraph:
    """Inverse of to_onnx: the same streams, configs and parameters."""
    g = model.graph
    dtypes = {
        a.tensor_name: parse(e.value)
        for a in g.quantization_annotation
        for e in a.quant_parameter_tensor_names
        if e.key == "finn_datatype" and e.value
    }
    streams = {v.name: _stream(v, dtypes) for v in [*g.input, *g.value_info, *g.output]}
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    kinds = {k.name: k.config for k in all_kinds()}
    out = DataflowGraph([streams[v.name] for v in g.input], [v.name for v in g.output])
    for p in g.node:
        if p.op_type not in kinds:
            raise MalformedModelError(
                f"node {p.name}: {p.op_type} is not a registered layer kind; "
                f"known: {', '.join(sorted(kinds))}"
            )
        cfg = _config(kinds[p.op_type], p)
        params = {i[len(p.name) + 1 :]: inits[i] for i in p.input if i in inits}
        params.update(_attribute_params(p))
        ins = [i for i in p.input if i not in inits]
        out.add(cfg, ins, [streams[o] for o in p.output], **params)
    return out


def load_onnx(path: Path) -> DataflowGraph:
    return from_onnx(onnx.load(str(path)))


def _stream(v: onnx.ValueInfoProto, dtypes: dict[str, DataType]) -> Stream:
    dims = [d.dim_value for d in v.type.tensor_type.shape.dim]
    return Stream(v.name, dtypes.get(v.name), (dims[1], dims[2]))


def _config(cls: type, p: onnx.NodeProto):
    hints = typing.get_type_hints(cls)
    values = {a.name: helper.get_attribute_value(a) for a in p.attribute}
    kwargs = {k: _decode(v, hints[k]) for k, v in values.items() if k in hints}
    return cls(name=p.name, **kwargs)


def _attribute_params(p: onnx.NodeProto) -> dict:
    """The parameters to_onnx kept as attributes; a DataType's name reads back as the type."""
    out = {}
    for a in p.attribute:
        if a.name.startswith(PARAM_ATTRIBUTE):
            v = helper.get_attribute_value(a)
            v = v.decode() if isinstance(v, bytes) else v
            try:
                out[a.name[len(PARAM_ATTRIBUTE) :]] = parse(v) if isinstance(v, str) else v
            except ConfigError:
                out[a.name[len(PARAM_ATTRIBUTE) :]] = v
    return out


def _decode(value, hint):
    if isinstance(value, bytes):
        value = value.decode()
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) in (tuple, list):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis] or [object]
        return typing.get_origin(hint)(_decode(v, args[0]) for v in value)
    if hint is DataType:
        return parse(value)
    if isinstance(hint, type) and hint is not object:
        return hint(value)
    return value
