"""Float-vs-integer agreement of a small TRAINED insta_resnet20 on the digits.

Trains `sw.recipes.digits_resnet` (seed 0, 30 epochs, about 1-2 minutes on a 2-core machine),
exports, lowers with `flows.transforms.streamline` and compares the integer graph with the PyTorch
float logits on the 360 test images. Measured (seed 0): float 98.6 %, integer 98.9 %, agreement
358/360 = 99.4 %; local flip fractions at most 1.3 % (INSTA-PReLU), 0.9 % (INSTA-Th), 0.5 %
(Affine). Reproduce the figures with `python -m sw.recipes.digits_resnet --report`.
"""

from __future__ import annotations

import numpy as np
import pytest

from sw.data import digits_rgb
from sw.recipes import digits_resnet

# Measured 99.4 % (2 of 360 differ, both with a float top-2 gap below 1 logit). One more
# disagreement (99.2 %) is allowed for torch / numpy builds that round float32 statistics
# differently; anything below that is a regression in the lowering.
MIN_AGREEMENT = 0.99
# Local flip fraction per layer kind: what the layer's own constants change when it is fed the
# float graph's inputs (measured maxima 1.3 %, 0.9 %, 0.5 %; numerics sections 6, 9, INSTA-PReLU
# tables). The bound is about 1.5x the measurement.
LOCAL_BOUND = {"InstaPReLU": 0.02, "InstaThreshold": 0.015, "Affine": 0.01, "SlidingWindow": 0.0}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    result = digits_resnet.train_small_resnet(log=lambda line: None)
    return digits_resnet.report(result, tmp_path_factory.mktemp("digits_resnet"))


@pytest.mark.slow
def test_integer_accuracy_within_two_points_of_float(report):
    s = report["summary"]
    assert s["float_accuracy"] >= 0.95
    assert abs(s["accuracy"] - s["float_accuracy"]) <= 0.02


@pytest.mark.slow
def test_top1_agreement(report):
    assert report["summary"]["agreement"] >= MIN_AGREEMENT
    assert len(report["disagreements"]) == 360 - report["summary"]["agree"]


@pytest.mark.slow
def test_every_layer_local_flips_bounded(report):
    for r in report["layers"]:
        if r["layer"] == report["logit_layer"]:
            continue  # fixed-point logits vs float logits: not comparable element by element
        assert r["local_flips"] is not None, r["layer"]
        assert r["local_flips"] <= LOCAL_BOUND[r["kind"]], r


@pytest.mark.slow
def test_every_disagreement_has_a_first_diverging_layer(report):
    assert all(c["first_layer"] is not None for c in report["disagreements"])


def test_digits_rgb_shape_dtype_range():
    d = digits_rgb()
    assert d.x_train.shape == (1437, 3, 16, 16) and d.x_test.shape == (360, 3, 16, 16)
    assert d.x_train.dtype == np.uint8 and d.x_test.dtype == np.uint8
    assert d.x_train.max() == 240 and d.x_train.min() == 0
    assert np.all(d.x_test[:, 0] == d.x_test[:, 2])
    assert np.all(d.x_test[:, :, ::2, ::2] == d.x_test[:, :, 1::2, 1::2])
