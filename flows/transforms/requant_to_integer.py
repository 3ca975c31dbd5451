"""RequantToInteger: integer x -> FloatAffine(m, a) -> Requant(s) becomes an `Affine` with a 16-bit
mantissa, a rounding shift and saturation (docs/numerics.md section 6); removed when it is the
identity. `fixed_point` is the common-exponent rule PReLUToInteger shares."""

from __future__ import annotations

import numpy as np

from flows.errors import NumericContractError
from flows.fixedpoint import fit_exponent, rne
from flows.graph import DataflowGraph, Node
from flows.hwmodel.ranges import smallest_type
from flows.layers import (
    Affine,
    Requant,
)
from flows.transforms.base import Transformation
from flows.transforms.edits import affine_producer, remove_node, rewire

MUL_BITS = 16  # fixed-point mantissas of scales and slopes (numerics section 6)
MAX_ADD_BITS = 40  # widest offset accepted next to a 16-bit mantissa


def fixed_point(name: str, muls: list[np.ndarray], adds: list[np.ndarray]):
    """Common exponent F >= 0 for 16-bit mantissas of `muls`; (F, int muls, int adds, add type)."""
    every = np.concatenate(muls + adds)
    if np.all(every == np.round(every)):
        f = 0  # integer factors (e.g. the saturation after an add): exact without a shift
    else:
        f = None
    try:
        f = (
            f
            if f is not None
            else fit_exponent(np.concatenate(muls), MUL_BITS, max_exponent=30, min_exponent=0)
        )
    except ValueError:
        raise NumericContractError(
            f"{name}: a scale factor of {float(np.max(np.abs(np.concatenate(muls)))):.4g} "
            f"does not fit a {MUL_BITS}-bit mantissa with a non-negative exponent"
        ) from None
    imuls = [rne(m * 2.0**f).astype(np.int64) for m in muls]
    iadds = [rne(a * 2.0**f).astype(np.int64) for a in adds]
    allv = np.concatenate(iadds)
    at = smallest_type(min(int(allv.min()), -1), max(int(allv.max()), 0))
    if at.bits > MAX_ADD_BITS:
        raise NumericContractError(
            f"{name}: an offset needs {at.bits} bits at exponent {f} (more than {MAX_ADD_BITS})"
        )
    return f, imuls, iadds, at


class RequantToInteger(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for rq in graph.nodes:
            if not isinstance(rq.config, Requant):
                continue
            aff = affine_producer(graph, rq.inputs[0])
            if aff is None:
                continue
            xt = graph.streams[aff.inputs[0]].dtype
            if xt is None:
                continue
            s, out_t = rq.config.scale, rq.config.output_type
            m = aff.params["mul"] / s
            a = aff.params["add"] / s
            x, out = aff.inputs[0], rq.outputs[0]
            remove_node(graph, aff)
            remove_node(graph, rq)
            del graph.streams[aff.outputs[0]]
            if np.all(m == 1) and np.all(a == 0) and out_t.min <= xt.min and xt.max <= out_t.max:
                rewire(graph, out, x)  # q(s * x) = x: the identity on the grid
                return True
            f, (mul,), (add,), at = fixed_point(rq.name, [m], [a])
            mt = smallest_type(min(int(mul.min()), -1), max(int(mul.max()), 1))
            cfg = Affine(
                name=rq.name, channels=rq.config.channels, input_type=xt, mul_type=mt,
                add_type=at, num_vectors=rq.config.num_vectors, shift=f, saturate_type=out_t,
            )  # fmt: skip
            graph.nodes.append(Node(cfg, [x], [out], {"mul": mul, "add": add}))
            return True
        return False
