"""The vectorised goldens against straightforward loops: packed XnorMVAU, windows(), the fused
SlidingWindow -> XnorMVAU step of DataflowGraph.execute, Threshold and IntMVAU's float tiers."""

import numpy as np
import pytest

from flows.datatypes import BIPOLAR, INT, UINT
from flows.graph import DataflowGraph, Stream
from flows.layers import IntMVAU, SlidingWindow, Threshold, XnorMVAU, kind_of
from flows.layers.mvau.golden import xnor_mvau_windowed_execute
from flows.layers.windows import windows

rng = np.random.default_rng(11)


def run(cfg, params, x):
    return kind_of(cfg).execute(cfg, params, [x])[0]


def agreeing_signs(x, w):
    """Loops: out[f, v, o] = #{i : x[f, v, i] == w[o, i]} (numerics section 2)."""
    frames, vectors, _ = x.shape
    out = np.zeros((frames, vectors, w.shape[0]), dtype=np.int64)
    for f in range(frames):
        for v in range(vectors):
            for o in range(w.shape[0]):
                out[f, v, o] = sum(int(a == b) for a, b in zip(x[f, v], w[o], strict=True))
    return out


@pytest.mark.parametrize("mw", [1, 63, 64, 65, 200])
def test_packed_xnor_random(mw):
    cfg = XnorMVAU(name="m", mw=mw, mh=3, num_vectors=4)
    w = rng.choice([-1, 1], size=(3, mw))
    x = rng.choice([-1, 1], size=(2, 4, mw))
    got = run(cfg, {"weights": w}, x)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, agreeing_signs(x, w))


@pytest.mark.parametrize("mw", [1, 63, 64, 65, 200])
def test_packed_xnor_all_ones_and_all_minus_ones(mw):
    """All +1 and all -1 on both sides: mw where the signs agree, 0 where they all differ (the
    padding of the last word must count neither way)."""
    cfg = XnorMVAU(name="m", mw=mw, mh=2, num_vectors=2)
    w = np.stack([np.ones(mw, np.int64), -np.ones(mw, np.int64)])
    x = np.stack([np.ones(mw, np.int64), -np.ones(mw, np.int64)])[None]
    got = run(cfg, {"weights": w}, x)
    assert got[0].tolist() == [[mw, 0], [0, mw]]


def loop_windows(x, kernel, stride):
    """(N, H, W, C) -> (N, out_h, out_w, kernel*kernel, C) by loops."""
    n, h, w, c = x.shape
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    out = np.empty((n, oh, ow, kernel * kernel, c), dtype=x.dtype)
    for oy in range(oh):
        for ox in range(ow):
            for ky in range(kernel):
                for kx in range(kernel):
                    out[:, oy, ox, ky * kernel + kx] = x[:, oy * stride + ky, ox * stride + kx]
    return out


@pytest.mark.parametrize(
    ("h", "w", "c", "kernel", "stride"),
    [
        (5, 5, 3, 3, 1),
        (7, 6, 2, 3, 2),
        (8, 8, 4, 2, 2),
        (4, 9, 1, 1, 1),
        (9, 7, 5, 4, 3),
        (3, 3, 2, 3, 1),
    ],
)
@pytest.mark.parametrize("dtype", [np.int64, np.uint64, np.float64])
def test_windows_equal_loops(h, w, c, kernel, stride, dtype):
    x = rng.integers(0, 1000, size=(2, h, w, c)).astype(dtype)
    got = windows(x, h, w, kernel, stride)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, loop_windows(x, kernel, stride))


@pytest.mark.parametrize(
    ("channels", "kernel", "stride", "pad"),
    [
        (1, 3, 1, 1),
        (3, 3, 1, 0),
        (63, 3, 2, 1),
        (64, 3, 1, 1),
        (65, 2, 2, 1),
        (130, 1, 1, 0),
        (64, 3, 3, 2),
    ],
)
@pytest.mark.parametrize("pad_value", [-1, 0])
def test_fused_window_xnor_equals_the_two_layers(channels, kernel, stride, pad, pad_value):
    """Both packing orders (per pixel for word-sized channels, per window otherwise) and both pad
    values (a 0 pad, as the unfused XnorMVAU reads it, counts as -1)."""
    window = SlidingWindow(
        name="sw", channels=channels, in_h=6, in_w=5, kernel=kernel, stride=stride, pad=pad,
        pad_value=pad_value,
    )  # fmt: skip
    mvau = XnorMVAU(name="m", mw=window.out_channels, mh=5, num_vectors=window.out_vectors)
    params = {"weights": rng.choice([-1, 1], size=(5, window.out_channels))}
    x = rng.choice([-1, 1], size=(3, window.num_vectors, channels))
    (got,) = xnor_mvau_windowed_execute(window, mvau, params, x)
    want = run(mvau, params, run(window, {}, x))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)


