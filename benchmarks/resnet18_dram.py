"""One full 224x224 ImageNet INSTA-ResNet-18 image through the RTL with every frame buffer in DRAM.

`make bench-resnet18-dram` (python -m benchmarks.resnet18_dram [--model M] [--images N]): the
model exported untrained (seeded), imported, streamlined, folded at the design floor (the input
pixel rate), every INSTA frame buffer placed in DRAM (`memtier.place(force="buffers")`), the
stitched design joined to the DRAM tier on LiteDRAM's model of the ULX3S SDRAM chip
(`accel_dram_top`), built with Verilator and fed N images through the parity bench: each image's
label must equal the integer graph's. Prints and records (build/bench/resnet18_dram.json) the
DRAM traffic and bound, the build and simulation wall times and the simulated cycles per second.

The weights stay on chip in this simulation: Verilator has no block RAM limit, and weights in DRAM
are not built yet (docs/dram.md, "Weights").
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

from flows import memtier, targets
from flows.codegen.dram_tier import emit_with_dram
from flows.folding import auto_fold, cycles_per_frame
from flows.frontend.qonnx_import import import_model, load
from flows.sim import runner as sim
from flows.sim.parity_bench import parity_path
from flows.transforms.streamline import streamline
from sw.export import export_untrained

CLK_HZ = 50e6  # the ULX3S SDRAM's clock at a full-rate PHY (docs/dram.md)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="insta_resnet18")
    ap.add_argument("--images", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("build/bench"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    onnx = export_untrained(args.model, args.out / f"{args.model}_224.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = streamline(import_model(load(onnx)))
        g = auto_fold(g, 224 * 224, "ulx3s")  # the input pixel rate: the design's floor
    moved = memtier.place(g, "ulx3s", force="buffers")
    use = memtier.dram_use(g, "ulx3s")
    lowered = time.perf_counter() - t0
    print(f"{args.model}: {len(moved)} frame buffers in DRAM, {use.bytes_per_frame:,} bytes per "
          f"frame, DRAM-bound at {use.cycles:,} cycles per frame (compute "
          f"{cycles_per_frame(g):,}); lowered in {lowered:.0f} s", flush=True)  # fmt: skip
    dram = targets.get("ulx3s").dram
    t1 = time.perf_counter()
    b = sim.build("accel_dram_top", lambda d: emit_with_dram(g, d, dram, CLK_HZ))
    built = time.perf_counter() - t1
    print(f"Verilator build: {built:.0f} s", flush=True)
    t = g.streams[g.inputs[0]]
    rng = np.random.default_rng(0)
    frames = rng.integers(t.dtype.min, t.dtype.max + 1, size=(args.images, *t.shape))
    label = f"bench_{args.model}_dram"
    t2 = time.perf_counter()
    sim.run_bench(
        b, g, frames, module="flows.sim.parity_bench", label=label, perf_frames=0,
        extra={"dram_cycles": use.cycles, "startup_cycles": 40_000},
    )  # fmt: skip
    simulated = time.perf_counter() - t2
    counts = json.loads(parity_path(str(sim.RESULTS / f"{label}.json")).read_text())
    result = {
        "model": args.model,
        "buffers_in_dram": len(moved),
        "dram_bytes_per_frame": use.bytes_per_frame,
        "dram_bound_cycles": use.cycles,
        "compute_cycles": cycles_per_frame(g),
        "images": counts["images"],
        "bit_exact": counts["bit_exact"],
        "simulated_cycles": counts["simulated_cycles"],
        "cycles_per_second": counts["cycles_per_second"],
        "wall_seconds": {
            "lower": round(lowered),
            "build": round(built),
            "simulate": round(simulated),
        },  # fmt: skip
    }
    print(json.dumps(result, indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "resnet18_dram.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
