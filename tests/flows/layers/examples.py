"""One small example node per hardware layer kind, with valid parameters: what the record tests
(tests/flows/layers/test_registry.py) drive every field of a kind's record with. A new hardware
kind needs an example here; the registry test fails until it has one."""

from __future__ import annotations

import functools

import numpy as np

from flows.datatypes import BIPOLAR, INT, UINT
from flows.graph import Node
from flows.layers import (
    AddStreams,
    Affine,
    AvgPool,
    DuplicateStreams,
    GlobalAvgPool,
    IntMVAU,
    LabelSelect,
    MaxPool,
    RPReLU,
    SlidingWindow,
    StreamWidthConverter,
    Threshold,
    XnorMVAU,
)
from tests.hls.insta_cases import PRELU_SPECS, THRESHOLD_CONFIGS, insta_case
from tests.hls.insta_se_cases import SE_SPECS, se_case
from tests.hw.test_rprelu import make_node as rprelu_node


def _node(cfg, n_in: int = 1, n_out: int = 1, **params) -> Node:
    return Node(cfg, [f"x{i}" for i in range(n_in)], [f"y{i}" for i in range(n_out)], params)


@functools.cache
def examples() -> dict[str, Node]:
    """{kind name: an example node}; several for kinds whose forms differ in their hardware."""
    rng = np.random.default_rng(7)
    out = {
        "XnorMVAU": _node(XnorMVAU("ex_xnor", mw=8, mh=4, simd=4, pe=2, num_vectors=2),
                          weights=rng.choice([-1, 1], size=(4, 8))),
        "IntMVAU": _node(IntMVAU("ex_int", mw=4, mh=2, input_type=INT(4), weight_type=INT(4),
                                 simd=2), weights=rng.integers(-8, 8, size=(2, 4))),
        "Threshold": _node(Threshold("ex_thr", channels=4, num_thresholds=3, input_type=UINT(4),
                                     bipolar_output=False, pe=2),
                           thresholds=np.sort(rng.integers(0, 17, size=(4, 3)), axis=1)),
        "Affine": _node(Affine("ex_affine", channels=4, input_type=INT(8), mul_type=INT(6),
                               add_type=INT(10), pe=2, shift=3, saturate_type=INT(8)),
                        mul=rng.integers(-32, 32, 4), add=rng.integers(-512, 512, 4)),
        "LabelSelect": _node(LabelSelect("ex_label", channels=4, input_type=INT(8), pe=2)),
        "SlidingWindow": _node(SlidingWindow("ex_swg", channels=2, in_h=4, in_w=4, kernel=3,
                                             pad=1, pad_value=-1, pe=2, positions=3,
                                             input_type=BIPOLAR)),
        "MaxPool": _node(MaxPool("ex_maxpool", channels=2, in_h=4, in_w=4, kernel=3, stride=2,
                                 pad=1, pe=2, input_type=INT(4))),
        "AvgPool": _node(AvgPool("ex_avgpool", channels=2, in_h=4, in_w=4, kernel=2, stride=2,
                                 input_type=INT(4))),
        "GlobalAvgPool": _node(GlobalAvgPool("ex_gap", channels=2, height=2, width=2, pe=2,
                                             input_type=UINT(4))),
        "RPReLU": rprelu_node(RPReLU("ex_rprelu", channels=4, input_type=INT(8),
                                     output_type=INT(8), mul_type=INT(16), add_type=INT(24),
                                     shift=9, pe=2), rng),
        "DuplicateStreams": _node(DuplicateStreams("ex_dup", channels=4, input_type=INT(8),
                                                   copies=3, pe=2), n_out=3),
        "AddStreams": _node(AddStreams("ex_add", channels=4, input_types=(INT(8), INT(9)), pe=2),
                            n_in=2),
        "StreamWidthConverter": _node(StreamWidthConverter("ex_dwc", channels=6,
                                                           input_type=INT(5), in_lanes=2,
                                                           out_lanes=3, num_vectors=2)),
    }  # fmt: skip
    forms = {"alpha": "InstaPReLU", "reuse": "InstaPReLU (reuse)"}
    out["InstaThreshold"] = insta_case(THRESHOLD_CONFIGS[0].name).node
    for spec in PRELU_SPECS:
        out.setdefault(forms[spec.form], insta_case(spec.name).node)
    for spec in SE_SPECS:
        plus = "InstaThreshold+" if spec.module == "threshold" else "InstaPReLU+"
        out.setdefault(plus, se_case(spec.name).node)
    return out
