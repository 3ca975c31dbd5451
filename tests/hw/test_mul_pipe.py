"""hw/lib/mul_pipe.v: the sliced, two-stage product equals `*` for every width the INSTA blocks
use, over the operand extremes and random values (a self-checking Icarus bench: the library
module against the simulator's own signed product)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flows.codegen import rtl
from flows.codegen.render import slit
from flows.hwmodel.logic import mul_slices
from tests.hw.icarus import run_bench

BENCH = """
module tb;
    reg clk = 0;
    reg signed [{aw}-1:0] a;
    reg signed [{bw}-1:0] b;
    wire signed [{aw}+{bw}-1:0] p;
    reg signed [{aw}+{bw}-1:0] want [0:1];
    integer k, errors = 0;
    mul_pipe #(.AW({aw}), .BW({bw}), .LUT({lut})) dut (.clk(clk), .a(a), .b(b), .p(p));
    reg signed [{aw}-1:0] av [0:{n}-1];
    reg signed [{bw}-1:0] bv [0:{n}-1];
    initial begin
{init}
        for (k = 0; k < {n} + 1; k = k + 1) begin
            if (k < {n}) begin a = av[k]; b = bv[k]; end
            #1 clk = 1; #1 clk = 0;
            want[1] = want[0];
            if (k < {n}) want[0] = av[k] * bv[k];
            // after edge k the output holds the product of pair k - 1 (two stages)
            if (k >= 1 && p !== want[1]) begin
                errors = errors + 1;
                $display("MISMATCH %0d: got %0d want %0d", k - 1, p, want[1]);
            end
        end
        $display("DONE %0d errors", errors);
        $finish;
    end
endmodule
"""


def _pairs(aw: int, bw: int, random: int, seed: int) -> list[tuple[int, int]]:
    """Every pair of the operands' extremes, 0 and +-1, then `random` random pairs."""
    rng = np.random.default_rng(seed)
    amin, amax = -(1 << (aw - 1)), (1 << (aw - 1)) - 1
    bmin, bmax = -(1 << (bw - 1)), (1 << (bw - 1)) - 1
    pairs = [(x, y) for x in (amin, amax, 0, -1, 1) for y in (bmin, bmax, 0, -1, 1)]
    return pairs + [
        (int(rng.integers(amin, amax + 1)), int(rng.integers(bmin, bmax + 1)))
        for _ in range(random)
    ]


@pytest.mark.parametrize("lut", [0, 1], ids=["dsp", "lut"])
@pytest.mark.parametrize(
    "aw,bw", [(9, 9), (18, 18), (19, 18), (31, 18), (43, 18), (49, 16), (25, 13), (17, 2), (11, 1)]
)
def test_mul_pipe_equals_product(aw: int, bw: int, lut: int, tmp_path: Path) -> None:
    pairs = _pairs(aw, bw, 200, aw * 100 + bw)
    init = "\n".join(
        f"        av[{i}] = {slit(x, aw)}; bv[{i}] = {slit(y, bw)};"
        for i, (x, y) in enumerate(pairs)
    )
    bench = BENCH.format(aw=aw, bw=bw, lut=lut, n=len(pairs), init=init)
    out = run_bench(tmp_path, bench, "mul_pipe.v")
    assert "DONE 0 errors" in out, out[-2000:]


@pytest.mark.synth
@pytest.mark.parametrize("lut, dsp", [(0, 1), (1, 0)], ids=["dsp", "lut"])
def test_lut_form_reaches_synthesis_without_a_multiplier(
    lut: int, dsp: int, tmp_path: Path
) -> None:
    """Yosys synth_ecp5 of a 17 x 9 product: one MULT18X18D in the DSP form, none in the LUT
    form (measured: 770 LUT on ECP5, 300 on xc7; docs/insta.md)."""
    from flows import synth

    top = tmp_path / "top.v"
    top.write_text(
        "module top(input wire clk, input wire signed [16:0] a, input wire signed [8:0] b,\n"
        "           output wire signed [25:0] p);\n"
        f"    mul_pipe #(.AW(17), .BW(9), .LUT({lut})) u(.clk(clk), .a(a), .b(b), .p(p));\n"
        "endmodule\n"
    )
    lib = [p for p in rtl.lib_sources() if p.name == "mul_pipe.v"]
    got = synth.synth_ecp5([top, *lib], "top", tmp_path / "ecp5", ooc=True)
    assert got["DSP"] == dsp and (got["LUT"] > 300) == bool(lut), got


