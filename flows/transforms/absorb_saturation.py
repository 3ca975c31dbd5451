"""AbsorbSaturation: AddStreams -> Affine(mul 1, add 0, no shift, saturating) becomes one
saturating AddStreams (docs/numerics.md section 6: the saturation after a residual add).

RequantToInteger turns the float requantisation after a residual add into an Affine whose
constants are all 1 and 0 where the add's range is wider than the requantised type: a pure
clamp. As an Affine it is a layer of its own, with constant memories (or a DRAM stream), a
multiplier and a link; inside the AddStreams it is two compares per lane. The result is the same
integer function: sat(a + b) onto the Affine's saturation type.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from flows.graph import DataflowGraph
from flows.layers import AddStreams, Affine
from flows.transforms.base import Transformation
from flows.transforms.edits import remove_node, rewire


class AbsorbSaturation(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for aff in graph.nodes:
            cfg = aff.config
            if not isinstance(cfg, Affine) or cfg.shift or cfg.saturate_type is None:
                continue
            if not (np.all(aff.params["mul"] == 1) and np.all(aff.params["add"] == 0)):
                continue
            add = graph.producer(aff.inputs[0])
            if add is None or not isinstance(add.config, AddStreams):
                continue
            if add.config.saturate_type is not None or graph.single_consumer(aff.inputs[0]) is None:
                continue
            add.config = replace(add.config, saturate_type=cfg.saturate_type)
            remove_node(graph, aff)
            rewire(graph, aff.outputs[0], add.outputs[0])
            # the add's stream keeps its name; its type is the saturated one (infer_types)
            return True
        return False
