"""The build's parity step: accel_top simulated on test images, bit-exact with the golden graph.

Simulated at the stream boundary of accel_top (the shell's UART path is covered by its own test
with a UART model, tests/hw/boards), natively (flows/sim/native.py: a Verilog testbench under a C++
clock loop, 20-50 times faster than a cocotb bench, which is what makes a 224x224 ResNet-18
frame of 60-100 million cycles possible). Two runs of one build, as the cocotb parity bench:

* **images**: the parity images under random input gaps and output stalls; every output word is
  compared with the golden graph's.
* **steady state**: images repeated at full rate; the cycles between frames must equal the
  slowest layer's estimate, or for a design bound by its DRAM traffic stay within the parity
  bench's DRAM_TOLERANCE / DRAM_FASTER of that bound (mean of the steady intervals).

Both are sized by the build's `parity_budget` (simulated cycles per run, `--parity-budget`): a
design of C cycles per frame simulates at most about budget / C frames in each run; when 24
steady-state frames do not fit, one run at full rate checks at least three images and the rate.
The summary says how many images ran out of how many were asked for, and at which rates, so a
budgeted run never passes for a full one. A mismatch, a deadlock or a protocol error is a FlowError: the build never reports a
design that differs from its integer model.
"""

from __future__ import annotations

import shutil

import numpy as np

from flows import memtier, targets
from flows.agreement import to_stream
from flows.codegen import stitch
from flows.codegen.dram_tier import emit_with_dram, load_image
from flows.errors import FlowError
from flows.sim import native
from flows.sim.layer_bench import Model
from flows.sim.parity_bench import (
    DRAM_DRAIN,
    DRAM_FASTER,
    DRAM_FRAMES,
    DRAM_TOLERANCE,
    exact_frames,
    quiet_bound,
)

PERF_FRAMES = 24  # steady-state frames when the budget allows
MIN_PERF_FRAMES = 3  # two intervals: one that is not the last (which drains faster)
DRAM_STARTUP = 40_000  # cycles to the SDRAM's init_done, before any weight word (docs/dram.md)