def conv_graph(fork: bool) -> DataflowGraph:
    """SlidingWindow -> XnorMVAU -> Threshold; with `fork` the windows also leave the graph."""
    window = SlidingWindow(
        name="sw", channels=64, in_h=5, in_w=5, kernel=3, pad=1, pad_value=-1, input_type=BIPOLAR
    )
    mvau = XnorMVAU(name="m", mw=576, mh=8, num_vectors=25)
    thr = Threshold(name="t", channels=8, num_thresholds=1, input_type=UINT(10), num_vectors=25)
    outputs = ["y", "win"] if fork else ["y"]
    g = DataflowGraph([Stream("x", BIPOLAR, (25, 64))], outputs)
    g.add(window, ["x"], [Stream("win", BIPOLAR, (25, 576))])
    g.add(mvau, ["win"], [Stream("p", mvau.output_type, (25, 8))],
          weights=rng.choice([-1, 1], size=(8, 576)))  # fmt: skip
    g.add(thr, ["p"], [Stream("y", BIPOLAR, (25, 8))],
          thresholds=rng.integers(250, 330, size=(8, 1)))  # fmt: skip
    return g


@pytest.mark.parametrize("fork", [False, True])
def test_graph_execute_fused_equals_every_stream(fork):
    g = conv_graph(fork)
    x = rng.choice([-1, 1], size=(4, 25, 64))
    every = g.execute({"x": x}, keep_all=True)
    assert set(every) == {"x", "win", "p", "y"}
    out = g.execute({"x": x})
    assert set(out) == set(g.outputs)
    for name in g.outputs:
        np.testing.assert_array_equal(out[name], every[name])


def test_threshold_counts_like_loops():
    cfg = Threshold(
        name="t", channels=3, num_thresholds=4, input_type=INT(6), bipolar_output=False,
        num_vectors=5,
    )  # fmt: skip
    t = np.sort(rng.integers(-33, 33, size=(3, 4)), axis=1)
    x = rng.integers(-32, 32, size=(2, 5, 3))
    want = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        want[idx] = sum(int(x[idx] >= th) for th in t[idx[-1]])
    got = run(cfg, {"thresholds": t}, x)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)


def test_threshold_bipolar_ties_give_plus_one():
    cfg = Threshold(name="t", channels=2, num_thresholds=1, input_type=INT(4))
    got = run(cfg, {"thresholds": np.array([[3], [-2]])}, np.array([[[3, -3]], [[2, -2]]]))
    assert got.tolist() == [[[1, -1]], [[-1, 1]]]


@pytest.mark.parametrize(
    ("x", "w"),
    [
        ([4095, 1], [2047, 1]),  # bound 2*4095*2047 < 2^24: float32, result exact
        ([4096, 1], [4096, 1]),  # 2^24 + 1 is no float32: float64 must be chosen
        ([2**26, 1], [2**26, 1]),  # 2^52 + 1, just exact in float64
        ([2**27, 1], [2**26, 1]),  # bound >= 2^53: int64 (2^53 + 1 is no float64)
    ],
)
def test_int_mvau_float_tiers_exact(x, w):
    cfg = IntMVAU(name="m", mw=2, mh=1, input_type=INT(30), weight_type=INT(30))
    got = run(cfg, {"weights": np.array([w])}, np.array([[x]]))
    assert int(got[0, 0, 0]) == x[0] * w[0] + x[1] * w[1]


def test_packed_xnor_split_over_threads(monkeypatch):
    """Rows split over three workers, uneven chunks: the same integers as the loops."""
    import flows.layers.mvau.golden as mvau

    monkeypatch.setattr(mvau, "_XNOR_CHUNK_WORDS", 14)  # 2 rows per chunk
    monkeypatch.setattr(mvau, "_XNOR_THREADS", 3)
    monkeypatch.setattr(mvau, "_XNOR_PARALLEL_WORDS", 0)
    cfg = XnorMVAU(name="m", mw=130, mh=7, num_vectors=9)
    w = rng.choice([-1, 1], size=(7, 130))
    x = rng.choice([-1, 1], size=(3, 9, 130))
    np.testing.assert_array_equal(run(cfg, {"weights": w}, x), agreeing_signs(x, w))


def test_int_mvau_float_blocks(monkeypatch):
    """Several row blocks, the last one short: the same integers as int64 matmul."""
    import flows.layers.mvau.golden as mvau

    monkeypatch.setattr(mvau, "_MATMUL_BLOCK", 100)  # 3 rows of 27 per block
    cfg = IntMVAU(name="m", mw=27, mh=4, input_type=UINT(8), weight_type=BIPOLAR, num_vectors=5)
    w = rng.choice([-1, 1], size=(4, 27))
    x = rng.integers(0, 256, size=(2, 5, 27))
    got = run(cfg, {"weights": w}, x)
    assert got.dtype == np.int64 and got.shape == (2, 5, 4)
    np.testing.assert_array_equal(got, x @ w.T)
