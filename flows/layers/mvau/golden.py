"""The golden functions of XnorMVAU and IntMVAU, with their fast exact paths: bit-packed XNOR
and popcount on uint64 words (threaded for large products), a SlidingWindow fused into an
XnorMVAU without int64 windows, and integer matrix products in floating point where exact."""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from flows.errors import ConfigError
from flows.layers.checks import checked_param
from flows.layers.mvau.config import IntMVAU, XnorMVAU
from flows.layers.sliding_window import SlidingWindow
from flows.layers.windows import check_map, windows


def weights(cfg: XnorMVAU | IntMVAU, params: dict) -> np.ndarray:
    """W (mh, mw) as int64, checked against the config's weight type."""
    return checked_param(cfg.name, params, "weights", (cfg.mh, cfg.mw), cfg.weight_type)


# XOR words held at once by the packed XnorMVAU: (mh x columns) temporaries of about 2 MB.
_XNOR_CHUNK_WORDS = 1 << 18
# Worker threads of xnor_popcount, and the XOR word count from which it uses more than one.
_XNOR_THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
_XNOR_PARALLEL_WORDS = 1 << 21
# Integers of magnitude below 2^24 (float32) resp. 2^53 (float64) are exact in that float type.
_F32_EXACT = 1 << 24
_F64_EXACT = 1 << 53
# Elements per block of the float IntMVAU (rows x max(mw, mh)).
_MATMUL_BLOCK = 1 << 18


