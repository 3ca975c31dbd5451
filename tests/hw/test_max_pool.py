"""MaxPool RTL vs the golden function: exact maxima (BIPOLAR as OR of bits, signed integers incl.
min/max frames), back-pressure, reset, cycles per frame. Bench: tests/hw/test_sliding_window.py."""

from __future__ import annotations

import numpy as np
import pytest

from flows.datatypes import BIPOLAR, INT
from flows.graph import Node
from flows.layers import MaxPool
from tests.hw.stimuli import seed_of
from tests.hw.test_sliding_window import run_window_layer, window_frames

CONFIGS = [
    MaxPool("pool", channels=8, in_h=4, in_w=4, kernel=2, stride=2, pe=4, input_type=BIPOLAR),
    # odd map: the last row and column of the input fall outside every window
    MaxPool("pool", channels=2, in_h=7, in_w=7, kernel=2, stride=2, pe=1, input_type=INT(6)),
]


def _id(c: MaxPool) -> str:
    return f"{c.input_type}_{c.in_h}x{c.in_w}x{c.channels}_k{c.kernel}s{c.stride}_pe{c.pe}"


@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_max_pool(cfg: MaxPool, request: pytest.FixtureRequest) -> None:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    node = Node(cfg, ["x"], ["y"], {})
    frames = window_frames(cfg.input_type, cfg.num_vectors, cfg.channels, rng)
    if cfg.input_type == BIPOLAR:  # mostly -1: windows with a single +1 (the OR) are common
        frames[:4] = np.where(rng.random(frames[:4].shape) < 0.85, -1, 1)
    r = run_window_layer(node, frames)
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4
