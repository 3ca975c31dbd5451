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
from flows.layers import Affine, LabelSelect, all_kinds, kind_of


def to_stream(images: np.ndarray, graph: DataflowGraph) -> np.ndarray:
    """Images (N, ...) in NCHW or flat order -> the graph's input stream (N, vectors, channels)
    (raster order, channels last: docs/numerics.md section 1)."""
    vectors, channels = graph.streams[graph.inputs[0]].shape
    x = np.asarray(images).astype(np.int64)
    if vectors == 1:
        return x.reshape(len(x), 1, -1)
    return x.reshape(len(x), channels, vectors).transpose(0, 2, 1)


def _logit_affine(graph: DataflowGraph):
    label = next(n for n in graph.nodes if isinstance(n.config, LabelSelect))
    node = graph.producer(label.inputs[0])
    return node if node is not None and isinstance(node.config, Affine) else None


def final_rounding_bound(graph: DataflowGraph, acc: np.ndarray | None = None) -> np.ndarray:
    """Section 5's bound 2^-(F+1) (|acc| + 1) on a logit's error, per image: from the observed
    accumulators `acc` (frames, ..., C) of the logit Affine, else from its input type's range."""
    node = _logit_affine(graph)
    if node is None:
        return np.zeros(1 if acc is None else len(acc))
    t = node.config.input_type
    peak = (
        np.abs(acc).reshape(len(acc), -1).max(axis=1)
        if acc is not None
        else np.array([max(abs(t.min), abs(t.max))])
    )
    return 2.0 ** -(node.config.frac_bits + 1) * (peak + 1)


def by_construction(kind_name: str) -> bool:
    """True for a kind whose integer arithmetic differs from the float model by construction
    (`LayerKind.exact` False; numerics 3, 6, 9, 10): a disagreement whose first differing layer
    is one of these is explained."""
    return any(k.name == kind_name and not k.exact for k in all_kinds())


def first_divergence(
    graph: DataflowGraph, float_graph: DataflowGraph, x: np.ndarray
) -> list[str | None]:
    """Per image: the kind of the first layer (topological order, the logit Affine and the
    LabelSelect excluded) whose output differs from the float graph's, or None."""
    fv = float_graph.execute({float_graph.inputs[0]: x}, keep_all=True)
    gv = graph.execute({graph.inputs[0]: x}, keep_all=True)
    last = _logit_affine(graph)
    first: list[str | None] = [None] * len(x)
    for node in graph.topological():
        if node is last or isinstance(node.config, LabelSelect):
            continue
        for o in node.outputs:
            if o in fv and fv[o].shape == gv[o].shape:
                diff = (gv[o] != fv[o]).reshape(len(x), -1).any(axis=1)
                for i in np.flatnonzero(diff):
                    first[i] = first[i] or node.kind
    return first


def _integer_valued(v: np.ndarray) -> bool:
    return np.issubdtype(v.dtype, np.integer) or bool(np.all(v == np.round(v)))


def layer_flips(graph: DataflowGraph, float_graph: DataflowGraph, x: np.ndarray) -> list[dict]:
    """Per layer of `graph` whose output stream also exists (same name, shape) in `float_graph`:
    the fraction of output elements that differ, locally and propagated, and the largest
    propagated difference (in output units; BIPOLAR: 2 per flipped bit; the logit Affine: the
    largest logit error in real units, no flip fractions)."""
    fv = float_graph.execute({float_graph.inputs[0]: x}, keep_all=True)
    gv = graph.execute({graph.inputs[0]: x}, keep_all=True)
    lv: dict[str, np.ndarray] = {}  # integer layers fed with the float graph's values
    logit = _logit_affine(graph)
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
        if node is logit:  # fixed-point logits vs real ones: the error in logit units
            err = np.abs(gv[out] * 2.0**-node.config.frac_bits - fv[out])
            rows.append({"layer": node.name, "kind": node.kind, "stream": out,
                         "type": str(graph.streams[out].dtype), "local_flips": None,
                         "propagated_flips": None, "max_abs_diff": float(err.max())})  # fmt: skip
            continue
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
    values = graph.execute({graph.inputs[0]: x}, keep_all=True)
    pred = values[graph.outputs[0]][:, 0, 0]
    ref = logits.argmax(axis=1)
    bad = np.flatnonzero(pred != ref)
    top2 = np.sort(logits, axis=1)[:, -2:]
    gap = top2[:, 1] - top2[:, 0]
    logit_node = _logit_affine(graph)
    acc = values[logit_node.inputs[0]] if logit_node is not None else None
    bound = final_rounding_bound(graph, acc)
    bound = np.broadcast_to(bound, (len(x),))
    causes = {"final_rounding": 0, "float32_tie": 0, "upstream_fixed_point": 0, "unexplained": 0}
    by_kind: dict[str, int] = {}
    f64, first = None, [None] * len(bad)
    if float_graph is not None and len(bad):
        f64 = float_graph.run(x[bad])[:, 0, :].argmax(axis=1)
        first = first_divergence(graph, float_graph, x[bad])
    for k, i in enumerate(bad):
        if f64 is not None and f64[k] != ref[i]:
            causes["float32_tie"] += 1
        elif first[k] is not None and by_construction(first[k]):
            causes["upstream_fixed_point"] += 1
            by_kind[first[k]] = by_kind.get(first[k], 0) + 1
        elif gap[i] < 2 * bound[i]:
            causes["final_rounding"] += 1
        else:
            causes["unexplained"] += 1
    return {
        "images": int(len(images)),
        "agree": int(len(images) - len(bad)),
        "agreement": float(1 - len(bad) / len(images)),
        "accuracy": float((pred == labels).mean()),
        "float_accuracy": float((ref == labels).mean()),
        "final_rounding_bound": float(bound.max()) if len(bound) else 0.0,
        "first_divergence": by_kind,
        **causes,
    }
