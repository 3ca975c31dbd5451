"""For every model of the zoo and every target: the fastest design that fits, or why none does.

`make bench-explore` (python -m benchmarks.explore): each model exported untrained at its paper's
input size (resources and cycles do not depend on the weights' values), streamlined, then
`flows.explore.fastest_fitting` per target at 100 MHz; one table (frames/s, cycles, LUT, FF,
BRAM, URAM, DSP, width converters, search time) and the JSON in build/bench/explore.json. Also
the cheapest design for FINN's CNV-W1A1 operating point on the PYNQ-Z2 (9,150 frames/s) next to
FINN's published figures, and insta_resnet18 against insta_resnet18_lat at the same frames/s.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

from flows import explore
from flows.artifacts import write_json
from flows.frontend.qonnx_import import import_model, load
from flows.transforms.streamline import streamline

MODELS = {  # name: export options (the papers' input sizes; the zoo defaults otherwise)
    "digits_bnn": {},
    "cnv_w1a1": {},
    "insta_resnet20": {},
    "reactnet_resnet18": {"input_size": 224},
    "insta_resnet18": {"input_size": 224},
    "insta_resnet18_lat": {"input_size": 224},
    "insta_resnet18_plus": {"input_size": 224},
}
TARGETS = ("ulx3s", "pynq-z2", "zcu104", "u250")
CLOCK_MHZ = 100.0
FINN_CNV = {"fps": 9_150, "LUT": 26_072, "BRAM36": 124, "FF": 41_312, "DSP": 24}


def lowered(name: str, cache: Path):
    from sw.export import export_untrained

    path = cache / f"{name}.onnx"
    if not path.is_file():
        export_untrained(name, path, **MODELS[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return streamline(import_model(load(path)))


def run(models, targets, cache: Path) -> dict:
    rows = []
    graphs = {}
    for name in models:
        graphs[name] = g = lowered(name, cache)
        for tgt in targets:
            t0 = time.time()
            try:
                d = explore.fastest_fitting(g, tgt)
                row = d.row(CLOCK_MHZ, explore.limits_of(tgt))
            except explore.NoFitError as e:
                row = {"no_fit": str(e)}
            rows.append(
                {"model": name, "target": tgt, **row, "seconds": round(time.time() - t0, 1)}
            )
            print(_line(rows[-1]), flush=True)
    out = {"clock_mhz": CLOCK_MHZ, "ceilings": explore.CEILINGS, "fastest_fitting": rows}
    if "cnv_w1a1" in graphs:
        d = explore.for_throughput(graphs["cnv_w1a1"], FINN_CNV["fps"], CLOCK_MHZ, "pynq-z2")
        out["cnv_pynq_z2_finn_point"] = {
            "ours": d.row(CLOCK_MHZ, explore.limits_of("pynq-z2")) | {"BRAM36": d.need["BRAM"] / 2},
            "finn": FINN_CNV,
        }
    if {"insta_resnet18", "insta_resnet18_lat"} <= graphs.keys():
        same = {}
        for name in ("insta_resnet18", "insta_resnet18_lat"):
            d = explore._design(graphs[name], 50_176, "u250")
            same[name] = d.row(CLOCK_MHZ, explore.limits_of("u250"))
        out["insta_vs_lat_at_50176_cycles_u250"] = same
    return out


def _line(r: dict) -> str:
    head = f"{r['model']:20s} {r['target']:8s}"
    if "no_fit" in r:
        return f"{head} none fits: {r['no_fit'].split(': ', 1)[1]}"
    cells = " ".join(f"{r[k]:>9,}" for k in ("cycles", "LUT", "FF", "BRAM", "URAM", "DSP"))
    return f"{head} {r['fps']:>11,.1f} fps {cells} {r['converters']:>4} conv  [{r['seconds']} s]"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    ap.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    ap.add_argument("--cache", type=Path, default=Path("build/bench/onnx"))
    ap.add_argument("--out", type=Path, default=Path("build/bench/explore.json"))
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"{'model':20s} {'target':8s} {'frames/s':>15} {'cycles':>9} {'LUT':>9} {'FF':>9} "
          f"{'BRAM18':>9} {'URAM':>9} {'DSP':>9}")  # fmt: skip
    out = run(args.models, args.targets, args.cache)
    if "cnv_pynq_z2_finn_point" in out:
        ours, finn = out["cnv_pynq_z2_finn_point"].values()
        print(
            f"\ncnv_w1a1 on pynq-z2 for {finn['fps']:,} frames/s: {ours['fps']:,.0f} frames/s, "
            f"{ours['LUT']:,} LUT, {ours['FF']:,} FF, {ours['BRAM36']:g} BRAM36, {ours['DSP']} DSP "
            f"(estimates); FINN BNN-PYNQ: {finn['LUT']:,} LUT, {finn['FF']:,} FF, "
            f"{finn['BRAM36']} BRAM36, {finn['DSP']} DSP (Vivado)"
        )
    if "insta_vs_lat_at_50176_cycles_u250" in out:
        print("\nthe same frames/s on u250 (50,176 cycles per frame: a 224x224 pixel per cycle):")
        for name, r in out["insta_vs_lat_at_50176_cycles_u250"].items():
            print(_line({"model": name, "target": "u250", "seconds": 0, **r}))
    print(f"written {write_json(args.out, out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
