"""Agreement of the integer graph with the float model, with every disagreement explained.

Two causes are known by construction (docs/numerics.md):
  * `final_rounding`: the last layer's fixed-point constants; the float top-2 gap is below twice the
    bound 2^-(F+1) * (max|acc| + 1) (section 5);
  * `float32_tie`: a pre-sign value within float32 rounding of zero (section 3); detected by the
    exact float64 evaluation of the imported graph disagreeing with the float32 model.
Any other disagreement is `unexplained`, and the tests require none.
"""

from __future__ import annotations

import numpy as np

from flows.graph import DataflowGraph
from flows.layers import Affine


def final_rounding_bound(graph: DataflowGraph) -> float:
    node = next(n for n in graph.nodes if isinstance(n.config, Affine))
    t = node.config.input_type
    return 2.0 ** -(node.config.frac_bits + 1) * (max(abs(t.min), abs(t.max)) + 1)


def agreement(
    graph: DataflowGraph,
    images: np.ndarray,
    logits: np.ndarray,
    labels: np.ndarray,
    float_graph: DataflowGraph | None = None,
) -> dict:
    x = images.reshape(len(images), 1, -1).astype(np.int64)
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
