"""Graph edits the lowering rewrites share: remove a node, point a consumer or every consumer at
another stream, find the FloatAffine that only feeds a node, and read a per-tensor positive
scale."""

from __future__ import annotations

import numpy as np

from flows.errors import UnsupportedPatternError
from flows.graph import DataflowGraph, Node
from flows.layers import FloatAffine


def remove_node(graph: DataflowGraph, node: Node) -> None:
    graph.nodes.remove(node)


def retarget(node: Node, old: str, new: str) -> None:
    """`node` reads stream `new` where it read `old`."""
    node.inputs = [new if i == old else i for i in node.inputs]


def rewire(graph: DataflowGraph, old: str, new: str) -> None:
    """Every consumer (and graph output) of stream `old` reads `new`; `old` is dropped."""
    for n in graph.nodes:
        retarget(n, old, new)
    graph.outputs = [new if o == old else o for o in graph.outputs]
    graph.streams.pop(old, None)


def affine_producer(graph: DataflowGraph, stream: str) -> Node | None:
    """The FloatAffine producing `stream` if it has no other consumer, else None."""
    prod = graph.producer(stream)
    if prod is None or not isinstance(prod.config, FloatAffine):
        return None
    return prod if graph.single_consumer(stream) is not None else None


def uniform(v: np.ndarray) -> bool:
    return bool(np.all(v == v.ravel()[0]))


def positive_scale(graph: DataflowGraph, node: Node, what: str) -> tuple[Node, float] | None:
    """(FloatAffine, s) if input 0 of `node` is s * x with x an integer stream, uniform s > 0,
    add 0; None while the pattern is not there yet."""
    aff = affine_producer(graph, node.inputs[0])
    if aff is None or graph.streams[aff.inputs[0]].dtype is None:
        return None
    before = graph.producer(aff.inputs[0])
    if before is not None and isinstance(before.config, FloatAffine):
        return None  # not collapsed yet
    m, a = aff.params["mul"], aff.params["add"]
    if not (uniform(m) and np.all(a == 0) and m.ravel()[0] > 0):
        raise UnsupportedPatternError(
            f"{node.name}: {what} needs its input as one positive per-tensor scale times an "
            f"integer stream; found a per-channel affine (mul {m[:3]}, add {a[:3]})"
        )
    return aff, float(m.ravel()[0])
