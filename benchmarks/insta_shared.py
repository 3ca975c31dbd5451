"""INSTA estimator vs Yosys 0.70 for the multiplier styles and the statistic memories' style.

`make bench-insta-shared` (python -m benchmarks.insta_shared): each INSTA block is emitted with
parallel multipliers and with shared ones (`multipliers="shared"`, hw/lib/cube_seq.v and
mul_seq.v; docs/insta.md, "Shared multipliers"), its frame buffer external (`buffer="dram"`, as
the ImageNet layers place it) so the figures are the logic's, synthesised out of context
(`synth_ecp5 -noiopad`) and printed next to its estimate (LUT, FF, BRAM, DSP; ratio estimate /
Yosys); the figures go to build/bench/insta_shared.json. FITTED is the block the shared form's
coefficients (`flows.hwmodel.cube.SHARED_*`) were read from; HELD_OUT were chosen after and never
used to fit: ResNet-18 layer shapes at PE 1 and 2.

STAT_MEMORY: the forms the device search gives insta_resnet18's first two stages on the ULX3S
(PE 1, serial multipliers, held evaluation), with the accumulators, snapshot and bank by the size
rule (`stat_memory="auto"`, distributed RAM below 4 kbit) and pinned to block RAM ("block"). Its
LUTRAM column (TRELLIS_DPR16X4 cells) is what the choice trades for block RAM; nothing was fitted
on these blocks.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from benchmarks.estimate_vs_yosys import cells, error_lines, measured_layer
from flows.artifacts import write_json
from flows.datatypes import INT
from flows.graph import Node

# (kind, channels, height, width, PE): INT8 input, mu on a 2^-4 grid (as the zoo's INSTA layers)
FITTED = [("threshold", 64, 7, 7, 1), ("prelu", 64, 7, 7, 1)]
HELD_OUT = [
    ("threshold", 128, 28, 28, 1),
    ("prelu", 256, 14, 14, 1),
    ("threshold", 512, 7, 7, 2),
    ("prelu", 128, 28, 28, 2),
]
# (kind, channels, height, width, PE) measured with both statistic memory styles (module doc)
STAT_MEMORY = [("threshold", 64, 56, 56, 1), ("prelu", 64, 56, 56, 1), ("prelu", 128, 28, 28, 1)]
STAT_MULTIPLIERS, STAT_EVALUATION = "serial", "hold"  # the search's form on those stages
FAMILIES = ("ecp5",)
METRICS = ("LUT", "FF", "BRAM", "DSP")
STAT_METRICS = (*METRICS, "LUTRAM")


def _node(kind: str, c: int, h: int, w: int, pe: int, style: str, **form) -> Node:
    """The block with the tests' constructed constants (tests/hw/test_insta_*.py make_case)."""
    rng = np.random.default_rng(c * h + pe)
    if kind == "threshold":
        from tests.hw.test_insta_threshold import Spec, make_case

        node, _, _ = make_case(Spec(c, h, w, INT(8), pe, 0.25, 2.0**-4, mu_frac_bits=4), rng)
    else:
        from tests.hw.test_insta_prelu import Spec, make_case

        spec = Spec("alpha", c, h, w, INT(8), pe, 2.0**-4, 4, 8, 12, 8, INT(8))
        node, _, _ = make_case(spec, rng)
    name = f"{kind}_{c}x{h}x{w}_pe{pe}_{style}"
    cfg = dataclasses.replace(node.config, name=name, buffer="dram", multipliers=style, **form)
    return Node(cfg, node.inputs, node.outputs, node.params)


def measure(
    kind: str, c: int, h: int, w: int, pe: int, style: str, workdir: Path, metrics=METRICS
) -> dict:
    node = _node(kind, c, h, w, pe, style)
    cfg = node.config
    row = {"name": cfg.name, "style": style, "cycles": cfg.cycles_per_frame}
    return row | measured_layer(node, workdir, FAMILIES, metrics)


def measure_stat(kind: str, c: int, h: int, w: int, pe: int, memory: str, workdir: Path) -> dict:
    """One STAT_MEMORY block in the search's form with `stat_memory=memory`."""
    node = _node(
        kind, c, h, w, pe, STAT_MULTIPLIERS, evaluation=STAT_EVALUATION, stat_memory=memory
    )
    cfg = dataclasses.replace(node.config, name=f"{kind}_{c}x{h}x{w}_pe{pe}_{memory}")
    row = {"name": cfg.name, "style": memory, "cycles": cfg.cycles_per_frame}
    node = Node(cfg, node.inputs, node.outputs, node.params)
    return row | measured_layer(node, workdir, FAMILIES, STAT_METRICS)


def table(rows: list[dict], title: str, metrics=METRICS) -> str:
    cols = [f"{f} {m}" for f in FAMILIES for m in metrics]
    out = [title, f"{'block':30} {'cycles':>8} " + " ".join(f"{c:>19}" for c in cols)]
    for r in rows:
        out.append(f"{r['name']:30} {r['cycles']:>8} " + " ".join(cells(r, FAMILIES, metrics, 6)))
    return "\n".join(out + error_lines(rows, FAMILIES, metrics))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/bench/insta_shared.json"))
    ap.add_argument("--workdir", type=Path, default=Path("build/bench/insta_shared"))
    args = ap.parse_args(argv)
    result = {}
    for name, blocks in (("fitted", FITTED), ("held_out", HELD_OUT)):
        result[name] = [
            measure(*b, s, args.workdir) for b in blocks for s in ("parallel", "shared")
        ]
        print(table(result[name], f"\n{name} (estimate/Yosys, ratio)"), flush=True)
    result["stat_memory"] = [
        measure_stat(*b, m, args.workdir) for b in STAT_MEMORY for m in ("auto", "block")
    ]
    title = "\nstat_memory, held out (estimate/Yosys, ratio)"
    print(table(result["stat_memory"], title, STAT_METRICS), flush=True)
    print(f"written {write_json(args.out, result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
