"""SlidingWindow estimator vs Yosys 0.70, fitted and held-out.

`make bench-window` (python -m benchmarks.sliding_window): each window is emitted and synthesised
out of context (`synth_ecp5 -noiopad`) and printed next to its estimate (LUT, FF, BRAM, LUT RAM;
ratio estimate / Yosys); the figures go to build/bench/sliding_window.json. FITTED are the windows
the address-logic coefficients (`flows.layers.sliding_window.ADDRESS_LUT*`) were fitted on;
HELD_OUT were never used to fit. Shapes: insta_resnet18's windows at PE 1 (the ULX3S design), its
7x7 stem, resnet20's, cnv_w1a1's and digits'.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.estimate_vs_yosys import cells, error_lines, measured_layer
from flows.artifacts import write_json
from flows.datatypes import BIPOLAR, UINT, DataType
from flows.graph import Node
from flows.layers import SlidingWindow

# (name, channels, map, kernel, stride, pad, pe, input type)
Shape = tuple[str, int, int, int, int, int, int, DataType]
FITTED: list[Shape] = [
    ("r18_56x64", 64, 56, 3, 1, 1, 1, BIPOLAR),
    ("r18_7x512", 512, 7, 3, 1, 1, 1, BIPOLAR),
    ("r18_28x128_s2", 128, 28, 3, 2, 1, 1, BIPOLAR),
    ("r20_32x16", 16, 32, 3, 1, 1, 1, BIPOLAR),
    ("cnv_30x64_pe4", 64, 30, 3, 1, 0, 4, BIPOLAR),
    ("digits_8x1", 1, 8, 3, 1, 1, 1, UINT(4)),
]
HELD_OUT: list[Shape] = [
    ("r18_stem", 3, 224, 7, 2, 3, 1, UINT(8)),
    ("r18_56x64_s2", 64, 56, 3, 2, 1, 1, BIPOLAR),
    ("r18_28x128", 128, 28, 3, 1, 1, 1, BIPOLAR),
    ("r18_14x256", 256, 14, 3, 1, 1, 1, BIPOLAR),
    ("r18_14x256_s2", 256, 14, 3, 2, 1, 1, BIPOLAR),
    ("cnv_32x3", 3, 32, 3, 1, 0, 1, UINT(8)),
    ("r20_16x32_s2_pe2", 32, 16, 3, 2, 1, 2, BIPOLAR),
    ("r18_56x64_pe4", 64, 56, 3, 1, 1, 4, BIPOLAR),
]
FAMILIES = ("ecp5",)
METRICS = ("LUT", "FF", "BRAM", "LUTRAM")


def window(shape: Shape) -> SlidingWindow:
    name, c, hw, k, s, pad, pe, t = shape
    pad_value = -1 if t == BIPOLAR else 0
    return SlidingWindow(f"sw_{name}", channels=c, in_h=hw, in_w=hw, kernel=k, pad=pad,
                         pad_value=pad_value, pe=pe, input_type=t, stride=s)  # fmt: skip


def measure(shape: Shape, workdir: Path) -> dict:
    cfg = window(shape)
    row = {"name": cfg.name, "cycles": cfg.cycles_per_frame}
    return row | measured_layer(Node(cfg, [], [], {}), workdir, FAMILIES, METRICS)


def table(rows: list[dict], title: str) -> str:
    cols = [f"{f} {m}" for f in FAMILIES for m in METRICS]
    out = [title, f"{'window':24} {'cycles':>8} " + " ".join(f"{c:>19}" for c in cols)]
    for r in rows:
        out.append(f"{r['name']:24} {r['cycles']:>8} " + " ".join(cells(r, FAMILIES, METRICS, 6)))
    return "\n".join(out + error_lines(rows, FAMILIES, METRICS))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/bench/sliding_window.json"))
    ap.add_argument("--workdir", type=Path, default=Path("build/bench/sliding_window"))
    args = ap.parse_args(argv)
    result = {}
    for name, shapes in (("fitted", FITTED), ("held_out", HELD_OUT)):
        result[name] = [measure(s, args.workdir) for s in shapes]
        print(table(result[name], f"\n{name} (estimate/Yosys, ratio)"), flush=True)
    print(f"written {write_json(args.out, result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
