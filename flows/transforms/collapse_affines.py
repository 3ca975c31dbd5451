"""CollapseAffines: FloatAffine -> FloatAffine (single consumer) becomes one FloatAffine.

(x*m1 + a1)*m2 + a2 = x*(m1*m2) + (a1*m2 + a2).
"""

from __future__ import annotations

from flows.graph import DataflowGraph
from flows.layers import FloatAffine
from flows.transforms.base import Transformation


class CollapseAffines(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for first in graph.nodes:
            if not isinstance(first.config, FloatAffine):
                continue
            second = graph.single_consumer(first.outputs[0])
            if second is None or not isinstance(second.config, FloatAffine):
                continue
            m1, a1 = first.params["mul"], first.params["add"]
            m2, a2 = second.params["mul"], second.params["add"]
            first.params = {"mul": m1 * m2, "add": a1 * m2 + a2}
            graph.nodes.remove(second)
            del graph.streams[first.outputs[0]]
            first.outputs = list(second.outputs)
            return True
        return False
