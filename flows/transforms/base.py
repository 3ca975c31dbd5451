"""The transformation contract and stream type inference."""

from __future__ import annotations

from dataclasses import replace

from flows.graph import DataflowGraph, Node, Stream
from flows.layers import kind_of


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


class Group(Transformation):
    """Apply each member once per round; changed if any member changed (a joint fixed point)."""

    def __init__(self, *steps: Transformation) -> None:
        self.steps = steps

    def apply(self, graph: DataflowGraph) -> tuple[DataflowGraph, bool]:
        """One copy per round; members rewrite it in place (each rewrite is followed by the
        sort and type inference `Transformation.apply` does), so a full-size ResNet does not
        copy its weights once per rewrite."""
        g = graph.copy()
        changed = False
        for step in self.steps:
            while step.rewrite(g):
                g.sort()
                infer_types(g)
                changed = True
        return g, changed


def apply_repeatedly(graph: DataflowGraph, *steps: Transformation) -> DataflowGraph:
    """Apply each step until it no longer changes the graph."""
    for step in steps:
        changed = True
        while changed:
            graph, changed = step.apply(graph)
    return graph


def _output_types(graph: DataflowGraph, node: Node) -> list:
    """The kind's `output_types` from the input streams' types; else the config's
    `output_types`, else its `output_type` on every output."""
    cfg, kind = node.config, kind_of(node.config)
    if kind.output_types is not None:
        types = list(kind.output_types(cfg, [graph.streams[i].dtype for i in node.inputs]))
        return types * len(node.outputs) if len(types) == 1 else types
    declared = getattr(cfg, "output_types", None)
    return list(declared) if declared is not None else [cfg.output_type] * len(node.outputs)


def infer_types(graph: DataflowGraph) -> None:
    """Recompute every node-produced stream's element type from the node configs."""
    for node in graph.topological():
        types = _output_types(graph, node)
        for out, t in zip(node.outputs, types, strict=True):
            s: Stream = graph.streams[out]
            graph.set_stream(replace(s, dtype=t))
