"""Read a model for the accounting: validate, clean with qonnx's `cleanup_model`, keep names.

One detail differs from the frontend's `load`: qonnx's cleanup renames every node (`Conv_3`); the
per-layer table is more useful with the exporter's names (`/units/units.3/conv/Conv`), so each
node's original name is carried through the cleanup in its `doc_string` (on our copy only) and
restored afterwards.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.util.cleanup import cleanup_model

from flows.errors import MalformedModelError
from flows.frontend.qonnx_import import read_onnx

_TAG = "flows.opcount.original:"


def read_model(obj: str | Path | ModelWrapper | onnx.ModelProto) -> tuple[ModelWrapper, str]:
    """(cleaned model, label) from a path, a ModelProto or a ModelWrapper."""
    if isinstance(obj, str | Path):
        proto, label = read_onnx(Path(obj)), Path(obj).stem
    elif isinstance(obj, ModelWrapper):
        proto, label = obj.model, obj.graph.name or "model"
    elif isinstance(obj, onnx.ModelProto):
        proto, label = obj, obj.graph.name or "model"
    else:
        raise MalformedModelError(
            f"count_ops takes an ONNX path, ModelProto or ModelWrapper, not {type(obj).__name__}"
        )
    proto = _tagged_copy(proto)
    try:
        model = cleanup_model(ModelWrapper(proto))
    except Exception as e:  # noqa: BLE001 - qonnx raises several types for a bad graph
        raise MalformedModelError(f"{label}: qonnx cleanup failed ({e})") from None
    _restore(model)
    return model, label


def _tagged_copy(proto: onnx.ModelProto) -> onnx.ModelProto:
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    for node in copy.graph.node:
        node.doc_string = _TAG + node.name
    return copy


def _restore(model: ModelWrapper) -> None:
    for node in model.graph.node:
        if node.doc_string.startswith(_TAG):
            node.name = node.doc_string[len(_TAG) :] or node.name
            node.doc_string = ""
