"""Golden MaxPool with padding and overlapping windows against independent loops: integer, BIPOLAR
(pad -1) and float (pad -inf, the float transient graph) inputs, the cycle model and validation."""

import numpy as np
import pytest

from flows.datatypes import BIPOLAR, INT
from flows.errors import ConfigError
from flows.layers import MaxPool, kind_of


def run(cfg, x):
    return kind_of(cfg).execute(cfg, {}, [x])[0]


def ref_pool(x, h, w, c, k, s, p):
    """Loops over the real elements of each window only (ONNX: the -inf pad never wins)."""
    n = x.shape[0]
    img = x.reshape(n, h, w, c)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = np.empty((n, oh * ow, c), dtype=x.dtype)
    for f in range(n):
        for oy in range(oh):
            for ox in range(ow):
                for ch in range(c):
                    out[f, oy * ow + ox, ch] = max(
                        img[f, iy, ix, ch]
                        for iy in range(oy * s - p, oy * s - p + k)
                        for ix in range(ox * s - p, ox * s - p + k)
                        if 0 <= iy < h and 0 <= ix < w
                    )
    return out


CASES = [  # h, w, c, k, s, p
    (8, 8, 4, 3, 2, 1),  # ResNet stem shape
    (6, 6, 8, 3, 1, 1),
    (7, 5, 2, 3, 2, 1),
    (5, 6, 2, 2, 1, 1),
    (4, 4, 3, 2, 2, 1),
    (5, 5, 2, 3, 3, 2),
    (6, 5, 2, 3, 1, 0),
]


@pytest.mark.parametrize("h,w,c,k,s,p", CASES)
def test_padded_maxpool_matches_loops(h, w, c, k, s, p):
    rng = np.random.default_rng(h * 31 + w * 7 + k + s + p)
    cfg = MaxPool("pool", channels=c, in_h=h, in_w=w, kernel=k, stride=s, pad=p)
    xi = rng.integers(-100, 100, (3, h * w, c))
    np.testing.assert_array_equal(run(cfg, xi), ref_pool(xi, h, w, c, k, s, p))
    xb = rng.choice([-1, 1], size=(3, h * w, c)).astype(np.int64)
    typed = MaxPool("pool", channels=c, in_h=h, in_w=w, kernel=k, stride=s, pad=p,
                    input_type=BIPOLAR)  # fmt: skip
    np.testing.assert_array_equal(run(typed, xb), ref_pool(xb, h, w, c, k, s, p))
    xf = rng.standard_normal((2, h * w, c))
    got = run(cfg, xf)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, ref_pool(xf, h, w, c, k, s, p))


def test_border_takes_the_real_elements_only():
    # All -128 (the INT8 minimum) but one corner: the pad never shows up as a value of its own.
    cfg = MaxPool("pool", channels=1, in_h=4, in_w=4, kernel=3, stride=2, pad=1, input_type=INT(8))
    x = np.full((1, 16, 1), -128, dtype=np.int64)
    x[0, 15, 0] = -5
    np.testing.assert_array_equal(run(cfg, x)[0, :, 0], [-128, -128, -128, -5])
    # Untyped integers pad with the int64 minimum; the dtype is kept.
    x32 = np.full((1, 16, 1), -7, dtype=np.int32)
    got = run(MaxPool("pool", channels=1, in_h=4, in_w=4, kernel=3, stride=1, pad=1), x32)
    assert got.dtype == np.int32 and (got == -7).all()


def test_cycle_model():
    stem = MaxPool("stem", channels=64, in_h=112, in_w=112, kernel=3, stride=2, pad=1, pe=8)
    assert (stem.out_h, stem.scan_h, stem.scan_w) == (56, 112, 112)
    assert stem.cycles_per_frame == 112 * 112 * 8  # one input word per cycle, no extra
    same = MaxPool("p", channels=8, in_h=6, in_w=6, kernel=3, stride=1, pad=1, pe=4)
    assert (same.out_h, same.scan_h, same.scan_w) == (6, 7, 7)  # the last window ends in the pad
    assert same.cycles_per_frame == 7 * 7 * 2
    plain = MaxPool("p", channels=8, in_h=10, in_w=10, kernel=2, stride=2, pe=8)
    assert plain.cycles_per_frame == 100


def test_pad_is_validated():
    with pytest.raises(ConfigError, match=r"pad must be in 0..kernel-1 = 0..2 .*got 3"):
        MaxPool("pool", channels=2, in_h=4, in_w=4, kernel=3, stride=2, pad=3)
    with pytest.raises(ConfigError, match="got -1"):
        MaxPool("pool", channels=2, in_h=4, in_w=4, kernel=3, stride=2, pad=-1)
    with pytest.raises(ConfigError, match="padded by 0"):
        MaxPool("pool", channels=2, in_h=2, in_w=4, kernel=3, stride=1)
    MaxPool("pool", channels=2, in_h=2, in_w=4, kernel=3, stride=1, pad=1)  # fits once padded
