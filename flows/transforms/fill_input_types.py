"""FillInputTypes: each node whose config carries an optional `input_type` (MaxPool, AvgPool,
GlobalAvgPool, SlidingWindow) records its input stream's type: their RTL and estimators need it."""

from __future__ import annotations

from flows.graph import DataflowGraph
from flows.transforms.base import Transformation


class FillInputTypes(Transformation):
    """Record each node's input stream type in configs that carry an optional `input_type`
    (MaxPool, AvgPool, GlobalAvgPool): their emitters and estimators need it."""

    def rewrite(self, graph: DataflowGraph) -> bool:
        for node in graph.nodes:
            typed = graph.typed_config(node)
            if typed is not node.config:
                node.config = typed
                return True
        return False
