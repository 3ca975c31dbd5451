"""MoveAffineDown: a FloatAffine moves below data movement and linear layers: SlidingWindow (zero
padding only with add 0), MaxPool (positive mul), AvgPool/GlobalAvgPool (sums: add times the
window size), MatMul (uniform mul: W(mx + a) = m Wx + Wa). Exact in real arithmetic."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from flows.graph import DataflowGraph, Node, Stream
from flows.layers import (
    AvgPool,
    FloatAffine,
    GlobalAvgPool,
    MatMul,
    MaxPool,
    SlidingWindow,
)
from flows.transforms.base import Transformation
from flows.transforms.edits import uniform


class MoveAffineDown(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for aff in graph.nodes:
            if not isinstance(aff.config, FloatAffine):
                continue
            user = graph.single_consumer(aff.outputs[0])
            if user is None or len(user.inputs) != 1 or len(user.outputs) != 1:
                continue
            moved = self._through(user, aff.params["mul"], aff.params["add"])
            if moved is None:
                continue
            mul, add = moved
            # aff's input feeds user; user's output goes through a new affine
            x, mid, out = aff.inputs[0], aff.outputs[0], user.outputs[0]
            user.inputs = [x]
            del graph.streams[mid]
            new_mid = graph.unique_name(out + "_pre")
            graph.set_stream(Stream(new_mid, None, graph.streams[out].shape))
            user.outputs = [new_mid]
            vectors, channels = graph.streams[out].shape
            aff.config = replace(aff.config, channels=channels, num_vectors=vectors)
            aff.inputs, aff.outputs = [new_mid], [out]
            aff.params = {"mul": mul, "add": add}
            return True
        return False

    @staticmethod
    def _through(user: Node, m: np.ndarray, a: np.ndarray):
        """(mul, add) after `user`, or None if the affine cannot pass it exactly."""
        cfg = user.config
        if isinstance(cfg, SlidingWindow):
            if cfg.pad and (cfg.pad_value != 0 or np.any(a != 0)):
                return None
            taps = cfg.kernel * cfg.kernel
            return np.tile(m, taps), np.tile(a, taps)
        if isinstance(cfg, MaxPool):
            return (m, a) if np.all(m > 0) else None
        if isinstance(cfg, AvgPool):
            return m, a * cfg.kernel * cfg.kernel
        if isinstance(cfg, GlobalAvgPool):
            return m, a * cfg.num_vectors
        if isinstance(cfg, MatMul) and uniform(m):
            w = np.asarray(user.params["weights"], np.float64)
            mh = w.shape[0]
            return np.full(mh, m.ravel()[0]), w @ a
        return None
