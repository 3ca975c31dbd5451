"""Golden SlidingWindow and MaxPool against independent loops, incl. the -1 border and stride 2."""

import numpy as np
import pytest

from flows.errors import ConfigError, FoldingError
from flows.graph import DataflowGraph, Stream
from flows.layers import MaxPool, SlidingWindow, kind_of
from flows.layers.sliding_window import conv_weight_matrix


def run(cfg, x):
    return kind_of(cfg).execute(cfg, {}, [x])[0]


def ref_windows(x, h, w, c, k, s, p, pad_value):
    """Loops: output vector (oy, ox), element (ky*k + kx)*c + ch."""
    n = x.shape[0]
    img = x.reshape(n, h, w, c)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = np.empty((n, oh * ow, k * k * c), dtype=np.int64)
    for f in range(n):
        for oy in range(oh):
            for ox in range(ow):
                for ky in range(k):
                    for kx in range(k):
                        iy, ix = oy * s + ky - p, ox * s + kx - p
                        for ch in range(c):
                            inside = 0 <= iy < h and 0 <= ix < w
                            v = img[f, iy, ix, ch] if inside else pad_value
                            out[f, oy * ow + ox, (ky * k + kx) * c + ch] = v
    return out


def ref_pool(x, h, w, c, k, s):
    n = x.shape[0]
    img = x.reshape(n, h, w, c)
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    out = np.empty((n, oh * ow, c), dtype=np.int64)
    for f in range(n):
        for oy in range(oh):
            for ox in range(ow):
                for ch in range(c):
                    out[f, oy * ow + ox, ch] = max(
                        img[f, oy * s + ky, ox * s + kx, ch] for ky in range(k) for kx in range(k)
                    )
    return out


def bipolar(rng, *shape):
    return rng.choice([-1, 1], size=shape).astype(np.int64)


CASES = [  # h, w, c, k, s, p
    (5, 5, 2, 3, 1, 1),
    (6, 7, 3, 3, 2, 1),
    (7, 6, 2, 3, 2, 0),
    (4, 4, 3, 1, 2, 0),
    (5, 4, 2, 2, 1, 1),
    (3, 3, 4, 3, 1, 0),
]


@pytest.mark.parametrize("h,w,c,k,s,p", CASES)
def test_sliding_window_bipolar_matches_loops(h, w, c, k, s, p):
    rng = np.random.default_rng(h * 100 + w * 10 + k)
    x = bipolar(rng, 2, h * w, c)
    cfg = SlidingWindow("swg", channels=c, in_h=h, in_w=w, kernel=k, stride=s, pad=p, pad_value=-1)
    got = run(cfg, x)
    assert got.shape == (2, cfg.out_vectors, cfg.out_channels)
    np.testing.assert_array_equal(got, ref_windows(x, h, w, c, k, s, p, -1))


@pytest.mark.parametrize("h,w,c,k,s,p", CASES)
def test_sliding_window_integer_pads_with_zero(h, w, c, k, s, p):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (2, h * w, c))
    cfg = SlidingWindow("swg", channels=c, in_h=h, in_w=w, kernel=k, stride=s, pad=p)
    np.testing.assert_array_equal(run(cfg, x), ref_windows(x, h, w, c, k, s, p, 0))


def test_border_pixels_carry_minus_one():
    """All +1 input, pad 1: the corner window has 5 of 9 taps on the border (stream bit 0)."""
    c = 3
    cfg = SlidingWindow("swg", channels=c, in_h=4, in_w=4, kernel=3, pad=1, pad_value=-1)
    out = run(cfg, np.ones((1, 16, c), dtype=np.int64))[0].reshape(4, 4, 3, 3, c)
    corner = out[0, 0, :, :, 0]
    np.testing.assert_array_equal(corner, [[-1, -1, -1], [-1, 1, 1], [-1, 1, 1]])
    assert (out[1:3, 1:3] == 1).all()  # interior windows never see the pad
    assert (out[3, 3, 2, :, :] == -1).all() and (out[3, 3, :, 2, :] == -1).all()


