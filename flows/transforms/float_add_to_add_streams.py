"""FloatAddToAddStreams: FloatAffine(s) -> FloatAdd <- FloatAffine(s) on integer inputs becomes
AddStreams -> FloatAffine(s). Inputs with different scales are rejected (the residual stream's
two inputs share one quantiser: docs/numerics.md section 6)."""

from __future__ import annotations

import numpy as np

from flows.errors import UnsupportedPatternError
from flows.graph import DataflowGraph, Node, Stream
from flows.layers import (
    AddStreams,
    FloatAdd,
    FloatAffine,
)
from flows.transforms.base import Transformation
from flows.transforms.edits import affine_producer, remove_node, uniform


class FloatAddToAddStreams(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for node in graph.nodes:
            if not isinstance(node.config, FloatAdd):
                continue
            affs = [affine_producer(graph, i) for i in node.inputs]
            if any(a is None or graph.streams[a.inputs[0]].dtype is None for a in affs):
                continue
            scales = []
            for a in affs:
                m, add = a.params["mul"], a.params["add"]
                if not uniform(m) or np.any(add != 0):
                    raise UnsupportedPatternError(
                        f"residual add {node.name}: input {a.outputs[0]!r} is not an integer "
                        "stream times one per-tensor scale; quantise both add inputs with the "
                        "same quantiser (docs/numerics.md section 6)"
                    )
                scales.append(float(m.ravel()[0]))
            if scales[0] != scales[1]:
                raise UnsupportedPatternError(
                    f"residual add {node.name}: inputs have different scales {scales[0]:.6g} "
                    f"({affs[0].outputs[0]}) and {scales[1]:.6g} ({affs[1].outputs[0]}); use one "
                    "quantiser instance for both add inputs (docs/numerics.md section 6)"
                )
            types = tuple(graph.streams[a.inputs[0]].dtype for a in affs)
            vectors, channels = graph.streams[node.outputs[0]].shape
            for a in affs:
                remove_node(graph, a)
                del graph.streams[a.outputs[0]]
            remove_node(graph, node)
            out = node.outputs[0]
            mid = Stream(graph.unique_name(out + "_int"), None, (vectors, channels))
            add = AddStreams(name=node.name, channels=channels, input_types=types,
                             num_vectors=vectors)  # fmt: skip
            graph.add(add, [a.inputs[0] for a in affs], [mid])
            scale = FloatAffine(name=graph.unique_name(node.name + "_scale"), channels=channels,
                                num_vectors=vectors)  # fmt: skip
            graph.nodes.append(Node(scale, [mid.name], [out],
                                    {"mul": np.full(channels, scales[0]),
                                     "add": np.zeros(channels)}))  # fmt: skip
            return True
        return False
