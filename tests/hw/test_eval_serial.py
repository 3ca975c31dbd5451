"""hw/lib/eval_serial.v: y = clamp(round((a + m*s) 2^-E), LO, HI), floor and round half to even,
against the definition computed here in Python integers (a self-checking Icarus bench), over
the operand extremes, ties at every rounding position and random values, for the widths the
INSTA blocks use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flows import tools
from flows.codegen import rtl
from flows.codegen.render import hlit, slit
from flows.hwmodel.ranges import width
from flows.hwmodel.serial import serial_bits, serial_cycles
from tests.hw.icarus import run_bench

BENCH = """
module tb;
    reg clk = 0, rst = 1, start = 0;
    reg signed [{sw}-1:0] s;
    reg signed [{mw}-1:0] m;
    reg signed [{aw}-1:0] a;
    wire done;
    wire [{ow}-1:0] y;
    integer k = 0, t, errors = 0, checked = 0, got = 0;
    eval_serial #(.SW({sw}), .MW({mw}), .AW({aw}), .N({n}), .E({e}), .RNE({rne}), .OW({ow}),
                  .LO({lo}), .HI({hi})) dut (.clk(clk), .rst(rst), .start(start), .s(s), .m(m),
                  .a(a), .done(done), .y(y));
    reg [{sw}-1:0] sv [0:{cnt}-1];
    reg [{mw}-1:0] mv [0:{cnt}-1];
    reg [{aw}-1:0] av [0:{cnt}-1];
    reg [{ow}-1:0] want [0:{cnt}-1];
    initial begin
{init}
        #1 clk = 1; #1 clk = 0; rst = 0;
        // a start every {space} cycles (the blocks' pace: done and the next start coincide),
        // junk on the operands in between; `done` must come {lat} cycles after each start
        for (t = 0; t < {cnt} * {space} + {lat} + 3; t = t + 1) begin
            if (t % {space} == 0 && t / {space} < {cnt}) begin
                start = 1; s = sv[t / {space}]; m = mv[t / {space}]; a = av[t / {space}];
            end else begin
                start = 0; s = $random; m = $random; a = $random;
            end
            if (done) begin
                if ((t - {lat}) % {space} != 0 || y !== want[got]) begin
                    errors = errors + 1;
                    $display("MISMATCH %0d at %0d: got %0d want %0d", got, t, y, want[got]);
                end
                got = got + 1;
                checked = checked + 1;
            end
            #1 clk = 1; #1 clk = 0;
        end
        $display("DONE %0d errors %0d checked", errors, checked);
        $finish;
    end
endmodule
"""


def _length(sw: int, mw: int, aw: int, e: int, ow: int, lo: int, hi: int) -> int:
    """N for s, m, a of these widths: |a + m*s| at the operands' extremes, then the rule."""
    bound = (1 << (sw + mw - 2)) + (1 << (aw - 1))
    return serial_bits(width(-bound, bound, True), e, ow, lo, hi)


def reference(s: int, m: int, a: int, e: int, rne: bool, lo: int, hi: int) -> int:
    """The definition: u = a + m*s exactly, r = floor(u / 2^E) or u / 2^E rounded half to even,
    then clamped to [lo, hi]."""
    u = a + m * s
    r = u >> e
    if rne and e > 0:
        rem = u - (r << e)
        half = 1 << (e - 1)
        r += rem > half or (rem == half and r & 1)
    return min(max(r, lo), hi)


def _cases(sw: int, mw: int, aw: int, e: int, count: int, seed: int) -> list[tuple[int, int, int]]:
    rng = np.random.default_rng(seed)
    ext = [(-(1 << (b - 1)), (1 << (b - 1)) - 1) for b in (sw, mw, aw)]
    out = [(x, y, z) for x in (ext[0][0], ext[0][1], 0, -1, 1) for y in (ext[1][0], ext[1][1], -1, 1)
           for z in (ext[2][0], ext[2][1], 0)]  # fmt: skip
    for _ in range(count):
        s = int(rng.integers(ext[0][0], ext[0][1] + 1))
        m = int(rng.integers(ext[1][0], ext[1][1] + 1))
        a = int(rng.integers(ext[2][0], ext[2][1] + 1))
        if e > 0 and rng.random() < 0.3:  # an exact tie or a neighbour at 2^-E
            s, m = s >> max(0, sw - 8), m >> max(0, mw - 8)  # small, so that a can reach it
            k = int(rng.integers(-8, 8))
            target = (k << e) + (1 << (e - 1)) + int(rng.integers(-1, 2))
            a = max(ext[2][0], min(ext[2][1], target - m * s))
        out.append((s, m, a))
    return out


