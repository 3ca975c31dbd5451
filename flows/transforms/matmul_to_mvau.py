"""MatMulToMVAU: integer MatMul -> XnorMVAU (bipolar x bipolar) or IntMVAU (otherwise).

An XnorMVAU outputs popcounts p = (acc + mw)/2 (docs/numerics.md section 2), so its consumers are
re-expressed in p: a Threshold T becomes ceil((T + mw)/2); a FloatAffine (m, a) becomes (2m, a - m*mw).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from flows.datatypes import UINT, Kind
from flows.errors import UnsupportedPatternError
from flows.graph import DataflowGraph
from flows.layers import FloatAffine, IntMVAU, MatMul, Threshold, XnorMVAU
from flows.transforms.base import Transformation


class MatMulToMVAU(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for node in graph.nodes:
            cfg = node.config
            xt = graph.streams[node.inputs[0]].dtype
            if not isinstance(cfg, MatMul) or cfg.weight_type is None or xt is None:
                continue
            if xt.kind == Kind.BIPOLAR and cfg.weight_type.kind == Kind.BIPOLAR:
                for user in graph.consumers(node.outputs[0]):
                    _to_popcount(user, cfg.mw)
                if node.outputs[0] in graph.outputs:
                    raise UnsupportedPatternError(
                        f"{cfg.name}: a binary MatMul cannot be a graph output without a scale"
                    )
                node.config = XnorMVAU(
                    name=cfg.name, mw=cfg.mw, mh=cfg.mh, num_vectors=cfg.num_vectors
                )
            else:
                node.config = IntMVAU(
                    name=cfg.name,
                    mw=cfg.mw,
                    mh=cfg.mh,
                    input_type=xt,
                    weight_type=cfg.weight_type,
                    num_vectors=cfg.num_vectors,
                )
            node.params["weights"] = np.asarray(node.params["weights"]).astype(np.int64)
            return True
        return False


def _to_popcount(user, mw: int) -> None:
    cfg = user.config
    if isinstance(cfg, Threshold):
        t = user.params["thresholds"]
        user.params["thresholds"] = np.clip(-((-(t + mw)) // 2), 0, mw + 1)
        user.config = replace(cfg, input_type=UINT(mw.bit_length()))
    elif isinstance(cfg, FloatAffine):
        m, a = user.params["mul"], user.params["add"]
        user.params = {"mul": 2 * m, "add": a - m * mw}
    else:
        raise UnsupportedPatternError(
            f"{cfg.name}: consumer of a binary MatMul must be a threshold or an affine"
        )
