"""FillInputTypes: each node whose config carries an optional `input_type` (MaxPool, AvgPool,
GlobalAvgPool, SlidingWindow) records its input stream's type: their RTL and estimators need it."""

from __future__ import annotations

from dataclasses import replace

from flows.graph import DataflowGraph
from flows.transforms.base import Transformation


class FillInputTypes(Transformation):
    """Record each node's input stream type in configs that carry an optional `input_type`
    (MaxPool, AvgPool, GlobalAvgPool): their emitters and estimators need it."""

    def rewrite(self, graph: DataflowGraph) -> bool:
        for node in graph.nodes:
            cfg = node.config
            if not hasattr(cfg, "input_type") or cfg.input_type is not None:
                continue
            t = graph.streams[node.inputs[0]].dtype
            if t is not None:
                node.config = replace(cfg, input_type=t)
                return True
        return False
