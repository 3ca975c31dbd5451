"""The estimator against what was measured or what the datasheets fix, not against its own
formulas: memory mapping (block RAM aspect ratios, LUT ROMs, URAM, LUT RAM), cycles, a design
that does not fit. Its LUT/FF accuracy on every block is checked against the stored Yosys figures
in tests/flows/test_synth_baselines.py."""

import json

from flows.datatypes import BIPOLAR, INT, UINT
from flows.estimate import estimate_graph, estimate_layer
from flows.graph import DataflowGraph, Stream
from flows.hwmodel.memory import BLOCK_ROM_MIN_BITS, bram_blocks, buffer_memory, memory
from flows.layers import GlobalAvgPool, InstaThreshold, IntMVAU, Threshold, XnorMVAU
from tests.flows.test_cli import one_error_line
from tests.flows.test_synth_baselines import ROOT


def test_cycles_are_the_folded_loop_counts():
    """128 inputs in 16 words of SIMD 8, 64 outputs in 16 groups of PE 4, 3 vectors: 768."""
    cfg = XnorMVAU(name="m", mw=128, mh=64, simd=8, pe=4, num_vectors=3)
    assert estimate_layer(cfg, "ecp5").cycles == 768
    t = Threshold(name="t", channels=64, num_thresholds=1, input_type=UINT(8), pe=16)
    assert estimate_layer(t, "xc7").cycles == 4


def test_bram_aspect_ratio():
    """DP16KD / RAMB18 aspect ratios x36/512 .. x1/16k (Lattice FPGA-TN-02032, Xilinx UG473)."""
    assert bram_blocks(64, 256) == 2  # two x36 blocks, 512 deep
    assert bram_blocks(1, 16384) == 1 and bram_blocks(1, 16385) == 2
    assert bram_blocks(72, 1024) == 4  # x18: 4 wide, 1024 deep


