"""AffineSignToThreshold: integer MatMul -> FloatAffine(A, B) -> Sign  =>  MatMul -> Threshold.

docs/numerics.md section 3: sign(A*acc + B) with acc an integer is `acc >= ceil(-B/A)` for A > 0;
for A < 0 the MatMul's weight row is negated (acc' = -acc, exact) and the same form applies with
|A|; A = 0 gives a constant, expressed by a threshold at the edge of the accumulator's range.
"""

from __future__ import annotations

import numpy as np

from flows.errors import UnsupportedPatternError
from flows.graph import DataflowGraph
from flows.layers import FloatAffine, MatMul, Sign, Threshold
from flows.transforms.base import Transformation


def sign_thresholds(a: np.ndarray, b: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Integer T per channel with sign(|a|*acc + b) = +1 <=> acc >= T, clamped to [lo, hi+1]."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.empty(a.shape, dtype=np.float64)
    nz = a != 0
    t[nz] = np.ceil(-b[nz] / np.abs(a[nz]))
    t[~nz] = np.where(b[~nz] >= 0, lo, hi + 1)
    return np.clip(t, lo, hi + 1).astype(np.int64)


class AffineSignToThreshold(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for aff in graph.nodes:
            if not isinstance(aff.config, FloatAffine):
                continue
            sign = graph.single_consumer(aff.outputs[0])
            prod = graph.producer(aff.inputs[0])
            acc_type = graph.streams[aff.inputs[0]].dtype
            if sign is None or not isinstance(sign.config, Sign) or acc_type is None:
                continue
            a, b = aff.params["mul"], aff.params["add"]
            if np.any(a < 0):
                self._negate_rows(graph, prod, a < 0, aff.config.name)
            thresholds = sign_thresholds(a, b, acc_type.min, acc_type.max)
            cfg = Threshold(
                name=graph.unique_name(aff.config.name + "_thr"),
                channels=aff.config.channels,
                num_thresholds=1,
                input_type=acc_type,
                num_vectors=aff.config.num_vectors,
            )
            graph.nodes.remove(aff)
            graph.nodes.remove(sign)
            del graph.streams[aff.outputs[0]]
            graph.add(
                cfg,
                aff.inputs,
                [graph.streams.pop(sign.outputs[0])],
                thresholds=thresholds[:, None],
            )
            return True
        return False

    @staticmethod
    def _negate_rows(graph, prod, rows: np.ndarray, name: str) -> None:
        if (
            prod is None
            or not isinstance(prod.config, MatMul)
            or len(graph.consumers(prod.outputs[0])) != 1
        ):
            raise UnsupportedPatternError(
                f"{name}: negative BatchNorm slope before a sign needs an integer MatMul producer "
                "with no other consumer (its weight rows are negated)"
            )
        prod.params["weights"] = np.where(
            rows[:, None], -prod.params["weights"], prod.params["weights"]
        )