def pack_bipolar(a: np.ndarray) -> np.ndarray:
    """(..., n) bipolar -> (..., ceil(n/64)) uint64; bit i of word j = (a[..., 64j+i] > 0).

    Tail bits of the last word are 0 (numerics section 1: bit 1 means +1)."""
    a = np.asarray(a)
    n = a.shape[-1]
    words = -(-n // 64)
    packed = np.packbits(a > 0, axis=-1, bitorder="little")
    pad = words * 8 - packed.shape[-1]
    if pad:
        packed = np.concatenate(
            [packed, np.zeros((*packed.shape[:-1], pad), dtype=np.uint8)], axis=-1
        )
    # Little-endian bytes -> uint64 words: byte k of a word holds elements 8k..8k+7.
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def xnor_popcount(xp: np.ndarray, wp: np.ndarray, n: int) -> np.ndarray:
    """(M, K) x (mh, K) packed words of length-n bit vectors -> (M, mh) int64 popcount(XNOR).

    popcount(~(x ^ w) & mask) over the n valid bits equals n - popcount(x ^ w) as long as every
    bit outside the n valid ones is 0 in both operands (they never differ): the subtraction is the
    masking. Large products split the rows into one run of chunks per worker thread (numpy
    releases the GIL in these ufuncs); each output row is computed once, by one worker, so the
    result does not depend on the split."""
    m, k = xp.shape
    mh = wp.shape[0]
    out = np.empty((m, mh), dtype=np.int64)
    if m == 0 or mh == 0:
        return out
    cols = max(1, _XNOR_CHUNK_WORDS // mh)
    xt = np.ascontiguousarray(xp.T)  # (K, M): word j of every input vector, contiguous
    chunks = -(-m // cols)
    workers = min(_XNOR_THREADS, chunks) if m * mh * k >= _XNOR_PARALLEL_WORDS else 1
    bounds = [min(m, cols * (chunks * i // workers)) for i in range(workers + 1)]
    runs = list(itertools.pairwise(bounds))
    if workers == 1:
        _xnor_rows(xt, wp, n, out, cols, 0, m)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda run: _xnor_rows(xt, wp, n, out, cols, *run), runs))
    return out


def _xnor_rows(xt, wp, n: int, out: np.ndarray, cols: int, first: int, last: int) -> None:
    """Rows first..last-1 of xnor_popcount, `cols` rows at a time. The temporaries are
    (mh, cols): one weight word per output channel XOR a contiguous run of input words.
    Disagreements are summed in a narrow accumulator (uint16 while n < 2^16: it cannot wrap)."""
    mh, k = wp.shape
    diff = np.empty((mh, min(cols, last - first)), dtype=np.uint64)
    cnt = np.empty(diff.shape, dtype=np.uint8)
    acc = np.empty(diff.shape, dtype=np.uint16 if n < (1 << 16) else np.int64)
    for start in range(first, last, cols):
        stop = min(last, start + cols)
        d, c, a = diff[:, : stop - start], cnt[:, : stop - start], acc[:, : stop - start]
        a.fill(0)
        for j in range(k):
            np.bitwise_xor(wp[:, j, None], xt[j, None, start:stop], out=d)
            np.bitwise_count(d, out=c)
            np.add(a, c, out=a)
        np.subtract(n, a.T, out=out[start:stop], dtype=np.int64)


def _check_input_length(cfg, x: np.ndarray) -> None:
    if x.shape[-1] != cfg.mw:
        raise ConfigError(f"{cfg.name}: input vectors have length {x.shape[-1]}, expected {cfg.mw}")


def xnor_execute(cfg: XnorMVAU, params, inputs):
    """(N, num_vectors, mw) bipolar -> (N, num_vectors, mh) popcounts in 0..mw.

    Exactly `(x . w + mw) // 2` for bipolar x, w (numerics section 2), computed bit-packed:
    XOR + popcount on uint64 words, all frames and vectors at once."""
    w = weights(cfg, params)
    (x,) = inputs
    x = np.asarray(x)
    _check_input_length(cfg, x)
    lead = x.shape[:-1]
    xp = pack_bipolar(x.reshape(-1, cfg.mw))
    out = xnor_popcount(xp, pack_bipolar(w), cfg.mw)
    return [out.reshape(*lead, cfg.mh)]


def xnor_mvau_windowed_execute(window: SlidingWindow, cfg: XnorMVAU, params, x: np.ndarray):
    """A SlidingWindow feeding an XnorMVAU, in one step: the same integers as
    `xnor_execute(cfg, params, sliding_window.execute(window, {}, [x]))` without the int64
    windows (kernel^2 copies of every element, 8 bytes each).

    Bits are windowed instead of integers. When the channels fill whole words (C = 64, 128, ...)
    or nearly so, every pixel is packed on its own and the windows gather whole words: vector
    word (tap, j) = pixel word j, its tail bits 0. The weights are packed tap by tap to the same
    layout (their tail bits 0 too), so the tails never differ and xnor_popcount counts exactly the
    mw real bits. Otherwise (few channels) the windows gather bytes and are packed after. The
    padding (-1 or 0 at the border) is bit 0 either way, as pack_bipolar maps it."""
    w = weights(cfg, params)
    x = check_map(window.name, x, window.num_vectors, window.channels)
    if window.out_channels != cfg.mw:
        raise ConfigError(
            f"{cfg.name}: input vectors have length {window.out_channels}, expected {cfg.mw}"
        )
    n, c, taps, p = x.shape[0], window.channels, window.kernel**2, window.pad
    bits = (x > 0).reshape(n, window.in_h, window.in_w, c)
    if taps * -(-c // 64) <= 2 * -(-cfg.mw // 64):
        bits, wp = pack_bipolar(bits), pack_bipolar(w.reshape(cfg.mh, taps, c))
    else:
        wp = pack_bipolar(w)
    bits = np.pad(bits, ((0, 0), (p, p), (p, p), (0, 0)))  # zeros: bit 0, i.e. -1
    win = windows(bits, window.in_h + 2 * p, window.in_w + 2 * p, window.kernel, window.stride)
    win = win.reshape(n * window.out_vectors, -1)
    xp = win if win.dtype == np.uint64 else pack_bipolar(win)
    out = xnor_popcount(xp, wp.reshape(cfg.mh, -1), cfg.mw)
    return [out.reshape(n, window.out_vectors, cfg.mh)]


def _exact_float_type(bound: int) -> type | None:
    """The narrowest float type whose matmul is exact when every |partial sum| <= bound."""
    if bound < _F32_EXACT:
        return np.float32
    if bound < _F64_EXACT:
        return np.float64
    return None


def int_execute(cfg: IntMVAU, params, inputs):
    """(N, num_vectors, mw) integers -> (N, num_vectors, mh) exact dot products.

    BLAS in floating point where exact. Bound: with x of input_type and w of weight_type, every
    product is at most P = max|x| * max|w| in magnitude, so every partial sum of a dot product,
    in any summation order (blocking, FMA), is an integer of magnitude at most mw * P. Below 2^24
    (float32) resp. 2^53 (float64) every such integer is representable, so no addition or
    multiplication ever rounds and the result is the exact integer. The values' own maxima
    (never above the types') give the bound used here; beyond 2^53, int64 matmul."""
    w = weights(cfg, params)
    (x,) = inputs
    x = np.asarray(x, dtype=np.int64)
    _check_input_length(cfg, x)
    if x.size and w.size:
        xmax = max(-int(x.min()), int(x.max()))  # Python ints: no overflow at INT64_MIN
        wmax = max(-int(w.min()), int(w.max()))
        ftype = _exact_float_type(cfg.mw * xmax * wmax)
        if ftype is not None:
            return [_float_matmul(x, w, ftype)]
    return [x @ w.T]


def _float_matmul(x: np.ndarray, w: np.ndarray, ftype: type) -> np.ndarray:
    """x @ w.T in `ftype` (exact, see int_execute), in blocks of rows: the float copies
    stay small and are reused, only the int64 result is a new large array."""
    rows = x.reshape(-1, x.shape[-1])
    y = np.empty((rows.shape[0], w.shape[0]), dtype=np.int64)
    wt = w.T.astype(ftype)
    step = max(1, _MATMUL_BLOCK // max(rows.shape[1], w.shape[0]))
    for start in range(0, rows.shape[0], step):
        block = rows[start : start + step].astype(ftype)
        np.matmul(block, wt, out=y[start : start + step], casting="unsafe")
    return y.reshape(*x.shape[:-1], w.shape[0])
