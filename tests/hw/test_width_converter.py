"""StreamWidthConverter RTL vs the golden identity: every element in order under random
back-pressure, input gaps and a mid-frame reset (AXI-Stream protocol checks on both ports), and
steady-state cycles per frame == the estimate, for up, down and non-multiple ratios."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flows.codegen import rtl
from flows.datatypes import BIPOLAR, INT, UINT
from flows.errors import FoldingError
from flows.graph import Node
from flows.layers import StreamWidthConverter
from flows.sim import runner as sim
from tests.hw.icarus import assert_plain_verilog_2005
from tests.hw.stimuli import frames_with_edges, seed_of

CONFIGS = [
    # down by an integer ratio, several vectors per frame
    StreamWidthConverter("dwc", channels=16, input_type=INT(8), in_lanes=8, out_lanes=2,
                         num_vectors=3),
    # up by an integer ratio, 1-bit elements (the binary trunk)
    StreamWidthConverter("dwc", channels=16, input_type=BIPOLAR, in_lanes=1, out_lanes=8,
                         num_vectors=2),
    # neither lane count divides the other: 2 -> 3 and 3 -> 2 (g = 1)
    StreamWidthConverter("dwc", channels=6, input_type=INT(5), in_lanes=2, out_lanes=3,
                         num_vectors=2),
    StreamWidthConverter("dwc", channels=12, input_type=UINT(4), in_lanes=3, out_lanes=2,
                         num_vectors=2),
    # g > 1 and a wide fan-out: 4 -> 6 over 12 channels, 64 -> 4 over 64
    StreamWidthConverter("dwc", channels=12, input_type=INT(3), in_lanes=4, out_lanes=6),
    StreamWidthConverter("dwc", channels=64, input_type=BIPOLAR, in_lanes=64, out_lanes=4),
]  # fmt: skip


def _id(c: StreamWidthConverter) -> str:
    return f"{c.input_type}_c{c.channels}_{c.in_lanes}to{c.out_lanes}_nv{c.num_vectors}"


@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_width_converter(cfg: StreamWidthConverter, request: pytest.FixtureRequest) -> None:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    t, c = cfg.input_type, cfg.channels
    ramp = (np.arange(c) % (t.max - t.min + 1)) + t.min  # every position distinct where it can be
    if t == BIPOLAR:
        ramp = np.where(np.arange(c) % 3 == 0, 1, -1)
    frames = frames_with_edges(t, cfg.num_vectors, c, [t.min, t.max, ramp], rng)
    r = sim.run_layer(Node(cfg, ["x"], ["y"]), frames)
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4


def test_cycles_never_exceed_the_slower_side() -> None:
    """E / min(in, out): a frame's words on the narrower side, one per cycle."""
    for cfg in CONFIGS:
        words = max(cfg.channels // cfg.in_lanes, cfg.channels // cfg.out_lanes)
        assert cfg.cycles_per_frame == cfg.num_vectors * words


def test_plain_verilog_2005(tmp_path: Path) -> None:
    """Icarus (a third tool besides Verilator and Yosys) compiles every generated converter."""
    for i, cfg in enumerate(CONFIGS):
        d = tmp_path / str(i)
        sources = rtl.emit_layer(Node(cfg, ["x"], ["y"]), d)
        assert_plain_verilog_2005(sources, d, f" on {_id(cfg)}")


def test_lanes_must_divide_the_channels() -> None:
    with pytest.raises(FoldingError, match="in_lanes=4 does not divide 6"):
        StreamWidthConverter("dwc", channels=6, input_type=INT(4), in_lanes=4, out_lanes=2)
