"""stream_fifo estimator (flows.hwmodel.fifo) vs Yosys 0.70, fitted widths and held-out widths.

`make bench-fifo` (python -m benchmarks.fifo): hw/lib/stream_fifo.v at widths 1, 8, 12, 59
(fitted) and 20, 68 (held out) and depths 2 to 4,096, synthesised out of context (`synth_ecp5
-noiopad`, `synth_xilinx`), printed next to the estimate (LUT, FF, LUT RAM, BRAM; ratio estimate /
Yosys). Results are cached by the FIFO source's hash in build/bench/fifo_cache.json (the whole
grid takes about 20 minutes on this machine's 2 cores); figures go to build/bench/fifo.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from flows import synth
from flows.artifacts import write_json
from flows.hwmodel.fifo import stream_fifo

ROOT = Path(__file__).resolve().parents[1]
FIFO = ROOT / "hw" / "lib" / "stream_fifo.v"
FITTED = (1, 8, 12, 59)
HELD_OUT = (20, 68)
DEPTHS = (2, 8, 32, 128, 512, 1024, 4096)
FAMILIES = ("ecp5", "xc7")
WRAP = """module {top} (input wire clk, input wire rst,
    input wire [{m}:0] s_tdata, input wire s_tvalid, output wire s_tready,
    output wire [{m}:0] m_tdata, output wire m_tvalid, input wire m_tready);
    stream_fifo #(.WIDTH({w}), .DEPTH({d})) u (.clk(clk), .rst(rst), .s_tdata(s_tdata),
        .s_tvalid(s_tvalid), .s_tready(s_tready), .m_tdata(m_tdata), .m_tvalid(m_tvalid),
        .m_tready(m_tready));
endmodule
"""


def measure(w: int, d: int, family: str, workdir: Path) -> dict:
    top = f"fifo_w{w}_d{d}"
    src = workdir / "src" / f"{top}.v"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text(WRAP.format(top=top, m=w - 1, w=w, d=d))
    if family == "ecp5":
        r = synth.synth_ecp5([src, FIFO], top, workdir / top / family, ooc=True)
    else:
        r = synth.synth_xilinx([src, FIFO], top, workdir / top / family)
    out = {k: r[k] for k in ("LUT", "FF", "BRAM", "LUTRAM")}
    if family != "ecp5":  # Yosys counts RAM32M/RAM64M cells; an Estimate counts their 4 LUTs each
        out["LUTRAM"] *= 4
    return out


def estimate(w: int, d: int, family: str) -> dict:
    e = stream_fifo(w, d, family)
    return {"LUT": e.lut, "FF": e.ff, "BRAM": e.bram, "LUTRAM": e.lutram}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "bench" / "fifo.json")
    ap.add_argument("--workdir", type=Path, default=ROOT / "build" / "bench" / "fifo")
    args = ap.parse_args(argv)
    key = hashlib.sha256(FIFO.read_bytes()).hexdigest()[:12]
    cache_path = args.out.parent / "fifo_cache.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    rows = []
    for family in FAMILIES:
        print(f"\n{family}: estimate/Yosys (ratio)   LUT            FF           LUTRAM      BRAM")
        for w in FITTED + HELD_OUT:
            for d in DEPTHS:
                k = f"{key},{w},{d},{family}"
                if k not in cache:
                    cache[k] = measure(w, d, family, args.workdir)  # in the estimate's units
                    write_json(cache_path, cache)
                y, e = cache[k], estimate(w, d, family)
                tag = "held" if w in HELD_OUT else "fit "
                cells = [
                    f"{e[m]:5d}/{y[m]:5d} ({e[m] / y[m]:4.2f})"
                    if y[m]
                    else f"{e[m]:5d}/{y[m]:5d}    -  "
                    for m in ("LUT", "FF", "LUTRAM", "BRAM")
                ]
                print(f"  {tag} w={w:3d} d={d:5d}  " + "  ".join(cells), flush=True)
                rows.append({"family": family, "width": w, "depth": d, "held_out": w in HELD_OUT,
                             "estimate": e, "yosys": y})  # fmt: skip
    for family in FAMILIES:
        for held in (False, True):
            r = [x["estimate"]["LUT"] / x["yosys"]["LUT"] for x in rows
                 if x["family"] == family and x["held_out"] == held and x["yosys"]["LUT"]]  # fmt: skip
            print(
                f"{family} {'held out' if held else 'fitted'}: LUT ratio {min(r):.2f}-{max(r):.2f}"
            )
    print(f"written {write_json(args.out, {'source_hash': key, 'rows': rows})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
