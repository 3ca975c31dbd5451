"""Layer kinds of the integer dataflow graph. Importing this package registers all of them."""

from flows.layers import affine, label_select, mvau, streams, threshold, transient  # noqa: F401
from flows.layers.affine import Affine
from flows.layers.avg_pool import AvgPool, GlobalAvgPool
from flows.layers.insta import InstaThreshold
from flows.layers.insta_prelu import InstaPReLU
from flows.layers.label_select import LabelSelect
from flows.layers.mvau import IntMVAU, XnorMVAU
from flows.layers.pool import MaxPool
from flows.layers.registry import LayerKind, all_kinds, kind_of
from flows.layers.rprelu import RPReLU
from flows.layers.sliding_window import SlidingWindow
from flows.layers.streams import AddStreams, DuplicateStreams
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

__all__ = [
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
    "SlidingWindow",
    "Threshold",
    "XnorMVAU",
    "all_kinds",
    "kind_of",
]
