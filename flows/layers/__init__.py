"""The layer kinds of the integer dataflow graph, one record each (docs/architecture.md).

`KINDS` is the one registration: every kind the flow knows, hardware kinds first, then the
transient float kinds that streamlining removes. A kind is one module (or, for the large ones, one
package) of this folder holding its config, golden function and hardware description; its record
(`LayerKind`, flows/layers/registry.py) names all of it.
"""

from flows.layers import (
    add_streams,
    affine,
    avg_pool,
    duplicate_streams,
    global_avg_pool,
    insta_prelu,
    insta_threshold,
    label_select,
    max_pool,
    mvau,
    rprelu,
    sliding_window,
    threshold,
    transient,
    width_converter,
)
from flows.layers.add_streams import AddStreams
from flows.layers.affine import Affine
from flows.layers.avg_pool import AvgPool
from flows.layers.duplicate_streams import DuplicateStreams
from flows.layers.global_avg_pool import GlobalAvgPool
from flows.layers.insta_prelu import InstaPReLU
from flows.layers.insta_threshold import InstaThreshold
from flows.layers.label_select import LabelSelect
from flows.layers.max_pool import MaxPool
from flows.layers.mvau import IntMVAU, XnorMVAU
from flows.layers.registry import LayerKind, all_kinds, kind_of, register
from flows.layers.rprelu import RPReLU
from flows.layers.sliding_window import SlidingWindow
from flows.layers.threshold import Threshold
from flows.layers.transient import (
    FloatAdd,
    FloatAffine,
    FloatInsta,
    FloatPReLU,
    MatMul,
    Requant,
    Sign,
)
from flows.layers.width_converter import StreamWidthConverter

KINDS: tuple[LayerKind, ...] = (
    mvau.XNOR_KIND,
    mvau.INT_KIND,
    threshold.KIND,
    affine.KIND,
    label_select.KIND,
    sliding_window.KIND,
    max_pool.KIND,
    avg_pool.KIND,
    global_avg_pool.KIND,
    rprelu.KIND,
    duplicate_streams.KIND,
    add_streams.KIND,
    insta_threshold.KIND,
    insta_prelu.KIND,
    width_converter.KIND,
    *transient.KINDS,
)
for _kind in KINDS:
    register(_kind)

__all__ = [
    "KINDS",
    "Affine",
    "AddStreams",
    "AvgPool",
    "FloatAdd",
    "FloatInsta",
    "FloatPReLU",
    "GlobalAvgPool",
    "InstaPReLU",
    "RPReLU",
    "Requant",
    "DuplicateStreams",
    "FloatAffine",
    "InstaThreshold",
    "IntMVAU",
    "LabelSelect",
    "LayerKind",
    "MatMul",
    "MaxPool",
    "Sign",
    "StreamWidthConverter",
    "SlidingWindow",
    "Threshold",
    "XnorMVAU",
    "all_kinds",
    "kind_of",
]
