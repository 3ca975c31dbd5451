"""The fast goldens (bit-packed XnorMVAU, float64-BLAS IntMVAU) against independent references."""

import numpy as np
import pytest

from flows.datatypes import BIPOLAR, INT, UINT
from flows.layers import IntMVAU, XnorMVAU, kind_of
from flows.layers.mvau.golden import pack_bipolar

rng = np.random.default_rng(7)


def run(cfg, params, x):
    return kind_of(cfg).execute(cfg, params, [x])[0]


def xnor_reference(x, w, mw):
    """The int64 formula of numerics section 2: (x . w + mw) / 2."""
    return (x.astype(np.int64) @ w.astype(np.int64).T + mw) // 2


@pytest.mark.parametrize(
    ("frames", "vectors", "mw", "mh"),
    [
        (1, 1, 1, 1),
        (3, 1, 1, 4),
        (2, 5, 63, 3),
        (2, 5, 64, 3),
        (2, 5, 65, 7),
        (4, 3, 200, 9),
        (1, 1, 4609, 2),
        (2, 5000, 27, 5),
        (3, 900, 576, 16),
    ],
)
def test_packed_xnor_equals_formula(frames, vectors, mw, mh):
    cfg = XnorMVAU(name="m", mw=mw, mh=mh, num_vectors=vectors)
    w = rng.choice([-1, 1], size=(mh, mw))
    x = rng.choice([-1, 1], size=(frames, vectors, mw))
    got = run(cfg, {"weights": w}, x)
    assert got.shape == (frames, vectors, mh) and got.dtype == np.int64
    assert np.array_equal(got, xnor_reference(x, w, mw))


def test_packed_xnor_chunks_span_many_rows(monkeypatch):
    import flows.layers.mvau.golden as mvau

    monkeypatch.setattr(mvau, "_XNOR_CHUNK_WORDS", 10)  # 2 rows per chunk, uneven last chunk
    cfg = XnorMVAU(name="m", mw=70, mh=5, num_vectors=7)
    w = rng.choice([-1, 1], size=(5, 70))
    x = rng.choice([-1, 1], size=(3, 7, 70))
    assert np.array_equal(run(cfg, {"weights": w}, x), xnor_reference(x, w, 70))


def test_pack_bipolar_bit_layout():
    a = -np.ones((1, 70), int)
    a[0, [0, 5, 63, 64, 69]] = 1
    p = pack_bipolar(a)
    assert p.shape == (1, 2) and p.dtype == np.uint64
    assert int(p[0, 0]) == (1 << 0) | (1 << 5) | (1 << 63)
    assert int(p[0, 1]) == (1 << 0) | (1 << 5)  # tail bits 6..63 are 0


def int_reference(x, w):
    """Exact dot products in Python integers (no overflow, no float)."""
    xl = x.reshape(-1, x.shape[-1]).tolist()
    wl = w.tolist()
    out = [[sum(a * b for a, b in zip(row, wr, strict=True)) for wr in wl] for row in xl]
    return np.array(out, dtype=object).reshape(*x.shape[:-1], w.shape[0])


@pytest.mark.parametrize(
    ("xt", "wt", "mw"),
    [
        (UINT(8), BIPOLAR, 27),
        (UINT(8), INT(8), 300),
        (INT(8), INT(8), 4096),
        (INT(16), INT(16), 999),
        (INT(2), BIPOLAR, 1),
    ],
)
def test_int_mvau_fast_path_equals_exact(xt, wt, mw):
    mh = 6
    cfg = IntMVAU(name="m", mw=mw, mh=mh, input_type=xt, weight_type=wt, num_vectors=3)
    if wt == BIPOLAR:
        w = rng.choice([-1, 1], size=(mh, mw))
    else:
        w = rng.integers(wt.min, wt.max + 1, size=(mh, mw))
    x = rng.integers(xt.min, xt.max + 1, size=(2, 3, mw))
    # Extreme rows: every product at its largest magnitude, both signs.
    x[0, 0] = xt.max
    x[0, 1] = xt.min
    w[0] = wt.max
    w[1] = wt.min
    got = run(cfg, {"weights": w}, x)
    assert got.dtype == np.int64
    assert np.array_equal(got.astype(object), int_reference(x, w))
    assert np.array_equal(got, x.astype(np.int64) @ w.astype(np.int64).T)


def test_int_mvau_beyond_float64_range_is_exact():
    """mw * max|x| * max|w| >= 2^53: the int64 path, still exact (2^53 + 1 is not a float64)."""
    t = INT(32)
    cfg = IntMVAU(name="m", mw=3, mh=2, input_type=t, weight_type=t)
    x = np.array([[[t.max, t.max, 1]]])
    w = np.array([[t.max, 1, 1], [t.min, t.min, t.min]])
    got = run(cfg, {"weights": w}, x)
    assert np.array_equal(got.astype(object), int_reference(x, w))
    assert int(got[0, 0, 0]) % 2 == 1 and abs(int(got[0, 0, 0])) > 2**53
