"""SlidingWindow RTL vs the golden function: exact window words incl. the padded border (all-min
and all-max frames make every pad visible), stride 1 and 2, output- and input-bound frames,
back-pressure, reset, cycles per frame.

The shared bench counts `num_vectors` output vectors per frame; a window changes the number of
vectors, so these tests run the same cocotb tests (re-exported below) with a model that counts
`out_vectors` (`run_window_layer`, used by tests/hw/test_max_pool.py too).
"""

from __future__ import annotations

import numpy as np
import pytest

from flows.datatypes import BIPOLAR, INT, UINT, DataType
from flows.graph import Node
from flows.layers import SlidingWindow
from flows.sim import runner as sim
from tests.hw.stimuli import RANDOM_FRAMES, random_values, seed_of


def run_window_layer(node: Node, frames: np.ndarray) -> dict:
    """Emit, build and verify a window/pool layer with the shared layer bench."""
    return sim.run_layer(node, frames)


def window_frames(t: DataType, vectors: int, channels: int, rng: np.random.Generator):
    """Random frames, then an all-min and an all-max frame (every pad differs from one of them)."""
    rand = random_values(t, (RANDOM_FRAMES, vectors, channels), rng)
    edges = [np.full((1, vectors, channels), v, dtype=np.int64) for v in (t.min, t.max)]
    return np.concatenate([rand, *edges])


CONFIGS = [
    # binary conv 3x3, same padding with -1 (stream bit 0)
    SlidingWindow(
        "swg", channels=4, in_h=6, in_w=6, kernel=3, pad=1, pad_value=-1, pe=2,
        input_type=BIPOLAR,
    ),
    # first conv on pixels: stride 2, no padding, the last input row and column unused
    SlidingWindow("swg", channels=3, in_h=7, in_w=7, kernel=3, stride=2, pe=3,
                  input_type=UINT(8)),
    # 1x1 stride-2 downsample: more input than output words (the writer bounds the frame)
    SlidingWindow("swg", channels=8, in_h=8, in_w=8, kernel=1, stride=2, pe=2,
                  input_type=INT(4)),
    # several window positions per word (whole pixels): a stem-like 7x7/2 window with pad 3 at
    # one window row (7 positions) and at a whole window (49) per cycle, and a binary 3x3 at 3
    SlidingWindow("swg", channels=3, in_h=12, in_w=12, kernel=7, stride=2, pad=3, pe=3,
                  positions=7, input_type=UINT(8)),
    SlidingWindow("swg", channels=3, in_h=9, in_w=9, kernel=7, stride=2, pad=3, pe=3,
                  positions=49, input_type=UINT(8)),
    SlidingWindow("swg", channels=4, in_h=6, in_w=6, kernel=3, pad=1, pad_value=-1, pe=4,
                  positions=3, input_type=BIPOLAR),
]  # fmt: skip


def _id(c: SlidingWindow) -> str:
    pos = f"_pos{c.positions}" if c.positions > 1 else ""
    return f"{c.input_type}_{c.in_h}x{c.in_w}x{c.channels}_k{c.kernel}s{c.stride}p{c.pad}_pe{c.pe}{pos}"


@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_sliding_window(cfg: SlidingWindow, request: pytest.FixtureRequest) -> None:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    node = Node(cfg, ["x"], ["y"], {})
    frames = window_frames(cfg.input_type, cfg.num_vectors, cfg.channels, rng)
    r = run_window_layer(node, frames)
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4


def test_cmul_is_the_product_modulo_the_width() -> None:
    """`cmul` (flows/codegen/render.py): the shift-and-add form of sig * k equals the product
    modulo 2^W for every k up to 5,000 and random W-bit operands, negative ones included; its
    digits are canonical (no two adjacent), which is the fewest adders."""
    from flows.codegen.render import cmul
    from flows.hwmodel.structure import csd_digits

    rng = np.random.default_rng(0)
    w = 20
    for k in range(5001):
        digits = csd_digits(k)
        shifts = [n for n, _ in digits]
        assert all(b - a >= 2 for a, b in zip(shifts, shifts[1:], strict=False)), k
        expr = cmul("x", k).replace("<<<", "<<")
        for x in rng.integers(-(1 << (w - 1)), 1 << (w - 1), size=4):
            got = eval(expr, {"x": int(x)}) % (1 << w)  # noqa: S307 - our own expression
            assert got == (int(x) * k) % (1 << w), (k, expr)
