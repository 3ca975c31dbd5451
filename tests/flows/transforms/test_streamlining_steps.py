"""Each streamlining step executed before and after on the digits test images.

Float-level steps (scales, affines) are compared in float64 with a relative tolerance of 1e-9
(they only re-associate products); integer-level steps must agree exactly.
"""

import numpy as np

from flows.layers import FloatAffine, IntMVAU, MatMul, Threshold, XnorMVAU
from flows.transforms import apply_repeatedly
from flows.transforms.affine_sign_to_threshold import AffineSignToThreshold, sign_thresholds
from flows.transforms.collapse_affines import CollapseAffines
from flows.transforms.factor_weight_scales import FactorWeightScales
from flows.transforms.final_affine_to_fixed_point import (
    FinalAffineToFixedPoint,
    InsertLabelSelect,
    choose_frac_bits,
)
from flows.transforms.matmul_to_mvau import MatMulToMVAU
from flows.transforms.streamline import streamline


def kinds(g):
    return [n.kind for n in g.topological()]


def staged(g0):
    g1 = apply_repeatedly(g0, FactorWeightScales())
    g2 = apply_repeatedly(g1, CollapseAffines())
    g3 = apply_repeatedly(g2, AffineSignToThreshold())
    g4 = apply_repeatedly(g3, MatMulToMVAU())
    g5 = apply_repeatedly(g4, CollapseAffines())
    return g1, g2, g3, g4, g5


def test_factor_weight_scales(digits_float_graph, digits_images):
    g1 = apply_repeatedly(digits_float_graph, FactorWeightScales())
    assert all(n.config.weight_type is not None for n in g1.nodes if isinstance(n.config, MatMul))
    np.testing.assert_allclose(
        g1.run(digits_images), digits_float_graph.run(digits_images), rtol=1e-9, atol=1e-9
    )


def test_collapse_affines_removes_nodes_and_keeps_values(digits_float_graph, digits_images):
    g1, g2, *_ = staged(digits_float_graph)
    assert kinds(g2).count("FloatAffine") < kinds(g1).count("FloatAffine")
    np.testing.assert_allclose(g2.run(digits_images), g1.run(digits_images), rtol=1e-9, atol=1e-9)


def test_affine_sign_to_threshold_is_exact(digits_float_graph, digits_images):
    _, g2, g3, *_ = staged(digits_float_graph)
    assert "Sign" not in kinds(g3) and kinds(g3).count("Threshold") == 3
    # Every intermediate binary activation is identical, not just the logits.
    before, after = (
        g2.execute({"global_in": digits_images}, keep_all=True),
        g3.execute({"global_in": digits_images}, keep_all=True),
    )
    signs = [n.outputs[0] for n in g2.nodes if n.kind == "Sign"]
    for s in signs:
        assert np.array_equal(before[s], after[s]), s
    np.testing.assert_allclose(g3.run(digits_images), g2.run(digits_images), rtol=1e-9, atol=1e-9)


def test_sign_thresholds_cover_negative_and_zero_slopes():
    acc = np.arange(-10, 11)
    a = np.array([0.5, -0.5, 0.0, 0.0, 2.0])
    b = np.array([1.0, 1.0, 0.3, -0.3, -4.0])
    t = sign_thresholds(a, b, -10, 10)
    for c in range(5):
        want = np.where(a[c] * acc + b[c] >= 0, 1, -1)
        # negative slopes see the negated accumulator (their weight row is negated)
        seen = -acc if a[c] < 0 else acc
        got = np.where(seen >= t[c], 1, -1)
        assert np.array_equal(got, want), c


def test_matmul_to_mvau_is_exact_on_integers(digits_float_graph, digits_images):
    *_, g3, g4, _ = staged(digits_float_graph)
    assert kinds(g4).count("XnorMVAU") == 3 and kinds(g4).count("IntMVAU") == 1
    assert not any(isinstance(n.config, MatMul) for n in g4.nodes)
    before = g3.execute({"global_in": digits_images}, keep_all=True)
    after = g4.execute({"global_in": digits_images}, keep_all=True)
    thr = [n.outputs[0] for n in g4.nodes if isinstance(n.config, Threshold)]
    for s in thr:
        assert np.array_equal(before[s], after[s]), s
    np.testing.assert_allclose(g4.run(digits_images), g3.run(digits_images), rtol=1e-9, atol=1e-9)


def test_final_affine_to_fixed_point_within_bound(digits_float_graph, digits_images):
    *_, g5 = staged(digits_float_graph)
    g6 = apply_repeatedly(g5, FinalAffineToFixedPoint())
    aff = next(n for n in g6.nodes if n.kind == "Affine")
    f = aff.config.frac_bits
    bound = 2.0 ** -(f + 1) * (aff.config.input_type.max + 1)
    err = np.abs(g6.run(digits_images) * 2.0**-f - g5.run(digits_images))
    assert err.max() <= bound
    assert not any(isinstance(n.config, FloatAffine) for n in g6.nodes)


def test_choose_frac_bits_fills_int16():
    v = np.array([0.7, -1.3])
    f = choose_frac_bits(v)
    assert np.abs(np.round(v * 2.0**f)).max() <= 32767 < np.abs(np.round(v * 2.0 ** (f + 1))).max()


def test_streamline_is_all_hardware_and_ends_in_label_select(digits_float_graph):
    g = streamline(digits_float_graph)
    g.hardware_ready()
    assert kinds(g)[-1] == "LabelSelect" and kinds(g)[0] == "IntMVAU"
    assert sum(isinstance(n.config, XnorMVAU) for n in g.nodes) == 3
    assert isinstance(g.nodes[0].config, IntMVAU)
    _, changed = InsertLabelSelect().apply(g)
    assert not changed
