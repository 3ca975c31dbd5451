"""DuplicateStreams and AddStreams RTL vs the golden functions: every output bit-exact over random
and extreme frames under independent random back-pressure on every output and random gaps on
every input (AXI-Stream protocol checks on all ports), mid-frame resets, the lockstep stall rule,
and steady-state cycles per frame == the estimate on every port (flows/sim/streams_bench.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flows.codegen import rtl
from flows.datatypes import BIPOLAR, INT, UINT, DataType
from flows.errors import ConfigError
from flows.graph import Node
from flows.layers import AddStreams, DuplicateStreams, kind_of
from flows.sim import runner as sim
from tests.hw.icarus import assert_plain_verilog_2005
from tests.hw.stimuli import seed_of

BENCH = "flows.sim.streams_bench"
RANDOM_FRAMES = 4

CONFIGS = {
    "dup_int8_c16_pe4_x2": DuplicateStreams(
        "dup_int8_c16_pe4_x2", 16, INT(8), copies=2, pe=4, num_vectors=3
    ),
    "dup_bipolar_c8_pe1_x3": DuplicateStreams(
        "dup_bipolar_c8_pe1_x3", 8, BIPOLAR, copies=3, pe=1, num_vectors=2
    ),
    "add_int8_int8_c16_pe4": AddStreams(
        "add_int8_int8_c16_pe4", 16, (INT(8), INT(8)), pe=4, num_vectors=3
    ),
    "add_int10_uint5_c6_pe2": AddStreams(
        "add_int10_uint5_c6_pe2", 6, (INT(10), UINT(5)), pe=2, num_vectors=2
    ),
    # saturating (the residual add's clamp, AbsorbSaturation): INT9 sums onto INT8 both ways, and
    # UINT9 sums onto UINT8 (only the top clamps)
    "add_sat_int8_int8_c8_pe4": AddStreams(
        "add_sat_int8_int8_c8_pe4", 8, (INT(8), INT(8)), 4, 3, saturate_type=INT(8)
    ),
    "add_sat_uint8_uint8_c4_pe2": AddStreams(
        "add_sat_uint8_uint8_c4_pe2", 4, (UINT(8), UINT(8)), 2, 3, saturate_type=UINT(8)
    ),
}


def _input_types(cfg) -> list[DataType]:
    return [p.dtype for p in kind_of(cfg).ports(cfg)[0].values()]


def make_node(cfg) -> Node:
    ins = [f"x{i}" for i in range(len(_input_types(cfg)))]
    outs = [f"y{i}" for i in range(len(kind_of(cfg).ports(cfg)[1]))]
    return Node(cfg, ins, outs, {})


def make_frames(cfg, rng: np.random.Generator) -> list[np.ndarray]:
    """Per input: RANDOM_FRAMES random frames, then the four (min|max, min|max) corner frames, so
    an AddStreams output reaches both ends of its type (and sign extension of each input shows)."""
    shape = (cfg.num_vectors, cfg.channels)
    frames = []
    for i, t in enumerate(_input_types(cfg)):
        rand = rng.integers(t.min, t.max + 1, size=(RANDOM_FRAMES, *shape))
        if t.min == -1 and t.max == 1:  # BIPOLAR: -1 / +1 only
            rand = np.where(rand >= 0, 1, -1)
        corners = [(t.min, t.min), (t.max, t.max), (t.min, t.max), (t.max, t.min)]
        edge = np.stack([np.full(shape, c[i]) for c in corners])
        frames.append(np.concatenate([rand, edge]).astype(np.int64))
    return frames


@pytest.mark.parametrize("name", CONFIGS)
def test_streams(name: str, request: pytest.FixtureRequest) -> None:
    cfg = CONFIGS[name]
    node = make_node(cfg)
    frames = make_frames(cfg, np.random.default_rng(seed_of(request.node.nodeid)))
    if isinstance(cfg, AddStreams):  # the corner frames reach both ends of the exact sum range
        (a, bt), y = cfg.input_types, frames[0] + frames[1]
        assert (y.min(), y.max()) == (a.min + bt.min, a.max + bt.max)
        cfg.sum_type.check(y, name)
        if cfg.saturate_type is not None:  # and beyond the saturation on the side(s) it clamps
            t = cfg.saturate_type
            assert y.max() > t.max and (y.min() < t.min or a.min + bt.min >= t.min)
    b = sim.build(cfg.name, lambda d: rtl.emit_layer(node, d))
    r = sim.run_bench(b, node, frames, module=BENCH)
    print(
        f"\n{name}: cycles/frame {r['cycles_per_frame']} (estimate {cfg.cycles_per_frame}) over "
        f"{r['frames']} frames; first output after {r['first_output_latency']} cycles, frame 0 "
        f"complete after {r['first_frame_latency']}"
    )
    for port, intervals in r["cycles_per_frame"].items():
        assert len(intervals) >= 3, port
        assert intervals[-4:] == [cfg.cycles_per_frame] * len(intervals[-4:]), port


@pytest.mark.parametrize("name", CONFIGS)
def test_plain_verilog_2005(name: str, tmp_path: Path) -> None:
    """Icarus (a third tool besides Verilator and Yosys) compiles the generated module."""
    assert_plain_verilog_2005(rtl.emit_layer(make_node(CONFIGS[name]), tmp_path), tmp_path)


def test_port_names_and_widths(tmp_path: Path) -> None:
    """The documented port naming, and tdata widths = PE x element bits of the config's types."""
    cfg = CONFIGS["add_int10_uint5_c6_pe2"]
    text = rtl.emit_layer(make_node(cfg), tmp_path)[0].read_text()
    for decl in (
        "[19:0] s_axis_a_tdata",
        "[9:0] s_axis_b_tdata",
        "[21:0] m_axis_tdata",  # INT11 x 2
        "output wire s_axis_b_tready",
    ):
        assert decl in text, decl
    cfg = CONFIGS["dup_bipolar_c8_pe1_x3"]
    text = rtl.emit_layer(make_node(cfg), tmp_path)[0].read_text()
    for i in range(3):
        assert f"[0:0] m_axis_{i}_tdata" in text and f"m_axis_{i}_tready" in text
    assert "m_axis_3" not in text and "[0:0] s_axis_tdata" in text


def test_bipolar_add_is_refused(tmp_path: Path) -> None:
    cfg = AddStreams("add_bip", 4, (BIPOLAR, INT(4)))
    with pytest.raises(ConfigError, match="BIPOLAR"):
        rtl.emit_layer(make_node(cfg), tmp_path)
