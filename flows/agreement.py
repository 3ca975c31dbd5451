"""Agreement of the integer graph with the float model, with every disagreement explained.

Two causes are known by construction (docs/numerics.md):
  * `final_rounding`: the last layer's fixed-point constants; the float top-2 gap is below twice the
    bound 2^-(F+1) * (max|acc| + 1) (section 5);
  * `float32_tie`: a pre-sign value within float32 rounding of zero (section 3); detected by the
    exact float64 evaluation of the imported graph disagreeing with the float32 model.
Any other disagreement is `unexplained`, and the tests require none for the all-threshold nets.

ResNets add differences by construction (fixed-point BN / RPReLU constants, mu rounded onto the
input grid in INSTA modules, float32 INSTA statistics; docs/numerics.md sections 6, 9, 10);
`layer_flips` measures them per layer, both *local* (the integer layer fed with the float graph's
own values of its inputs: what this layer's arithmetic changes) and *propagated* (the whole integer
graph: what reaches this point).
"""

from __future__ import annotations

import numpy as np

from flows.graph import DataflowGraph
from flows.layers import Affine, LabelSelect, kind_of


def to_stream(images: np.ndarray, graph: DataflowGraph) -> np.ndarray:
    """Images (N, ...) in NCHW or flat order -> the graph's input stream (N, vectors, channels)
    (raster order, channels last: docs/numerics.md section 1)."""
    vectors, channels = graph.streams[graph.inputs[0]].shape
    x = np.asarray(images).astype(np.int64)
    if vectors == 1:
        return x.reshape(len(x), 1, -1)
    return x.reshape(len(x), channels, vectors).transpose(0, 2, 1)


def final_rounding_bound(graph: DataflowGraph) -> float:
    """Section 5's bound for the fixed-point Affine that feeds the LabelSelect."""
    label = next(n for n in graph.nodes if isinstance(n.config, LabelSelect))
    node = graph.producer(label.inputs[0])
    if node is None or not isinstance(node.config, Affine):
        return 0.0
    t = node.config.input_type
    return 2.0 ** -(node.config.frac_bits + 1) * (max(abs(t.min), abs(t.max)) + 1)


def _integer_valued(v: np.ndarray) -> bool:
    return np.issubdtype(v.dtype, np.integer) or bool(np.all(v == np.round(v)))


def layer_flips(graph: DataflowGraph, float_graph: DataflowGraph, x: np.ndarray) -> list[dict]:
    """Per layer of `graph` whose output stream also exists (same name, shape) in `float_graph`:
    the fraction of output elements that differ, locally and propagated, and the largest
    propagated difference (in output units; BIPOLAR: flipped bits)."""
    fv = float_graph.execute({float_graph.inputs[0]: x}, keep_all=True)
    gv = graph.execute({graph.inputs[0]: x}, keep_all=True)
    lv: dict[str, np.ndarray] = {}  # integer layers fed with the float graph's values
    rows = []
    for node in graph.topological():
        ins = []
        for i in node.inputs:
            if i in fv and _integer_valued(fv[i]):
                ins.append(np.round(fv[i]).astype(np.int64))
            elif i in lv:
                ins.append(lv[i])
            else:
                break
        if len(ins) == len(node.inputs):
            res = kind_of(node.config).execute(node.config, node.params, ins)
            lv.update(zip(node.outputs, res, strict=True))
        outs = [o for o in node.outputs if o in fv and fv[o].shape == gv[o].shape]
        if not outs:
            continue
        out = outs[0]
        local = float(np.mean(lv[out] != fv[out])) if out in lv else None
        rows.append({
            "layer": node.name, "kind": node.kind, "stream": out,
            "type": str(graph.streams[out].dtype),
            "local_flips": local,
            "propagated_flips": float(np.mean(gv[out] != fv[out])),
            "max_abs_diff": float(np.max(np.abs(gv[out] - fv[out]))),
        })  # fmt: skip
    return rows


def agreement(
    graph: DataflowGraph,
    images: np.ndarray,
    logits: np.ndarray,
    labels: np.ndarray,
    float_graph: DataflowGraph | None = None,
) -> dict:
    x = to_stream(images, graph)
    pred = graph.run(x)[:, 0, 0]
    ref = logits.argmax(axis=1)
    bad = np.flatnonzero(pred != ref)
    top2 = np.sort(logits, axis=1)[:, -2:]
    gap = top2[:, 1] - top2[:, 0]
    bound = final_rounding_bound(graph)
    causes = {"final_rounding": 0, "float32_tie": 0, "unexplained": 0}
    f64 = None
    if float_graph is not None and len(bad):
        f64 = float_graph.run(x[bad])[:, 0, :].argmax(axis=1)
    for k, i in enumerate(bad):
        if gap[i] < 2 * bound:
            causes["final_rounding"] += 1
        elif f64 is not None and f64[k] != ref[i]:
            causes["float32_tie"] += 1
        else:
            causes["unexplained"] += 1
    return {
        "images": int(len(images)),
        "agree": int(len(images) - len(bad)),
        "agreement": float(1 - len(bad) / len(images)),
        "accuracy": float((pred == labels).mean()),
        "float_accuracy": float((ref == labels).mean()),
        "final_rounding_bound": bound,
        **causes,
    }
