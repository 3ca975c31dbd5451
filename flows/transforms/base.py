"""The transformation contract and stream type inference."""

from __future__ import annotations

from dataclasses import replace

from flows.datatypes import BIPOLAR
from flows.graph import DataflowGraph, Node, Stream
from flows.hwmodel.ranges import dot_range, smallest_type
from flows.layers import (
    AvgPool,
    FloatAdd,
    FloatAffine,
    FloatInsta,
    FloatPReLU,
    GlobalAvgPool,
    MatMul,
    MaxPool,
    Sign,
    SlidingWindow,
)


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
    if isinstance(cfg, FloatAffine | FloatAdd | FloatPReLU | FloatInsta):
        return None
    if isinstance(cfg, SlidingWindow | MaxPool):  # data movement: the input's type passes through
        return graph.streams[node.inputs[0]].dtype
    if isinstance(cfg, AvgPool | GlobalAvgPool):  # sums: widen the input's type
        xt = graph.streams[node.inputs[0]].dtype
        return replace(cfg, input_type=xt).output_type if xt is not None else None
    if isinstance(cfg, MatMul):
        xt = graph.streams[node.inputs[0]].dtype
        if cfg.weight_type is None or xt is None:
            return None
        return smallest_type(*dot_range(xt, cfg.weight_type, cfg.mw))
    return cfg.output_type


def infer_types(graph: DataflowGraph) -> None:
    """Recompute every node-produced stream's element type from the node configs."""
    for node in graph.topological():
        types = getattr(node.config, "output_types", None)
        if types is None:
            types = [_output_type(graph, node)] * len(node.outputs)
        for out, t in zip(node.outputs, types, strict=True):
            s: Stream = graph.streams[out]
            graph.set_stream(replace(s, dtype=t))
