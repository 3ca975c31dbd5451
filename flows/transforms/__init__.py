"""Graph-to-graph transformations: `Transformation.apply(graph) -> (graph, changed)`.

One transformation per file, named after what it does. Each returns a new graph (the input is not
modified) and is tested by executing the graph before and after.
"""

from flows.transforms.base import Transformation, apply_repeatedly, infer_types

__all__ = ["Transformation", "apply_repeatedly", "infer_types"]
