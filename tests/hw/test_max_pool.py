"""MaxPool RTL vs the golden function: exact maxima (BIPOLAR as OR of bits, signed integers incl.
min/max frames), overlapping windows and padding with the type minimum, back-pressure, input gaps,
mid-frame reset, cycles per frame. Bench: tests/hw/test_sliding_window.py.

Border pixels are checked explicitly: the stimulus holds an all-minimum frame after an all-maximum
one and frames of negative values only, and `test_stimulus_reaches_every_border_output` proves
that with them every output whose window touches the padding would differ if the pad were any
other value (so a wrong pad, or a row or frame leaking into the padding, fails the bench).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flows.datatypes import BIPOLAR, INT, UINT, Kind
from flows.graph import Node
from flows.layers import MaxPool, kind_of
from tests.hw.stimuli import seed_of
from tests.hw.test_sliding_window import run_window_layer, window_frames

CONFIGS = [
    MaxPool("pool", channels=8, in_h=4, in_w=4, kernel=2, stride=2, pe=4, input_type=BIPOLAR),
    # odd map: the last row and column of the input fall outside every window
    MaxPool("pool", channels=2, in_h=7, in_w=7, kernel=2, stride=2, pe=1, input_type=INT(6)),
    # ResNet-18 stem shape: 3x3 stride 2 pad 1 on INT8, overlapping windows
    MaxPool("pool", channels=4, in_h=8, in_w=8, kernel=3, stride=2, pad=1, pe=2,
            input_type=INT(8)),
    # 3x3 stride 1 pad 1 ("same"): the last window ends in the right/bottom padding
    MaxPool("pool", channels=8, in_h=6, in_w=6, kernel=3, stride=1, pad=1, pe=4,
            input_type=BIPOLAR),
]  # fmt: skip


def _id(c: MaxPool) -> str:
    return f"{c.input_type}_{c.in_h}x{c.in_w}x{c.channels}_k{c.kernel}s{c.stride}p{c.pad}_pe{c.pe}"


def pool_frames(cfg: MaxPool, rng: np.random.Generator) -> np.ndarray:
    """Random frames (BIPOLAR mostly -1, so a lone +1 decides), all-min/all-max edge frames, then
    the border frames: all maximum followed by all minimum, and negative values only."""
    t = cfg.input_type
    frames = window_frames(t, cfg.num_vectors, cfg.channels, rng)
    if t == BIPOLAR:  # mostly -1: windows with a single +1 (the OR) are common
        frames[:4] = np.where(rng.random(frames[:4].shape) < 0.85, -1, 1)
    shape = (1, cfg.num_vectors, cfg.channels)
    neg = (
        rng.integers(t.min, min(t.max, -1) + 1, size=shape) if t.min < 0 else np.full(shape, t.min)
    )
    return np.concatenate([frames, np.full(shape, t.max), np.full(shape, t.min), neg])


@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_max_pool(cfg: MaxPool, request: pytest.FixtureRequest) -> None:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    node = Node(cfg, ["x"], ["y"], {})
    r = run_window_layer(node, pool_frames(cfg, rng))
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4


SWEEP = [
    # more output than input columns/rows (k2 s1 p1), a tap-free 1x1 window, stride = kernel with
    # a pad of 2, unpadded overlapping windows, NF = 1
    MaxPool("pool", channels=2, in_h=5, in_w=6, kernel=2, stride=1, pad=1, pe=1,
            input_type=UINT(3)),
    MaxPool("pool", channels=3, in_h=7, in_w=5, kernel=3, stride=3, pad=2, pe=3,
            input_type=INT(4)),
    MaxPool("pool", channels=2, in_h=5, in_w=5, kernel=1, stride=2, pe=2, input_type=BIPOLAR),
    MaxPool("pool", channels=4, in_h=6, in_w=6, kernel=3, stride=1, pe=2, input_type=INT(5)),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("cfg", SWEEP, ids=_id)
def test_max_pool_sweep(cfg: MaxPool, request: pytest.FixtureRequest) -> None:
    test_max_pool(cfg, request)


def _border(cfg: MaxPool) -> np.ndarray:
    """Output positions (raster order) whose window touches the padding."""
    oy, ox = np.divmod(np.arange(cfg.out_vectors), cfg.out_w)
    y0, x0 = oy * cfg.stride - cfg.pad, ox * cfg.stride - cfg.pad
    k = cfg.kernel
    return (y0 < 0) | (x0 < 0) | (y0 + k > cfg.in_h) | (x0 + k > cfg.in_w)


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c.pad], ids=_id)
def test_stimulus_reaches_every_border_output(cfg: MaxPool) -> None:
    frames = pool_frames(cfg, np.random.default_rng(0))
    run = kind_of(cfg).execute
    want = run(cfg, {}, [frames])[0]
    border = _border(cfg)
    assert border.any() and not border.all()
    t = cfg.input_type
    others = [t.max] if t.kind == Kind.BIPOLAR else [t.max, 0, t.min + 1]
    for pad_value in others:
        # The same windows with the pad value replaced: embed the map in a bigger one.
        p, h, w = cfg.pad, cfg.in_h, cfg.in_w
        img = np.full((len(frames), h + 2 * p, w + 2 * p, cfg.channels), pad_value)
        img[:, p : p + h, p : p + w] = frames.reshape(-1, h, w, cfg.channels)
        big = dataclasses.replace(cfg, in_h=h + 2 * p, in_w=w + 2 * p, pad=0, input_type=None)
        alt = run(big, {}, [img.reshape(len(frames), -1, cfg.channels)])[0]
        differs = (alt != want).any(axis=(0, 2))
        np.testing.assert_array_equal(differs, border)
