"""SplitForkedAffines: a FloatAffine with k consumers becomes k copies (exact; lets each consumer
absorb its own copy)."""

from __future__ import annotations

from dataclasses import replace

from flows.graph import DataflowGraph, Stream
from flows.layers import FloatAffine
from flows.transforms.base import Transformation
from flows.transforms.edits import retarget


class SplitForkedAffines(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for node in graph.nodes:
            if not isinstance(node.config, FloatAffine):
                continue
            out = node.outputs[0]
            users = graph.consumers(out)
            if len(users) < 2 or out in graph.outputs:
                continue
            for k, user in enumerate(users[1:], start=1):
                name = graph.unique_name(f"{node.name}_c{k}")
                copy = Stream(graph.unique_name(f"{out}_c{k}"), None, graph.streams[out].shape)
                graph.add(replace(node.config, name=name), node.inputs, [copy],
                          **{k2: v.copy() for k2, v in node.params.items()})  # fmt: skip
                retarget(user, out, copy.name)
            return True
        return False