def frame_counts(requested: int, frame_cycles: int, budget: int) -> tuple[int, int]:
    """(images, steady-state frames) for a design of `frame_cycles` cycles per frame. Steady-state
    frames 0 means the budget cannot afford two runs: one run at full rate of the images (at
    least MIN_PERF_FRAMES of them) checks both the words and the rate."""
    fit = max(1, budget // max(frame_cycles, 1))
    if fit >= PERF_FRAMES:
        return min(requested, fit), PERF_FRAMES
    return max(MIN_PERF_FRAMES, min(requested, fit)), 0


def _frames(ctx, n: int) -> np.ndarray:
    ref = np.load(ctx.reference) if ctx.reference is not None else None
    if ref is not None:  # NCHW (or flat) images -> (images, vectors, channels), raster order
        return to_stream(ref["images"][:n], ctx.graph)
    t = ctx.graph.streams[ctx.graph.inputs[0]]  # a user's ONNX file: random pixels
    rng = np.random.default_rng(ctx.cfg.seed)
    return rng.integers(t.dtype.min, t.dtype.max + 1, size=(n, *t.shape), dtype=np.int64)


def run_parity(ctx) -> dict:
    graph, tgt = ctx.graph, targets.get(ctx.cfg.target)
    budget = ctx.cfg.parity_budget
    use = memtier.dram_use(graph, tgt)
    model = Model(graph)
    frame_cycles = max(model.cycles_per_frame, use.cycles)
    n_img, n_perf = frame_counts(ctx.cfg.parity_images, frame_cycles, budget)
    frames = _frames(ctx, n_img)
    in_w, out_w = model.inp.lanes * model.inp.dtype.bits, model.out.lanes * model.out.dtype.bits
    load, startup = [], 0
    if use.buffers:  # the same design with LiteDRAM's model of the board's chip (docs/dram.md)
        top, load = "accel_dram_top", load_image(graph, tgt.dram)
        startup = DRAM_STARTUP + 4 * len(load)

        def emit(d):  # the tier is generated again, with the model PHY
            emit_with_dram(graph, d, tgt.dram, ctx.cfg.clock_mhz * 1e6, phy="model")

    else:
        top = "accel_top"
        rtl_dir = getattr(ctx, "out", None) and ctx.out / "rtl"
        layers = {n.name for n in graph.nodes} | {"accel_top"}

        def emit(d):  # the build's own RTL where it has one (hw/lib comes from the runner)
            if rtl_dir and rtl_dir.is_dir():
                for f in rtl_dir.iterdir():
                    if f.suffix == ".mem" or (f.suffix == ".v" and f.stem in layers):
                        shutil.copy(f, d / f.name)
            else:
                stitch.emit_stitched(graph, d)

    build = native.build(top, emit, in_w=in_w, out_w=out_w, dram=bool(use.buffers),
                         load_w=tgt.dram.data_bits if load else 0)  # fmt: skip
    common = dict(
        in_bits=in_w, in_frame=model.in_per_frame, out_frame=model.out_per_frame,
        quiet=quiet_bound(graph, use.cycles, model.in_per_frame, startup), load=load or None,
        load_bits=tgt.dram.data_bits if load else 16, seed=ctx.cfg.seed + 1,
    )  # fmt: skip
    label = f"parity-{ctx.summary['model']}-{ctx.cfg.target}"
    if n_perf:  # images under random rates, then images repeated at full rate
        img = native.run(build, model.words_in(frames), n_out=n_img * model.out_per_frame,
                         random_rates=True, label=f"{label}-images", **common)  # fmt: skip
        exact = _compare(img, frames, model, top)
        perf = np.resize(frames, (n_perf, *frames.shape[1:]))
        runs = [img]
    else:  # the budget affords one run: the images at full rate
        perf, runs = frames, []
    st = native.run(build, model.words_in(perf), n_out=len(perf) * model.out_per_frame,
                    random_rates=False, label=f"{label}-steady", **common)  # fmt: skip
    exact_at_full_rate = _compare(st, perf, model, top)
    if not n_perf:
        exact = exact_at_full_rate
    ins, outs = native.intervals(st["in_first"]), native.intervals(st["out_last"])
    measured, estimate = _check_rate(ins, outs, model.cycles_per_frame, use.cycles)
    runs.append(st)
    wall = sum(r["wall_seconds"] for r in runs)
    cycles = sum(r["simulated_cycles"] for r in runs)
    rates = "random gaps and back-pressure, then full rate" if n_perf else "full rate only"
    latency = st["out_last"][0] - st["in_first"][0]
    print(
        f"[parity] {exact}/{n_img} images bit-exact ({ctx.cfg.parity_images} asked; {top} in "
        f"Verilator, native testbench, {rates}); cycles/frame measured {measured} vs estimate "
        f"{estimate} ({len(perf)} frames at full rate); first-frame latency {latency} cycles; "
        f"{cycles:,} cycles simulated in {wall:.0f} s ({round(cycles / max(wall, 1e-9)):,} "
        "cycles/s)"
    )
    where = " with LiteDRAM's SDRAM model" if use.buffers else ""
    return {
        "images": n_img,
        "images_requested": ctx.cfg.parity_images,
        "bit_exact": exact,
        "simulated": f"{top} at its AXI-Stream boundary{where} (Verilator, native testbench, "
        f"{rates})",
        "cycles_per_frame_measured": measured[-1],
        "cycles_per_frame_estimate": estimate,
        "steady_state_frames": len(perf),
        "first_frame_latency_cycles": latency,
        "simulated_cycles": cycles,
        "wall_seconds": round(wall, 1),
        "simulated_cycles_per_second": round(cycles / max(wall, 1e-9)),
        "cycle_budget": budget,
    }


def _compare(r: dict, frames: np.ndarray, model: Model, top: str) -> int:
    """The number of bit-exact frames of a run; FlowError on a problem the testbench reported
    (deadlock, protocol), on any differing frame and on extra words."""
    if r["problems"]:
        raise FlowError(f"parity: {top}: {r['problems'][0]} (log {r['log']})")
    want, got, per = model.words_out(frames), r["words_out"], model.out_per_frame
    exact = exact_frames(got, want, per, len(frames))
    if not all(exact) or r["extra_words"]:
        first = exact.index(False) if not all(exact) else None
        raise FlowError(
            f"parity: {top} differs from the integer graph: {sum(exact)}/{len(frames)} images "
            f"bit-exact (first mismatch: image {first}), {r['extra_words']} extra words; "
            f"log {r['log']}"
        )
    return len(frames)


def _check_rate(ins: list[int], outs: list[int], compute: int, dram: int):
    """(measured, estimate): the last four intervals in and out (a short run: out only, the input
    still running ahead into the buffers) must equal the compute estimate;
    a DRAM-bound design's mean intervals must lie within DRAM_TOLERANCE / DRAM_FASTER of its
    bound: the output intervals before the last DRAM_DRAIN (all but the last, which drains
    faster, in a short run) and, in a run long enough for the input to have filled the
    buffers, the last DRAM_FRAMES input intervals."""
    if dram > compute:
        o = outs[-DRAM_FRAMES - DRAM_DRAIN : -DRAM_DRAIN] or outs[:-1] or outs
        means = [round(sum(o) / len(o))]
        if len(ins) >= DRAM_FRAMES + DRAM_DRAIN:  # else the input still runs ahead into buffers
            means.insert(0, round(sum(ins[-DRAM_FRAMES:]) / DRAM_FRAMES))
        slower, faster = max(c / dram - 1 for c in means), max(1 - c / dram for c in means)
        if slower > DRAM_TOLERANCE or faster > DRAM_FASTER:
            raise FlowError(
                f"parity: steady-state cycles per frame (mean in, out) {means} against the "
                f"DRAM-bound estimate {dram}: up to {slower:.0%} slower and {faster:.0%} faster "
                f"(allowed {DRAM_TOLERANCE:.0%} and {DRAM_FASTER:.0%})"
            )
        return means, dram
    steady = (ins[-4:] if len(ins) >= 2 * 4 else []) + outs[-4:]  # a short run: outputs only
    if any(c != compute for c in steady):
        raise FlowError(f"parity: steady-state cycles per frame {steady} != estimate {compute}")
    return outs[-4:], compute
