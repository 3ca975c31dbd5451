"""FactorWeightScales: MatMul(W_int * s) -> MatMul(W_int) followed by FloatAffine(s).

Requires the scale to be constant along the input axis (per-tensor or per-output-channel), which is
what makes `x @ (W_int * s).T == (x @ W_int.T) * s` hold. After this step the MatMul is integer.
"""

from __future__ import annotations

import numpy as np

from flows.errors import UnsupportedPatternError
from flows.graph import DataflowGraph, Node, Stream
from flows.layers import FloatAffine, MatMul
from flows.transforms.base import Transformation


class FactorWeightScales(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for node in graph.nodes:
            cfg = node.config
            if not isinstance(cfg, MatMul) or cfg.weight_type is not None:
                continue
            if "int_weights" not in node.params:
                continue
            scale = node.params.pop("weight_scale")
            per_channel = scale[:, :1]
            if not np.all(scale == per_channel):
                raise UnsupportedPatternError(
                    f"{cfg.name}: weight scale varies along the input axis; only per-tensor or "
                    "per-output-channel weight scales can be factored out"
                )
            wtype = node.params.pop("int_weight_type")
            node.params["weights"] = node.params.pop("int_weights")
            graph.replace_config(node, weight_type=wtype)
            old_out = node.outputs[0]
            mid = graph.unique_name(cfg.name + "_int")
            shape = graph.streams[old_out].shape
            node.outputs[0] = mid
            graph.set_stream(Stream(mid, None, shape))
            scale_cfg = FloatAffine(
                name=graph.unique_name(cfg.name + "_scale"),
                channels=cfg.mh,
                num_vectors=cfg.num_vectors,
            )
            params = {"mul": per_channel[:, 0].astype(np.float64), "add": np.zeros(cfg.mh)}
            # the affine takes over the MatMul's old output stream (graph.add would refuse it)
            graph.nodes.append(Node(scale_cfg, [mid], [old_out], params))
            return True
        return False