# --- the shared-multiplier modules: mul_seq (a * b) and cube_seq (d^3) on one multiplier ----------
SEQ_BENCH = """
module tb;
    reg clk = 0;
    reg start = 0;
    reg signed [{aw}-1:0] a;
    reg signed [{bw}-1:0] b;
    wire signed [{pw}-1:0] p;
    integer k, t, errors = 0, checked = 0;
    {dut}
    reg signed [{aw}-1:0] av [0:{n}-1];
    reg signed [{bw}-1:0] bv [0:{n}-1];
    reg signed [{pw}-1:0] want [0:{n}-1];
    initial begin
{init}
        // operand k is presented in cycle k * SPACE (start high for one cycle, then the operands
        // change to junk); the edge ending that cycle is edge 0, and the result is checked in
        // the cycle after edge LAT: cycle k * SPACE + LAT + 1
        for (t = 0; t < {n} * {space} + {lat} + 3; t = t + 1) begin
            k = t / {space};
            if (t % {space} == 0 && k < {n}) begin start = 1; a = av[k]; b = bv[k]; end
            else begin start = 0; a = $random; b = $random; end
            if (t > {lat} && (t - {lat} - 1) % {space} == 0 && (t - {lat} - 1) / {space} < {n}) begin
                checked = checked + 1;
                if (p !== want[(t - {lat} - 1) / {space}]) begin
                    errors = errors + 1;
                    $display("MISMATCH %0d: got %0d want %0d", (t - {lat} - 1) / {space}, p,
                             want[(t - {lat} - 1) / {space}]);
                end
            end
            #1 clk = 1; #1 clk = 0;
        end
        $display("DONE %0d errors %0d checked", errors, checked);
        $finish;
    end
endmodule
"""


def _run_seq(tmp_path: Path, module: str, aw: int, bw: int, pw: int, space: int, lat: int,
             dut: str, pairs: list[tuple[int, int]], want: list[int]) -> str:  # fmt: skip
    init = "\n".join(
        f"        av[{i}] = {slit(x, aw)}; bv[{i}] = {slit(y, bw)}; want[{i}] = {slit(w, pw)};"
        for i, ((x, y), w) in enumerate(zip(pairs, want, strict=True))
    )
    bench = SEQ_BENCH.format(aw=aw, bw=bw, pw=pw, n=len(pairs), init=init, dut=dut,
                             space=space, lat=lat)  # fmt: skip
    return run_bench(tmp_path, bench, module)


@pytest.mark.parametrize("aw,bw", [(9, 9), (18, 18), (19, 18), (35, 18), (49, 18), (43, 16)])
def test_mul_seq_equals_product(aw: int, bw: int, tmp_path: Path) -> None:
    """Starts every N cycles (the tightest the evaluators use): each product appears exactly
    N + 1 edges after its start, while the operands change right after the start."""
    pairs = _pairs(aw, bw, 150, aw * 1000 + bw)
    n = mul_slices(aw)
    dut = (f"mul_seq #(.AW({aw}), .BW({bw})) dut (.clk(clk), .start(start), .a(a), .b(b), "
           ".p(p));")  # fmt: skip
    out = _run_seq(tmp_path, "mul_seq.v", aw, bw, aw + bw, n, n + 1, dut, pairs,
                   [x * y for x, y in pairs])  # fmt: skip
    assert f"DONE 0 errors {len(pairs)} checked" in out, out[-2000:]


@pytest.mark.parametrize("dmax", [7, 127, 2047, 4095, 65535])
def test_cube_seq_equals_cube(dmax: int, tmp_path: Path) -> None:
    """d^3 over the INSTA write side's range |d| <= dmax (its widths from flows.hwmodel.cube),
    one start every N + 1 cycles: each cube appears N + 2 edges after its start."""
    from flows.hwmodel.cube import cube_widths

    w = cube_widths(dmax)
    rng = np.random.default_rng(dmax)
    ds = [-dmax, dmax, 0, -1, 1, -dmax + 1, dmax - 1] + [
        int(v) for v in rng.integers(-dmax, dmax + 1, 150)
    ]
    n = mul_slices(w.square_bits)
    pw = w.square_bits + w.dev_bits
    dut = (f"cube_seq #(.DW({w.dev_bits}), .SQW({w.square_bits})) dut (.clk(clk), "
           ".start(start), .d(a), .c(p));")  # fmt: skip
    out = _run_seq(tmp_path, "cube_seq.v", w.dev_bits, 1, pw, n + 1, n + 2, dut,
                   [(d, 0) for d in ds], [d**3 for d in ds])  # fmt: skip
    assert f"DONE 0 errors {len(ds)} checked" in out, out[-2000:]
