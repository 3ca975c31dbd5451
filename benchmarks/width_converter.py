"""StreamWidthConverter estimator vs Yosys 0.70, on the converters it was fitted on and on held-out.

`make bench-dwc` (python -m benchmarks.width_converter): each converter is emitted, synthesised
out of context (`synth_ecp5 -noiopad`, `synth_xilinx`) and printed next to its estimate (LUT, FF,
LUT RAM; ratio estimate / Yosys); the figures go to build/bench/width_converter.json. FITTED are
the ten the coefficients of `flows.layers.width_converter.estimate` were read from; HELD_OUT were
chosen after and never used to fit.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.estimate_vs_yosys import cells, error_lines, measured_layer
from flows.artifacts import write_json
from flows.datatypes import BIPOLAR, INT, UINT
from flows.graph import Node
from flows.layers import StreamWidthConverter

W = StreamWidthConverter
FITTED = [
    W("f1", 64, INT(8), 8, 2), W("f2", 64, BIPOLAR, 4, 32), W("f3", 192, BIPOLAR, 64, 3),
    W("f4", 48, INT(6), 6, 4), W("f5", 64, UINT(4), 16, 64), W("f6", 64, BIPOLAR, 64, 8),
    W("f7", 96, INT(8), 12, 4), W("f8", 64, UINT(4), 32, 2), W("f9", 64, BIPOLAR, 2, 64),
    W("f10", 60, INT(4), 4, 6),
]  # fmt: skip
HELD_OUT = [
    W("h1", 128, BIPOLAR, 32, 4), W("h2", 72, UINT(8), 3, 24), W("h3", 96, INT(4), 8, 12),
    W("h4", 64, INT(16), 16, 4), W("h5", 36, UINT(2), 1, 9), W("h6", 60, BIPOLAR, 5, 6),
]  # fmt: skip
FAMILIES = ("ecp5", "xc7")
METRICS = ("LUT", "FF", "LUTRAM")


def measure(cfg: StreamWidthConverter, workdir: Path) -> dict:
    row = {"name": cfg.name, "lanes": f"{cfg.in_lanes}->{cfg.out_lanes}",
           "type": str(cfg.input_type), "mode": cfg.mode}  # fmt: skip
    return row | measured_layer(Node(cfg, [], []), workdir, FAMILIES, METRICS)


def table(rows: list[dict], title: str) -> str:
    cols = [f"{f} {m}" for f in FAMILIES for m in METRICS]
    out = [title, f"{'lanes':>8} {'type':8} {'mode':8} " + " ".join(f"{c:>17}" for c in cols)]
    for r in rows:
        row_cells = cells(r, FAMILIES, METRICS, 5)
        out.append(f"{r['lanes']:>8} {r['type']:8} {r['mode']:8} " + " ".join(row_cells))
    return "\n".join(out + error_lines(rows, FAMILIES, ("LUT", "FF")))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/bench/width_converter.json"))
    ap.add_argument("--workdir", type=Path, default=Path("build/bench/width_converter"))
    args = ap.parse_args(argv)
    result = {}
    for name, cfgs in (("fitted", FITTED), ("held_out", HELD_OUT)):
        result[name] = [measure(c, args.workdir) for c in cfgs]
        print(table(result[name], f"\n{name} (estimate/Yosys, ratio)"), flush=True)
    print(f"written {write_json(args.out, result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
