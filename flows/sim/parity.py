"""The build's parity step: accel_top simulated on test images, bit-exact with the golden graph.

Simulated at the stream boundary of accel_top (the shell's UART path is covered by its own test
with a UART model, tests/hw/boards). A mismatch is a FlowError: the build never reports a design
that differs from its integer model.
"""

from __future__ import annotations

import json
import shutil

import numpy as np

from flows import memtier, targets
from flows.agreement import to_stream
from flows.codegen.dram_tier import emit_with_dram, load_image
from flows.errors import FlowError
from flows.sim import runner
from flows.sim.parity_bench import parity_path


def run_parity(ctx) -> dict:
    ref = np.load(ctx.reference) if ctx.reference is not None else None
    n = ctx.cfg.parity_images
    if ref is not None:  # NCHW (or flat) images -> (images, vectors, channels), raster order
        frames = to_stream(ref["images"][:n], ctx.graph)
    else:  # a user's ONNX file: random pixels on the input type's range
        t = ctx.graph.streams[ctx.graph.inputs[0]]
        rng = np.random.default_rng(ctx.cfg.seed)
        frames = rng.integers(t.dtype.min, t.dtype.max + 1, size=(n, *t.shape), dtype=np.int64)
    tgt = targets.get(ctx.cfg.target)
    use = memtier.dram_use(ctx.graph, tgt)
    if use.buffers:  # the same design with LiteDRAM's model of the board's chip (docs/dram.md)
        image = load_image(ctx.graph, tgt.dram)
        top, extra = "accel_dram_top", {"dram_cycles": use.cycles, "load_image": image,
                                         "startup_cycles": 40_000 + 4 * len(image)}  # fmt: skip

        def emit(d):  # the tier is generated again, with the model PHY
            emit_with_dram(ctx.graph, d, tgt.dram, ctx.cfg.clock_mhz * 1e6, phy="model")

    else:
        top, extra = "accel_top", {}
        rtl_dir, layers = ctx.out / "rtl", {n.name for n in ctx.graph.nodes} | {"accel_top"}

        def emit(d):  # the generated layers and their memories; hw/lib comes from the runner
            for f in rtl_dir.iterdir():
                if f.suffix == ".mem" or (f.suffix == ".v" and f.stem in layers):
                    shutil.copy(f, d / f.name)

    build = runner.build(top, emit)
    label = f"parity-{ctx.summary['model']}-{ctx.cfg.target}"
    counts = parity_path(str(runner.RESULTS / f"{label}.json"))
    counts.unlink(missing_ok=True)
    try:
        timing = runner.run_bench(
            build, ctx.graph, frames, module="flows.sim.parity_bench", label=label, perf_frames=24,
            extra=extra,
        )  # fmt: skip
    except AssertionError as e:
        raise FlowError(f"parity: {top} differs from the integer graph: {e}") from None
    if not counts.is_file():
        raise FlowError(f"parity: the simulation wrote no result ({counts}); see its log")
    result = json.loads(counts.read_text())
    if result["bit_exact"] != result["images"]:
        raise FlowError(f"parity: only {result['bit_exact']}/{result['images']} images bit-exact")
    estimate = max(timing["cycles_per_frame_estimate"], use.cycles)
    # a DRAM-bound design: the mean of its steady intervals (parity_bench), else the last four
    measured = timing.get("cycles_per_frame_mean") or timing["cycles_per_frame_out"][-4:]
    print(
        f"[parity] {result['bit_exact']}/{result['images']} images bit-exact ({top} in "
        f"Verilator, random back-pressure); cycles/frame measured {measured} vs estimate "
        f"{estimate}; first-frame latency {timing['first_frame_latency']} cycles; simulated "
        f"{result['cycles_per_second']} cycles/s"
    )
    where = " with LiteDRAM's SDRAM model" if use.buffers else ""
    return {
        "images": result["images"],
        "bit_exact": result["bit_exact"],
        "simulated": f"{top} at its AXI-Stream boundary{where} (Verilator, random back-pressure)",
        "cycles_per_frame_measured": measured[-1],
        "cycles_per_frame_estimate": estimate,
        "first_frame_latency_cycles": timing["first_frame_latency"],
        "simulated_cycles_per_second": result["cycles_per_second"],
    }
