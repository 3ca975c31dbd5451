from flows.datatypes import BIPOLAR, INT, UINT
from flows.estimate import estimate_layer
from flows.hwmodel.memory import BLOCK_ROM_MIN_BITS, bram_blocks, memory
from flows.layers import IntMVAU, Threshold, XnorMVAU
from tests.flows.test_cli import one_error_line


def test_cycles_are_the_folded_loop_counts():
    cfg = XnorMVAU(name="m", mw=128, mh=64, simd=8, pe=4, num_vectors=3)
    assert estimate_layer(cfg, "ecp5").cycles == 3 * (128 // 8) * (64 // 4)
    t = Threshold(name="t", channels=64, num_thresholds=1, input_type=UINT(8), pe=16)
    assert estimate_layer(t, "xc7").cycles == 4


def test_bram_aspect_ratio():
    assert bram_blocks(64, 256) == 2  # two x36 blocks, 512 deep
    assert bram_blocks(1, 16384) == 1 and bram_blocks(1, 16385) == 2
    assert bram_blocks(72, 1024) == 4  # x18: 4 wide, 1024 deep


def test_small_roms_are_luts_large_ones_block_ram():
    lut, bram = memory(8, BLOCK_ROM_MIN_BITS // 8 - 1, "ecp5")
    assert bram == 0 and lut > 0
    assert memory(8, BLOCK_ROM_MIN_BITS // 8, "ecp5") == (0, 1)
    # a LUT6 holds 64 words per bit, a LUT4 16
    assert memory(4, 64, "xc7") == (4, 0) and memory(4, 64, "ecp5") == (4 * (4 + 3), 0)


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
    """A 56x56x64 INT8 INSTA-Th frame buffer at PE 16 (12.5k words of 128 bits, 1.6 Mbit): URAM on
    UltraScale+ (2 x 4 URAM288 = 8), 18-kbit blocks elsewhere; nothing of it on ECP5 goes to URAM."""
    import math

    from flows.estimate import estimate_layer
    from flows.hwmodel.memory import buffer_memory
    from flows.layers import InstaThreshold

    cfg = InstaThreshold("th", channels=64, height=56, width=56, input_type=INT(8), exponent=20,
                         pe=16)  # fmt: skip
    width, depth = 16 * 8, cfg.buffer_words
    assert buffer_memory(width, depth, "xcup") == (0, math.ceil(128 / 72) * math.ceil(depth / 4096))
    assert buffer_memory(width, depth, "xc7")[1] == 0
    up, x7 = estimate_layer(cfg, "xcup"), estimate_layer(cfg, "xc7")
    assert up.uram == 8 and x7.uram == 0 and estimate_layer(cfg, "ecp5").uram == 0
    assert x7.bram - up.bram == buffer_memory(width, depth, "xc7")[0]
    # shallow or small written memories never go to URAM
    assert buffer_memory(width, 512, "xcup")[1] == 0 and buffer_memory(8, 2048, "xcup")[1] == 0


def test_lutram_for_small_written_memories_on_xilinx():
    """GlobalAvgPool keeps NF accumulator words: <= 64 words on Xilinx is RAM64M (4 LUTs per 3
    bits per 64 words), counted as LUTRAM; ECP5 reports none."""
    import math

    from flows.estimate import estimate_layer
    from flows.layers import GlobalAvgPool

    cfg = GlobalAvgPool("gp", channels=64, height=8, width=8, pe=2, input_type=INT(8))
    bits = 2 * cfg.output_type.bits
    assert estimate_layer(cfg, "xc7").lutram == 4 * math.ceil(bits / 3)
    assert estimate_layer(cfg, "ecp5").lutram == 0
