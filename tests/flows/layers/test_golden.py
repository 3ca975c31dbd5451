"""Golden functions against independent references (loops and bit operations)."""

import numpy as np
import pytest

from flows.datatypes import BIPOLAR, INT, UINT
from flows.errors import ConfigError, FoldingError
from flows.layers import Affine, IntMVAU, LabelSelect, Threshold, XnorMVAU, kind_of

rng = np.random.default_rng(1)


def run(cfg, params, x):
    return kind_of(cfg).execute(cfg, params, [x])[0]


def test_xnor_mvau_is_popcount_of_xnor():
    cfg = XnorMVAU(name="m", mw=37, mh=5)
    w = rng.choice([-1, 1], size=(5, 37))
    x = rng.choice([-1, 1], size=(4, 1, 37))
    got = run(cfg, {"weights": w}, x)
    xbits, wbits = x > 0, w > 0
    ref = np.array([[[np.sum(~(xb ^ wb)) for wb in wbits] for xb in f] for f in xbits])
    assert np.array_equal(got, ref)
    assert got.max() <= 37 and cfg.output_type == UINT(6)


def test_int_mvau_bipolar_weights_on_pixels():
    cfg = IntMVAU(name="m", mw=8, mh=3, input_type=UINT(8), weight_type=BIPOLAR)
    w = rng.choice([-1, 1], size=(3, 8))
    x = np.full((1, 1, 8), 255)
    got = run(cfg, {"weights": w}, x)
    assert got.tolist() == [[[255 * int(r.sum()) for r in w]]]
    assert cfg.output_type == INT(12)  # |sum| <= 8 * 255 = 2040 <= 2047


def test_threshold_counts_and_ties():
    cfg = Threshold(name="t", channels=2, num_thresholds=3, input_type=INT(5), bipolar_output=False)
    t = np.array([[-2, 0, 3], [0, 0, 0]])
    x = np.array([[[-3, 0], [-2, -1], [3, 15]]])
    assert run(cfg, {"thresholds": t}, x).tolist() == [[[0, 3], [1, 0], [3, 3]]]


def test_threshold_bipolar_equality_is_plus_one():
    cfg = Threshold(name="t", channels=1, num_thresholds=1, input_type=UINT(4))
    assert run(cfg, {"thresholds": np.array([[5]])}, np.array([[[4], [5]]])).tolist() == [
        [[-1], [1]]
    ]


def test_affine_and_label_select_tie_lowest_index():
    a = Affine(name="a", channels=3, input_type=UINT(4), mul_type=INT(8), add_type=INT(8))
    y = run(a, {"mul": np.array([2, -1, 1]), "add": np.array([0, 10, 2])}, np.array([[[3, 4, 4]]]))
    assert y.tolist() == [[[6, 6, 6]]]
    ls = LabelSelect(name="l", channels=3, input_type=a.output_type)
    assert run(ls, {}, y).tolist() == [[[0]]]


def test_folding_that_does_not_divide_names_the_choices():
    with pytest.raises(FoldingError, match=r"SIMD=3 does not divide 64; choose one of \[1, 2, 4"):
        XnorMVAU(name="m", mw=64, mh=8, simd=3)


def test_wrong_weight_shape_and_values():
    cfg = XnorMVAU(name="m", mw=4, mh=2)
    with pytest.raises(ConfigError, match=r"weights has shape \(2, 3\)"):
        run(cfg, {"weights": np.ones((2, 3))}, np.ones((1, 1, 4)))
    with pytest.raises(Exception, match="outside BIPOLAR"):
        run(cfg, {"weights": np.zeros((2, 4))}, np.ones((1, 1, 4)))