# (s bits, m bits, a bits, E, RNE, y bits, lo, hi): the INSTA-Th evaluators (floor, clamp to
# [min, max + 1] of the input), INSTA-PReLU's v (RNE, saturation to INT<vb>), and corners
CONFIGS = [
    (49, 18, 48, 30, 0, 9, 0, 256),
    (47, 16, 40, 20, 0, 9, -128, 128),
    (12, 8, 10, 0, 0, 5, -16, 16),
    (40, 18, 36, 24, 1, 8, -128, 127),
    (20, 10, 16, 6, 1, 6, -32, 31),
    (9, 9, 9, 1, 1, 4, -8, 7),
    (16, 16, 16, 40, 1, 3, -4, 3),  # E beyond the sum: everything rounds to 0 or -1
    (8, 2, 5, 3, 0, 4, -3, 5),
]


@pytest.mark.parametrize("sw,mw,aw,e,rne,ow,lo,hi", CONFIGS)
def test_eval_serial_equals_definition(sw, mw, aw, e, rne, ow, lo, hi, tmp_path: Path) -> None:
    n = _length(sw, mw, aw, e, ow, lo, hi)
    cases = _cases(sw, mw, aw, e, 200, sw * 1000 + e)
    want = [reference(s, m, a, e, bool(rne), lo, hi) for s, m, a in cases]
    init = "\n".join(
        f"        sv[{i}] = {hlit(s, sw)}; mv[{i}] = {hlit(m, mw)}; av[{i}] = {hlit(a, aw)}; "
        f"want[{i}] = {hlit(w, ow)};"
        for i, ((s, m, a), w) in enumerate(zip(cases, want, strict=True))
    )
    space = serial_cycles(n)
    bench = BENCH.format(sw=sw, mw=mw, aw=aw, n=n, e=e, rne=rne, ow=ow, lo=slit(lo, 64), hi=slit(hi, 64),
                         cnt=len(cases), init=init, space=space, lat=space)  # fmt: skip
    res = run_bench(tmp_path, bench, "eval_serial.v")
    assert f"DONE 0 errors {len(cases)} checked" in res, res[-3000:]


@pytest.mark.parametrize("sw,mw,aw,e,rne,ow,lo,hi", CONFIGS)
def test_eval_serial_lints_clean(sw, mw, aw, e, rne, ow, lo, hi, tmp_path: Path) -> None:
    """Verilator -Wall on the module at every test configuration (E = 0 included): no warning."""
    n = _length(sw, mw, aw, e, ow, lo, hi)
    top = tmp_path / "top.v"
    top.write_text(
        "module top(input wire clk, input wire rst, input wire start,\n"
        f"    input wire signed [{sw - 1}:0] s, input wire signed [{mw - 1}:0] m,\n"
        f"    input wire signed [{aw - 1}:0] a, output wire done, output wire [{ow - 1}:0] y);\n"
        f"    eval_serial #(.SW({sw}), .MW({mw}), .AW({aw}), .N({n}), .E({e}), .RNE({rne}),\n"
        f"        .OW({ow}), .LO({slit(lo, 64)}), .HI({slit(hi, 64)})) u (.clk(clk), .rst(rst),\n"
        "        .start(start), .s(s), .m(m), .a(a), .done(done), .y(y));\n"
        "endmodule\n"
    )
    lib = [str(p) for p in rtl.lib_sources() if p.name == "eval_serial.v"]
    tools.run(["verilator", "--lint-only", "-Wall", "-Wno-UNUSEDSIGNAL", str(top), *lib],
              cwd=tmp_path)  # fmt: skip