@pytest.mark.parametrize("stride", [1, 2])
def test_window_times_weight_matrix_is_the_convolution(stride):
    """(ky, kx, c) order of the window == conv_weight_matrix's order: equals a direct conv."""
    rng = np.random.default_rng(stride)
    h, w, c, oc, k, p = 6, 5, 3, 4, 3, 1
    x = bipolar(rng, 1, h * w, c)
    wt = bipolar(rng, oc, c, k, k)
    cfg = SlidingWindow("swg", channels=c, in_h=h, in_w=w, kernel=k, stride=stride, pad=p,
                        pad_value=-1)  # fmt: skip
    got = run(cfg, x)[0] @ conv_weight_matrix(wt).T
    img = np.pad(x.reshape(h, w, c), ((p, p), (p, p), (0, 0)), constant_values=-1)
    want = np.zeros((cfg.out_h, cfg.out_w, oc), dtype=np.int64)
    for oy in range(cfg.out_h):
        for ox in range(cfg.out_w):
            patch = img[oy * stride : oy * stride + k, ox * stride : ox * stride + k]  # (k, k, c)
            for o in range(oc):
                want[oy, ox, o] = np.sum(patch.transpose(2, 0, 1) * wt[o])
    np.testing.assert_array_equal(got.reshape(cfg.out_h, cfg.out_w, oc), want)


def test_whole_map_window_is_a_reshape():
    x = np.random.default_rng(0).integers(-5, 5, (2, 9, 4))
    cfg = SlidingWindow("flat", channels=4, in_h=3, in_w=3, kernel=3)
    np.testing.assert_array_equal(run(cfg, x), x.reshape(2, 1, 36))


@pytest.mark.parametrize("h,w,c,k,s", [(4, 4, 3, 2, 2), (5, 5, 2, 2, 2), (6, 5, 2, 3, 1)])
def test_maxpool_matches_loops(h, w, c, k, s):
    rng = np.random.default_rng(h + k)
    cfg = MaxPool("pool", channels=c, in_h=h, in_w=w, kernel=k, stride=s)
    xi = rng.integers(-100, 100, (3, h * w, c))
    np.testing.assert_array_equal(run(cfg, xi), ref_pool(xi, h, w, c, k, s))
    xb = bipolar(rng, 3, h * w, c)
    got = run(cfg, xb)
    np.testing.assert_array_equal(got, ref_pool(xb, h, w, c, k, s))
    # On BIPOLAR the max is the OR of the stream bits (1 means +1).
    bits = (xb == 1).reshape(3, h, w, c)
    ored = np.zeros((3, cfg.out_h, cfg.out_w, c), dtype=bool)
    for ky in range(k):
        for kx in range(k):
            ored |= bits[
                :, ky : ky + s * (cfg.out_h - 1) + 1 : s, kx : kx + s * (cfg.out_w - 1) + 1 : s
            ]
    np.testing.assert_array_equal(got == 1, ored.reshape(3, -1, c))


def test_cycles_per_frame():
    swg = SlidingWindow("swg", channels=8, in_h=10, in_w=10, kernel=3, pe=4)
    assert swg.cycles_per_frame == 8 * 8 * 9 * 8 // 4  # output-bound
    down = SlidingWindow("ds", channels=8, in_h=8, in_w=8, kernel=1, stride=2, pe=2)
    assert down.cycles_per_frame == 8 * 8 * 8 // 2  # input-bound (every input word is read)
    pool = MaxPool("pool", channels=8, in_h=10, in_w=10, kernel=2, stride=2, pe=8)
    assert pool.cycles_per_frame == 100


def test_configs_are_validated():
    with pytest.raises(FoldingError, match="PE=3 does not divide 8"):
        SlidingWindow("swg", channels=8, in_h=4, in_w=4, kernel=3, pe=3)
    with pytest.raises(ConfigError, match="pad_value must be -1"):
        SlidingWindow("swg", channels=8, in_h=4, in_w=4, kernel=3, pad=1, pad_value=1)
    with pytest.raises(ConfigError, match="does not fit"):
        SlidingWindow("swg", channels=8, in_h=2, in_w=4, kernel=3)
    with pytest.raises(ConfigError, match="pad must be"):
        SlidingWindow("swg", channels=8, in_h=4, in_w=4, kernel=3, pad=3)
    with pytest.raises(ConfigError, match="does not fit"):
        MaxPool("pool", channels=2, in_h=1, in_w=4, kernel=2, stride=2)
    with pytest.raises(ConfigError, match="input has shape"):
        run(MaxPool("pool", channels=2, in_h=4, in_w=4, kernel=2, stride=2), np.zeros((1, 15, 2)))


def test_types_pass_through_in_a_graph():
    from flows.datatypes import BIPOLAR
    from flows.transforms import infer_types

    g = DataflowGraph([Stream("x", BIPOLAR, (16, 2))], ["y"])
    g.add(
        SlidingWindow("swg", 2, 4, 4, 3, pad=1, pad_value=-1), ["x"], [Stream("w", None, (16, 18))]
    )
    g.add(MaxPool("pool", 18, 4, 4, 2, 2), ["w"], [Stream("y", None, (4, 18))])
    infer_types(g)
    assert g.streams["y"].dtype == BIPOLAR
