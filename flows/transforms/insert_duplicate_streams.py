"""InsertDuplicateStreams: a stream with k > 1 consumers gets an explicit DuplicateStreams (the
stitcher needs every stream to have one consumer; a fork is a node)."""

from __future__ import annotations

from flows.graph import DataflowGraph, Stream
from flows.layers import DuplicateStreams
from flows.transforms.base import Transformation
from flows.transforms.edits import retarget


class InsertDuplicateStreams(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for name, s in list(graph.streams.items()):
            users = graph.consumers(name)
            if len(users) < 2 or name in graph.outputs or s.dtype is None:
                continue
            vectors, channels = s.shape
            cfg = DuplicateStreams(
                name=graph.unique_name(name + "_dup"), channels=channels, input_type=s.dtype,
                copies=len(users), num_vectors=vectors,
            )  # fmt: skip
            copies = [Stream(graph.unique_name(f"{name}_{k}"), s.dtype, s.shape)
                      for k in range(len(users))]  # fmt: skip
            for u, cp in zip(users, copies, strict=True):
                retarget(u, name, cp.name)
            graph.add(cfg, [name], copies)
            return True
        return False
