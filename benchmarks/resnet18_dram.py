"""Full 224x224 ImageNet INSTA-ResNet-18 images through the RTL with the DRAM tier, natively.

`make bench-resnet18-dram` (python -m benchmarks.resnet18_dram [--model M] [--images N]
[--dram all|buffers]): the model exported untrained (seeded), imported, streamlined, folded for
the explorer's slowest target (the cheapest design), its frame buffers (`buffers`) or its buffers, weights
and constants (`all`, the default: what the ULX3S needs) placed in DRAM, the stitched design
joined to the DRAM tier on LiteDRAM's model of the ULX3S SDRAM chip (`accel_dram_top`, the weight
image through the tier's loader), built with Verilator around the native testbench
(flows/sim/native.py) and fed N images at full rate: every output word must equal the integer
graph's. Prints and records (build/bench/resnet18_dram.json) the DRAM traffic and bound, the
first-frame latency, the build, golden-model and simulation wall times and the simulated cycles
per second. One image takes about an hour here (2 cores).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

from flows import explore, memtier, targets
from flows.codegen.dram_tier import emit_with_dram, load_image
from flows.folding import auto_fold, cycles_per_frame
from flows.frontend.qonnx_import import import_model, load
from flows.sim import native
from flows.sim.layer_bench import Model
from flows.sim.parity import DRAM_STARTUP
from flows.sim.parity_bench import exact_frames, quiet_bound
from flows.transforms.streamline import streamline
from sw.export import export_untrained

CLK_HZ = 50e6  # the ULX3S SDRAM's clock at a full-rate PHY (docs/dram.md)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="insta_resnet18")
    ap.add_argument("--images", type=int, default=1)
    ap.add_argument("--dram", choices=("all", "buffers"), default="all")
    ap.add_argument("--out", type=Path, default=Path("build/bench"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    onnx = export_untrained(args.model, args.out / f"{args.model}_224.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = streamline(import_model(load(onnx)))
        # the cheapest folding the explorer considers (its slowest target); at the design's
        # floor (the input pixel rate, 50,176 cycles) every layer is so wide that Verilator ran
        # out of this machine's 24 GB building it
        g = auto_fold(g, explore.candidate_cycles(g)[-1], "ulx3s")
    moved = memtier.place(g, "ulx3s", force=args.dram)
    use = memtier.dram_use(g, "ulx3s")
    lowered = time.perf_counter() - t0
    print(f"{args.model}: {len(moved)} layers with DRAM forms ({args.dram}), "
          f"{use.bytes_per_frame:,} bytes per frame, DRAM-bound at {use.cycles:,} cycles per "
          f"frame (compute {cycles_per_frame(g):,}); lowered in {lowered:.0f} s", flush=True)  # fmt: skip
    dram = targets.get("ulx3s").dram
    model = Model(g)
    image = load_image(g, dram)
    in_w, out_w = model.inp.lanes * model.inp.dtype.bits, model.out.lanes * model.out.dtype.bits
    t1 = time.perf_counter()
    b = native.build("accel_dram_top", lambda d: emit_with_dram(g, d, dram, CLK_HZ), in_w=in_w,
                     out_w=out_w, dram=True, load_w=dram.data_bits if image else 0)  # fmt: skip
    built = time.perf_counter() - t1
    print(f"Verilator build: {built:.0f} s; weight image {len(image):,} words", flush=True)
    t = g.streams[g.inputs[0]]
    frames = np.random.default_rng(0).integers(t.dtype.min, t.dtype.max + 1,
                                               size=(args.images, *t.shape))  # fmt: skip
    t2 = time.perf_counter()
    want = model.words_out(frames)
    golden = time.perf_counter() - t2
    startup = DRAM_STARTUP + 4 * len(image)
    t3 = time.perf_counter()
    r = native.run(
        b, model.words_in(frames), in_bits=in_w, n_out=len(want), in_frame=model.in_per_frame,
        out_frame=model.out_per_frame, quiet=quiet_bound(g, use.cycles, model.in_per_frame, startup),
        random_rates=False, seed=1, label=f"bench_{args.model}_{args.dram}", load=image or None,
        load_bits=dram.data_bits,
    )  # fmt: skip
    simulated = time.perf_counter() - t3
    exact = sum(exact_frames(r["words_out"], want, model.out_per_frame, args.images))
    result = {
        "model": args.model,
        "dram": args.dram,
        "layers_with_dram_forms": len(moved),
        "dram_bytes_per_frame": use.bytes_per_frame,
        "dram_bound_cycles": use.cycles,
        "compute_cycles": cycles_per_frame(g),
        "weight_image_words": len(image),
        "images": args.images,
        "bit_exact": exact,
        "problems": r["problems"],
        "first_input_cycle": r["in_first"][0] if r["in_first"] else None,
        "first_frame_latency": (r["out_last"][0] - r["in_first"][0]) if r["out_last"] else None,
        "simulated_cycles": r["simulated_cycles"],
        "cycles_per_second": r["cycles_per_second"],
        "wall_seconds": {
            "lower": round(lowered),
            "build": round(built),
            "golden": round(golden, 1),
            "simulate": round(simulated),
        },  # fmt: skip
    }
    print(json.dumps(result, indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "resnet18_dram.json").write_text(json.dumps(result, indent=1))
    if exact != args.images or r["problems"]:
        raise SystemExit(f"{args.model}: {exact}/{args.images} images bit-exact {r['problems']}")


if __name__ == "__main__":
    main()