def test_small_roms_are_luts_large_ones_block_ram():
    lut, bram = memory(8, BLOCK_ROM_MIN_BITS // 8 - 1, "ecp5")
    assert bram == 0 and lut > 0
    assert memory(8, BLOCK_ROM_MIN_BITS // 8, "ecp5") == (0, 1)
    # 64 words of 4 bits: one LUT6 per bit; on ECP5 four 16-word LUT4s per bit and 3 to pick one
    assert memory(4, 64, "xc7") == (4, 0) and memory(4, 64, "ecp5") == (28, 0)


def test_parallelism_costs_more():
    small = estimate_layer(
        IntMVAU(name="a", mw=64, mh=64, input_type=UINT(8), weight_type=BIPOLAR, simd=4, pe=4),
        "ecp5",
    )
    big = estimate_layer(
        IntMVAU(name="a", mw=64, mh=64, input_type=UINT(8), weight_type=BIPOLAR, simd=16, pe=16),
        "ecp5",
    )
    assert big.lut > 4 * small.lut // 2 and big.cycles * 16 == small.cycles


def test_design_that_does_not_fit_stops_with_what_and_by_how_much(capsys, tmp_path, digits_onnx):
    from flows.__main__ import main

    args = [
        "build",
        "--file",
        str(digits_onnx),
        "--target",
        "pynq-z2",
        "--target-cycles",
        "1",
        "--out",
        str(tmp_path),
        "--until",
        "estimate",
    ]
    assert main(args) == 2
    line = one_error_line(capsys)
    assert "design does not fit pynq-z2 (xc7z020clg400-1): LUT" in line and "> 53200 (+" in line


def test_uram_for_deep_frame_buffers_on_ultrascale_plus():
    """A 56x56x64 INT8 INSTA-Th frame buffer at PE 16 (12,553 words of 128 bits, 1.6 Mbit): URAM288
    is 4096 x 72 (UG573), so 2 wide x 4 deep = 8 blocks on UltraScale+; 18-kbit blocks elsewhere;
    nothing of it on ECP5 goes to URAM; shallow or small buffers never go to URAM."""
    cfg = InstaThreshold("th", channels=64, height=56, width=56, input_type=INT(8), exponent=20,
                         pe=16)  # fmt: skip
    width, depth = 16 * 8, cfg.buffer_words
    assert buffer_memory(width, depth, "xcup") == (0, 8)
    assert buffer_memory(width, depth, "xc7") == (bram_blocks(width, depth), 0)
    up, x7 = estimate_layer(cfg, "xcup"), estimate_layer(cfg, "xc7")
    assert up.uram == 8 and x7.uram == 0 and estimate_layer(cfg, "ecp5").uram == 0
    assert x7.bram - up.bram == bram_blocks(width, depth)
    assert buffer_memory(width, 512, "xcup")[1] == 0 and buffer_memory(8, 2048, "xcup")[1] == 0


def test_lutram_of_a_small_written_memory_on_xilinx_is_what_yosys_maps():
    """GlobalAvgPool 64 channels, 8x8, PE 8, INT8 (the baseline block): Yosys 0.70 maps its
    accumulator memory to RAM64M cells (the count stored in tests/baselines/synth.json), 4 LUTs
    each; ECP5 reports no LUT RAM for it in the estimate (its small memories are in its LUTs)."""
    stored = json.loads((ROOT / "tests" / "baselines" / "synth.json").read_text())
    cells = stored["blocks"]["global_avg_pool"]["xc7"]["yosys"]["LUTRAM"]
    cfg = GlobalAvgPool("bl_global_avg_pool", channels=64, height=8, width=8, pe=8,
                        input_type=INT(8))  # fmt: skip
    assert estimate_layer(cfg, "xc7").lutram == 4 * cells
    assert estimate_layer(cfg, "ecp5").lutram == 0


def test_a_pool_without_its_type_takes_the_streams():
    """estimate_graph fills a window's or pool's missing element type from its input stream."""
    g = DataflowGraph([Stream("x", INT(8), (64, 64))], ["y"])
    g.add(GlobalAvgPool("gp", channels=64, height=8, width=8, pe=8), ["x"],
          [Stream("y", INT(14), (1, 64))])  # fmt: skip
    typed = GlobalAvgPool("gp", channels=64, height=8, width=8, pe=8, input_type=INT(8))
    assert estimate_graph(g, "xc7")["gp"] == estimate_layer(typed, "xc7")


# Yosys 0.70 synth_ecp5 -noiopad of benchmarks/sliding_window.py's windows (make bench-window):
# (LUT, FF, BRAM). Measured, not computed by the estimator under test.
WINDOW_YOSYS_FITTED = {
    "r18_56x64": (375, 76, 1), "r18_7x512": (290, 72, 1), "r18_28x128_s2": (368, 76, 2),
    "r20_32x16": (217, 61, 1), "cnv_30x64_pe4": (299, 82, 1), "digits_8x1": (149, 41, 0),
}  # fmt: skip
WINDOW_YOSYS_HELD_OUT = {
    "r18_stem": (498, 105, 4), "r18_56x64_s2": (366, 76, 2), "r18_28x128": (341, 74, 1),
    "r18_14x256": (313, 74, 1), "r18_14x256_s2": (356, 74, 2), "cnv_32x3": (248, 86, 1),
    "r20_16x32_s2_pe2": (198, 59, 1), "r18_56x64_pe4": (356, 82, 1),
}  # fmt: skip


def test_sliding_window_estimate_on_held_out_windows() -> None:
    """The SlidingWindow estimate (address logic fitted on WINDOW_YOSYS_FITTED's windows, the line
    buffer where Yosys's memory_libmap puts it) against Yosys on windows it was not fitted on:
    LUT and FF median error <= 10 % and worst <= 30 %, BRAM exact. Before the fit, LUT was
    0.29x of Yosys on insta_resnet18's windows (102 estimated against 292-376)."""
    from benchmarks.sliding_window import FITTED, HELD_OUT, window

    assert {s[0] for s in FITTED} == set(WINDOW_YOSYS_FITTED)
    errors = {"LUT": [], "FF": []}
    for shape in HELD_OUT:
        lut, ff, bram = WINDOW_YOSYS_HELD_OUT[shape[0]]
        e = estimate_layer(window(shape), "ecp5")
        assert e.bram == bram, (shape[0], e.bram, bram)
        errors["LUT"].append(abs(e.lut / lut - 1))
        errors["FF"].append(abs(e.ff / ff - 1))
    for metric, errs in errors.items():
        errs.sort()
        assert errs[len(errs) // 2] <= 0.10 and errs[-1] <= 0.30, (metric, errs)
