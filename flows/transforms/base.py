"""The transformation contract and stream type inference."""

from __future__ import annotations

from dataclasses import replace

from flows.datatypes import BIPOLAR, smallest_type
from flows.graph import DataflowGraph, Node, Stream
from flows.layers import FloatAffine, MatMul, MaxPool, Sign, SlidingWindow
from flows.layers.mvau import _dot_range


class Transformation:
    """Subclasses implement `rewrite(graph) -> bool` on a private copy."""

    def apply(self, graph: DataflowGraph) -> tuple[DataflowGraph, bool]:
        g = graph.copy()
        changed = self.rewrite(g)
        if changed:
            g.sort()
            infer_types(g)
        return g, changed

    def rewrite(self, graph: DataflowGraph) -> bool:
        raise NotImplementedError


def apply_repeatedly(graph: DataflowGraph, *steps: Transformation) -> DataflowGraph:
    """Apply each step until it no longer changes the graph."""
    for step in steps:
        changed = True
        while changed:
            graph, changed = step.apply(graph)
    return graph


def _output_type(graph: DataflowGraph, node: Node):
    cfg = node.config
    if isinstance(cfg, Sign):
        return BIPOLAR
    if isinstance(cfg, FloatAffine):
        return None
    if isinstance(cfg, SlidingWindow | MaxPool):  # data movement: the input's type passes through
        return graph.streams[node.inputs[0]].dtype
    if isinstance(cfg, MatMul):
        xt = graph.streams[node.inputs[0]].dtype
        if cfg.weight_type is None or xt is None:
            return None
        return smallest_type(*_dot_range(xt, cfg.weight_type, cfg.mw))
    return cfg.output_type


def infer_types(graph: DataflowGraph) -> None:
    """Recompute every node-produced stream's element type from the node configs."""
    for node in graph.topological():
        t = _output_type(graph, node)
        for out in node.outputs:
            s: Stream = graph.streams[out]
            graph.set_stream(replace(s, dtype=t))
