"""FinalAffineToFixedPoint: the last FloatAffine -> integer Affine, then append LabelSelect.

docs/numerics.md section 5: mul = rne(m * 2^F), add = rne(a * 2^F), F the largest value for which
both fit INT16; the hardware computes mul*x + add exactly and the argmax ignores the common 2^-F.
"""

from __future__ import annotations

import numpy as np

from flows.datatypes import INT
from flows.errors import UnsupportedPatternError
from flows.graph import DataflowGraph, Stream
from flows.layers import Affine, FloatAffine, LabelSelect
from flows.transforms.base import Transformation

CONST_BITS = 16


def choose_frac_bits(values: np.ndarray, bits: int = CONST_BITS) -> int:
    """Largest F such that every rne(v * 2^F) fits INT(bits)."""
    peak = float(np.max(np.abs(values))) if np.size(values) else 0.0
    if peak == 0.0:
        return 0
    f = int(np.floor(np.log2((2 ** (bits - 1) - 1) / peak)))
    while np.max(np.abs(np.round(values * 2.0**f))) > 2 ** (bits - 1) - 1:
        f -= 1
    return f


class FinalAffineToFixedPoint(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for node in graph.nodes:
            cfg = node.config
            if not isinstance(cfg, FloatAffine) or node.outputs[0] not in graph.outputs:
                continue
            xt = graph.streams[node.inputs[0]].dtype
            if xt is None:
                raise UnsupportedPatternError(
                    f"{cfg.name}: the last affine's input is not an integer stream"
                )
            m, a = node.params["mul"], node.params["add"]
            f = choose_frac_bits(np.concatenate([m, a]))
            mul, add = np.round(m * 2.0**f), np.round(a * 2.0**f)  # np.round is half-to-even
            node.config = Affine(
                name=cfg.name,
                channels=cfg.channels,
                input_type=xt,
                mul_type=INT(CONST_BITS),
                add_type=INT(CONST_BITS),
                frac_bits=f,
                num_vectors=cfg.num_vectors,
            )
            node.params = {"mul": mul.astype(np.int64), "add": add.astype(np.int64)}
            return True
        return False


class InsertLabelSelect(Transformation):
    """Append a LabelSelect to the (single, integer) graph output unless one is there."""

    def rewrite(self, graph: DataflowGraph) -> bool:
        (out,) = graph.outputs
        prod = graph.producer(out)
        if prod is not None and isinstance(prod.config, LabelSelect):
            return False
        s = graph.streams[out]
        if s.dtype is None:
            raise UnsupportedPatternError(f"graph output {out} is not an integer stream")
        cfg = LabelSelect(
            name=graph.unique_name("LabelSelect"),
            channels=s.shape[1],
            input_type=s.dtype,
            num_vectors=s.shape[0],
        )
        label = Stream(graph.unique_name("label"), None, (s.shape[0], 1))
        graph.add(cfg, [out], [label])
        graph.outputs = [label.name]
        return True
