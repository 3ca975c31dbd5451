"""The papers' OPs and parameter accounting over any cleaned QONNX graph (docs/ops.md).

Follows the INSTA-BNN supplementary, section C, in the papers' FP32 convention (not the integer
hardware): `OPs = FLOPs + BOPs / 64`, only multiplications count (one MAC = one FLOP or one BOP),
binary weights are 1 bit, SE weights 8 bits, every other parameter 32 bits. The per-op rules live
in `flows.opcount.rules` (standard ops) and `flows.opcount.insta_rules` (the INSTA custom ops);
every reading of an ambiguous rule is stated there and in docs/ops.md.

    report = count_ops("build/insta_resnet18/insta_resnet18.onnx")
    report.ops, report.params_bits, report.to_json()

This module never imports `sw`: it reads the ONNX graph only.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from qonnx.core.modelwrapper import ModelWrapper

from flows.errors import UnsupportedOpError
from flows.opcount.insta_rules import INSTA_RULES
from flows.opcount.load import read_model
from flows.opcount.report import BOPS_PER_FLOP, LayerOps, OpsReport
from flows.opcount.rules import RULES
from flows.opcount.view import GraphView

__all__ = ["BOPS_PER_FLOP", "LayerOps", "OpsReport", "count_ops", "supported_ops"]


def supported_ops() -> list[str]:
    """The op types the accounting knows, sorted."""
    return sorted({*RULES, *INSTA_RULES})


def count_ops(model_or_path: str | Path | ModelWrapper | onnx.ModelProto) -> OpsReport:
    """Count FLOPs, BOPs and parameters of a QONNX model, one row per costed node.

    The model (a path, ModelWrapper or ModelProto) is validated and cleaned with qonnx's
    `cleanup_model`, keeping the exporter's node names (flows.opcount.load). Raises
    UnsupportedOpError for an op without a rule, naming the op and the node, and
    UnsupportedPatternError for a tensor without a static shape.
    """
    model, label = read_model(model_or_path)
    view = GraphView(model)
    report = OpsReport(model=label)
    for node in model.graph.node:
        if view.is_folded(node):  # weight quantisers and other constant sub-expressions
            continue
        rule = RULES.get(node.op_type) or INSTA_RULES.get(node.op_type)
        if rule is None:
            raise UnsupportedOpError(
                f"op {node.op_type} (node {node.name!r}) has no OPs accounting rule; "
                f"supported ops: {', '.join(supported_ops())}. Add a rule in flows/opcount/rules.py "
                "or export the model without this op"
            )
        report.layers.extend(rule(view, node))
    return report
