"""PReLUToInteger: x -> FloatAffine -> FloatPReLU -> FloatAffine -> Requant becomes an `RPReLU`
(two fixed-point segments sharing one exponent; docs/numerics.md sections 6 and 10)."""

from __future__ import annotations

import numpy as np

from flows.datatypes import INT
from flows.errors import UnsupportedPatternError
from flows.graph import DataflowGraph, Node
from flows.layers import (
    FloatAffine,
    FloatPReLU,
    Requant,
    RPReLU,
)
from flows.transforms.base import Transformation
from flows.transforms.edits import affine_producer, remove_node
from flows.transforms.requant_to_integer import MUL_BITS, fixed_point


class PReLUToInteger(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for pr in graph.nodes:
            if not isinstance(pr.config, FloatPReLU):
                continue
            pre = affine_producer(graph, pr.inputs[0])
            if pre is None or graph.streams[pre.inputs[0]].dtype is None:
                continue
            nxt = graph.single_consumer(pr.outputs[0])
            post = nxt if nxt is not None and isinstance(nxt.config, FloatAffine) else None
            rq = graph.single_consumer(post.outputs[0]) if post is not None else nxt
            if rq is None or not isinstance(rq.config, Requant):
                raise UnsupportedPatternError(
                    f"{pr.name}: a PReLU must be followed (after an optional per-channel affine) "
                    "by an activation quantiser, which fixes its output grid"
                )
            xt = graph.streams[pre.inputs[0]].dtype
            c = pr.config.channels
            m1, a1 = pre.params["mul"], pre.params["add"]
            m2, a2 = (post.params["mul"], post.params["add"]) if post else (np.ones(c), np.zeros(c))
            slope, s = pr.params["slope"], rq.config.scale
            pos = (m2 * m1 / s, (m2 * a1 + a2) / s)
            neg = (m2 * slope * m1 / s, (m2 * slope * a1 + a2) / s)
            th = np.empty(c, dtype=np.float64)
            upper_pos = m1 >= 0
            nz = m1 != 0
            th[nz & (m1 > 0)] = np.ceil(-a1[nz & (m1 > 0)] / m1[nz & (m1 > 0)])
            th[nz & (m1 < 0)] = np.floor(-a1[nz & (m1 < 0)] / m1[nz & (m1 < 0)]) + 1
            th[~nz] = xt.min  # constant branch: always the upper segment
            upper_pos = np.where(nz, m1 > 0, a1 >= 0)
            hi = [np.where(upper_pos, p, n) for p, n in zip(pos, neg, strict=True)]
            lo = [np.where(upper_pos, n, p) for p, n in zip(pos, neg, strict=True)]
            f, (mh, ml), (ah, al), at = fixed_point(pr.name, [hi[0], lo[0]], [hi[1], lo[1]])
            cfg = RPReLU(
                name=pr.name, channels=c, input_type=xt, output_type=rq.config.output_type,
                mul_type=INT(MUL_BITS), add_type=at, shift=f, num_vectors=pr.config.num_vectors,
            )  # fmt: skip
            thr = np.clip(th, xt.min, xt.max + 1).astype(np.int64)
            params = {"threshold": thr, "mul_hi": mh, "add_hi": ah, "mul_lo": ml, "add_lo": al}
            x, out = pre.inputs[0], rq.outputs[0]
            for n in (pre, pr, post, rq):
                if n is not None:
                    remove_node(graph, n)
                    for o in n.outputs:
                        if o != out:
                            graph.streams.pop(o, None)
            graph.nodes.append(Node(cfg, [x], [out], params))
            return True
        return False
