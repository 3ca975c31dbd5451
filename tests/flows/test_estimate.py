from flows.datatypes import BIPOLAR, UINT
from flows.estimate import BLOCK_ROM_MIN_BITS, bram_blocks, estimate_layer, memory
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
