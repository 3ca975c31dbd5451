"""Generated RTL of one small configuration per kind, compared with tests/hw/snapshots/.

A change in an emitter or template shows up here as a diff to review. After an intended change,
regenerate the snapshots (`make snapshots`, tests/snapshots.py) and commit them with the change.

Each snapshot is also compiled by Icarus in Verilog-2005 mode (a third tool besides Verilator and
Yosys) and linted by Verilator with -Wall.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from flows import tools
from flows.codegen import rtl, stitch
from flows.datatypes import BIPOLAR, INT, UINT
from flows.graph import DataflowGraph, Node, Stream
from flows.layers import (
    Affine,
    AvgPool,
    GlobalAvgPool,
    IntMVAU,
    LabelSelect,
    MaxPool,
    RPReLU,
    StreamWidthConverter,
    Threshold,
    XnorMVAU,
)
from tests.hw.icarus import assert_plain_verilog_2005
from tests.snapshots import SnapshotSet, check, emitted

FOLDER = Path(__file__).parent / "snapshots"


def _rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def _xnor(d: Path) -> list[Path]:
    cfg = XnorMVAU("snap_xnor_mvau", mw=8, mh=4, simd=4, pe=2, popcount_stages=1)
    w = _rng().choice([-1, 1], size=(4, 8))
    return rtl.emit_layer(Node(cfg, [], [], {"weights": w}), d)


def _xnor_dram(d: Path) -> list[Path]:
    """The DRAM form: weights on s_axis_w, passes of 2 vectors, 2 tiles."""
    cfg = XnorMVAU("snap_xnor_mvau_dram", mw=16, mh=4, simd=4, pe=2, num_vectors=4,
                   weights="dram", vectors_per_pass=2)  # fmt: skip
    w = _rng().choice([-1, 1], size=(4, 16))
    return rtl.emit_layer(Node(cfg, [], [], {"weights": w}), d)


def _int(d: Path) -> list[Path]:
    cfg = IntMVAU("snap_int_mvau", mw=6, mh=4, input_type=INT(4), weight_type=INT(3), simd=3, pe=2)
    w = _rng().integers(-4, 4, size=(4, 6))
    return rtl.emit_layer(Node(cfg, [], [], {"weights": w}), d)


def _int_bipolar(d: Path) -> list[Path]:
    cfg = IntMVAU(
        "snap_int_mvau_bipolar", mw=4, mh=2, input_type=UINT(8), weight_type=BIPOLAR, simd=2, pe=1
    )
    w = _rng().choice([-1, 1], size=(2, 4))
    return rtl.emit_layer(Node(cfg, [], [], {"weights": w}), d)


def _threshold(d: Path) -> list[Path]:
    cfg = Threshold(
        "snap_threshold",
        channels=4,
        num_thresholds=3,
        input_type=INT(4),
        bipolar_output=False,
        pe=2,
    )
    t = np.sort(_rng().integers(-8, 9, size=(4, 3)), axis=1)
    return rtl.emit_layer(Node(cfg, [], [], {"thresholds": t}), d)


def _affine(d: Path) -> list[Path]:
    cfg = Affine(
        "snap_affine", channels=4, input_type=UINT(3), mul_type=INT(5), add_type=INT(6), pe=2
    )
    rng = _rng()
    params = {"mul": rng.integers(-16, 16, 4), "add": rng.integers(-32, 32, 4)}
    return rtl.emit_layer(Node(cfg, [], [], params), d)


def _label_select(d: Path) -> list[Path]:
    cfg = LabelSelect("snap_label_select", channels=6, input_type=INT(5), pe=3)
    return rtl.emit_layer(Node(cfg, [], []), d)


def _accel_top(d: Path) -> list[Path]:
    g = DataflowGraph([Stream("x", UINT(3), (1, 4))], ["y"])
    a = Affine(
        "snap_top_affine", channels=4, input_type=UINT(3), mul_type=INT(4), add_type=INT(4), pe=2
    )
    g.add(a, ["x"], [Stream("s", a.output_type, (1, 4))], mul=np.arange(-2, 2), add=np.ones(4, int))
    ls = LabelSelect("snap_top_label", channels=4, input_type=a.output_type, pe=2)
    g.add(ls, ["s"], [Stream("y", ls.output_type, (1, 1))])
    stitch.emit_stitched(g, d, fifo_depth=4)
    return sorted(d.iterdir())


def _affine_requant(d: Path) -> list[Path]:
    cfg = Affine("snap_affine_rq", channels=4, input_type=INT(6), mul_type=INT(8),
                 add_type=INT(10), pe=2, shift=3, saturate_type=INT(4))  # fmt: skip
    rng = _rng()
    params = {"mul": rng.integers(-128, 128, 4), "add": rng.integers(-512, 512, 4)}
    return rtl.emit_layer(Node(cfg, [], [], params), d)


def _rprelu(d: Path) -> list[Path]:
    cfg = RPReLU("snap_rprelu", channels=4, input_type=INT(5), output_type=INT(4),
                 mul_type=INT(6), add_type=INT(8), shift=2, pe=2)  # fmt: skip
    rng = _rng()
    params = {"threshold": rng.integers(-16, 17, 4), "mul_hi": rng.integers(-32, 32, 4),
              "add_hi": rng.integers(-128, 128, 4), "mul_lo": rng.integers(-32, 32, 4),
              "add_lo": rng.integers(-128, 128, 4)}  # fmt: skip
    return rtl.emit_layer(Node(cfg, [], [], params), d)


def _pools(d: Path) -> list[Path]:
    ap = AvgPool("snap_avg_pool", channels=4, in_h=4, in_w=4, kernel=2, stride=2, pe=2,
                 input_type=INT(4))  # fmt: skip
    gp = GlobalAvgPool("snap_global_avg_pool", channels=4, height=2, width=3, pe=2,
                       input_type=UINT(3))  # fmt: skip
    mp = MaxPool("snap_max_pool_pad", channels=4, in_h=5, in_w=5, kernel=3, stride=2, pe=2,
                 pad=1, input_type=INT(4))  # fmt: skip
    return [p for cfg in (ap, gp, mp) for p in rtl.emit_layer(Node(cfg, [], []), d)]


def _insta(d: Path) -> list[Path]:
    """InstaThreshold with the statistic port and both InstaPReLU forms, with the parameters the
    cocotb tests generate (tests/hw/test_insta_threshold.py, test_insta_prelu.py)."""
    from dataclasses import replace

    from tests.hw import test_insta_prelu as tp
    from tests.hw import test_insta_threshold as tt

    th, _, _ = tt.make_case(tt.SPECS["int8_4x4x8_pe2"], _rng())
    th.config = replace(th.config, name="snap_insta_threshold", statistic_output=True)
    files = rtl.emit_layer(th, d)
    for key, name in (("alpha_int8_4x4x8_pe2", "snap_insta_prelu_own"),
                      ("reuse_int8_4x4x8_pe2_cs4", "snap_insta_prelu_reuse")):  # fmt: skip
        node, _, _ = tp.make_case(tp.SPECS[key], _rng())
        node.config = replace(node.config, name=name)
        files += rtl.emit_layer(node, d)
    return files


def _insta_dram(d: Path) -> list[Path]:
    """The external forms: InstaThreshold and the own InstaPReLU with their frame buffers and
    constants in DRAM (the INSTA-Th without m_axis_delay: the tier's tap serves it)."""
    from dataclasses import replace

    from tests.hw import test_insta_prelu as tp
    from tests.hw import test_insta_threshold as tt

    th, _, _ = tt.make_case(tt.SPECS["int8_4x4x8_pe2"], _rng())
    th.config = replace(th.config, name="snap_insta_threshold_dram", buffer="dram",
                        constants="dram")  # fmt: skip
    files = rtl.emit_layer(th, d)
    node, _, _ = tp.make_case(tp.SPECS["alpha_int8_4x4x8_pe2"], _rng())
    node.config = replace(node.config, name="snap_insta_prelu_dram", buffer="dram")
    return files + rtl.emit_layer(node, d)


def _insta_plus(d: Path) -> list[Path]:
    """INSTA-Th+ and INSTA-PReLU+ with their SE sub-blocks (tests/hw/test_insta_plus.py)."""
    from dataclasses import replace

    from tests.hw import test_insta_plus as tq

    th, _, _ = tq.th_case(tq.TH_SPECS["int8_4x4x8_pe2_h2"], _rng())
    th.config = replace(th.config, name="snap_insta_threshold_plus")
    files = rtl.emit_layer(th, d)
    pr, _ = tq.pr_case(*tq.PR_SPECS["se_int8_4x4x8_pe2_h2"], _rng())
    pr.config = replace(pr.config, name="snap_insta_prelu_plus")
    return files + rtl.emit_layer(pr, d)


def _width_converter(d: Path) -> list[Path]:
    cfg = StreamWidthConverter("snap_width_converter", channels=6, input_type=INT(3), in_lanes=2,
                               out_lanes=3)  # fmt: skip
    return rtl.emit_layer(Node(cfg, [], []), d)


CASES = {
    "xnor_mvau": _xnor,
    "xnor_mvau_dram": _xnor_dram,
    "int_mvau": _int,
    "int_mvau_bipolar": _int_bipolar,
    "threshold": _threshold,
    "affine": _affine,
    "label_select": _label_select,
    "accel_top": _accel_top,
    "affine_requant": _affine_requant,
    "rprelu": _rprelu,
    "pools": _pools,
    "insta": _insta,
    "insta_dram": _insta_dram,
    "insta_plus": _insta_plus,
    "width_converter": _width_converter,
}


SNAPSHOTS = [
    SnapshotSet(case, FOLDER / case, partial(emitted, emit)) for case, emit in CASES.items()
]


@pytest.mark.parametrize("snapshot", SNAPSHOTS, ids=lambda s: s.name)
def test_rtl_snapshot(snapshot: SnapshotSet) -> None:
    check(snapshot)


@pytest.mark.parametrize("case", CASES)
def test_rtl_snapshot_is_plain_verilog_2005(case: str, tmp_path: Path) -> None:
    CASES[case](tmp_path)
    assert_plain_verilog_2005(sorted(tmp_path.glob("*.v")), tmp_path, f" on {case}")
    sources = [str(p) for p in sorted(tmp_path.glob("*.v"))] + [str(p) for p in rtl.lib_sources()]
    tools.run(
        ["verilator", "--lint-only", "-Wall", "-Wno-UNUSEDSIGNAL", "-Wno-MULTITOP", *sources],
        cwd=tmp_path,
    )  # several independent layers per case: several top modules
