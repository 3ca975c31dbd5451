"""hw/lib/mul_pipe.v: the sliced, two-stage product equals `*` for every width the INSTA blocks
use, over the operand extremes and random values (a self-checking Icarus bench: the library
module against the simulator's own signed product)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from flows import tools
from flows.codegen import rtl

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


def _lit(v: int, bits: int) -> str:
    return f"{bits}'sh{v & ((1 << bits) - 1):x}"


@pytest.mark.parametrize("lut", [0, 1], ids=["dsp", "lut"])
@pytest.mark.parametrize(
    "aw,bw", [(9, 9), (18, 18), (19, 18), (31, 18), (43, 18), (49, 16), (25, 13), (17, 2), (11, 1)]
)
def test_mul_pipe_equals_product(aw: int, bw: int, lut: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(aw * 100 + bw)
    amin, amax, bmin, bmax = (
        -(1 << (aw - 1)),
        (1 << (aw - 1)) - 1,
        -(1 << (bw - 1)),
        (1 << (bw - 1)) - 1,
    )
    pairs = [(x, y) for x in (amin, amax, 0, -1, 1) for y in (bmin, bmax, 0, -1, 1)]
    pairs += [
        (int(rng.integers(amin, amax + 1)), int(rng.integers(bmin, bmax + 1))) for _ in range(200)
    ]
    init = "\n".join(
        f"        av[{i}] = {_lit(x, aw)}; bv[{i}] = {_lit(y, bw)};"
        for i, (x, y) in enumerate(pairs)
    )
    tb = tmp_path / "tb.v"
    tb.write_text(BENCH.format(aw=aw, bw=bw, lut=lut, n=len(pairs), init=init))
    lib = [str(p) for p in rtl.lib_sources() if p.name == "mul_pipe.v"]
    out = tmp_path / "tb.vvp"
    r = subprocess.run([tools.find("iverilog"), "-g2005", "-o", str(out), str(tb), *lib],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0 and not r.stderr, r.stderr
    vvp = Path(tools.find("iverilog")).with_name("vvp")
    r = subprocess.run([str(vvp), str(out)], capture_output=True, text=True)
    assert "DONE 0 errors" in r.stdout, r.stdout[-2000:]


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
