"""MVAU estimator vs Yosys 0.70 for deep weight ROMs and for weights in DRAM, fitted and held-out.

`make bench-mvau-dram` (python -m benchmarks.mvau_dram): each MVAU is emitted in both forms, its
weight ROM on chip (`weights="chip"`) and its weights streamed from DRAM (`weights="dram"`,
hw/templates/mvau_dram.v.j2), synthesised out of context (`synth_ecp5 -noiopad`, `synth_xilinx`)
and printed next to its estimate (LUT, FF, BRAM, LUT RAM; ratio estimate / Yosys); the figures go
to build/bench/mvau_dram.json. FITTED are the four layers the read-multiplexer coefficient
(`flows.hwmodel.memory.CASCADE_LUT_PER_BIT`) and the pass control (`flows.layers.mvau.estimate.
PASS_CONTROL_LUT`) were read from; HELD_OUT were chosen after and never used to fit.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.estimate_vs_yosys import cells, error_lines, measured_layer
from flows.artifacts import write_json
from flows.datatypes import BIPOLAR, INT, UINT
from flows.graph import Node
from flows.layers import IntMVAU, XnorMVAU

D = {"weights": "dram"}
FITTED = [
    # ResNet-18 layer 4 and layer 3 3x3 convs, a small CNV-like conv, the classifier
    XnorMVAU("f_l4", mw=4608, mh=512, simd=64, pe=4, num_vectors=49, vectors_per_pass=7, **D),
    XnorMVAU("f_l3", mw=2304, mh=256, simd=32, pe=2, num_vectors=196, vectors_per_pass=14, **D),
    XnorMVAU("f_small", mw=576, mh=64, simd=16, pe=4, num_vectors=16, vectors_per_pass=4, **D),
    IntMVAU("f_fc", mw=512, mh=1000, input_type=INT(4), weight_type=INT(8), simd=16, pe=4, **D),
]  # fmt: skip
HELD_OUT = [
    # layer-2-like conv, whole frame per pass; layer 4 at another folding; a 1x1 downsample;
    # INT8 x UINT4 classifier of a CIFAR net
    XnorMVAU("h_l2", mw=1152, mh=128, simd=32, pe=8, num_vectors=16, vectors_per_pass=16, **D),
    XnorMVAU("h_l4b", mw=4608, mh=512, simd=128, pe=2, num_vectors=49, vectors_per_pass=49,
             popcount_stages=2, **D),
    XnorMVAU("h_ds", mw=256, mh=512, simd=16, pe=8, num_vectors=49, vectors_per_pass=7, **D),
    IntMVAU("h_fc", mw=256, mh=100, input_type=UINT(4), weight_type=INT(8), simd=8, pe=2, **D),
]  # fmt: skip
FAMILIES = ("ecp5", "xc7")
METRICS = ("LUT", "FF", "BRAM", "LUTRAM")


def _weights(cfg) -> np.ndarray:
    rng = np.random.default_rng(0)
    if cfg.weight_type == BIPOLAR:
        return rng.choice([-1, 1], (cfg.mh, cfg.mw))
    t = cfg.weight_type
    return rng.integers(t.min, t.max + 1, (cfg.mh, cfg.mw))


def _form(cfg, where: str):
    if where == "chip":
        return replace(cfg, name=f"{cfg.name}_chip", weights="chip", vectors_per_pass=1)
    return replace(cfg, name=f"{cfg.name}_dram", weights="dram")


def measure(cfg, where: str, workdir: Path) -> dict:
    c = _form(cfg, where)
    row = {"name": c.name, "form": where, "pass": c.vectors_per_pass}
    node = Node(c, [], [], {"weights": _weights(c)})
    return row | measured_layer(node, workdir, FAMILIES, METRICS)


def table(rows: list[dict], title: str) -> str:
    cols = [f"{f} {m}" for f in FAMILIES for m in METRICS]
    out = [title, f"{'layer':14} " + " ".join(f"{c:>19}" for c in cols)]
    for r in rows:
        out.append(f"{r['name']:14} " + " ".join(cells(r, FAMILIES, METRICS, 6)))
    return "\n".join(out + error_lines(rows, FAMILIES, ("LUT", "FF", "BRAM")))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/bench/mvau_dram.json"))
    ap.add_argument("--workdir", type=Path, default=Path("build/bench/mvau_dram"))
    args = ap.parse_args(argv)
    result = {}
    for name, cfgs in (("fitted", FITTED), ("held_out", HELD_OUT)):
        result[name] = [measure(c, w, args.workdir) for c in cfgs for w in ("chip", "dram")]
        print(table(result[name], f"\n{name} (estimate/Yosys, ratio)"), flush=True)
    print(f"written {write_json(args.out, result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
