"""cocotb bench of the build's parity step: whole images through accel_top vs the golden graph.

Same driver, monitors (AXI-Stream checks) and model as layer_bench. Two tests:

* `images_bit_exact`: the case's images under random back-pressure and input gaps; records how
  many came out bit-exact (equal output words) before asserting all did.
* `steady_state`: the images repeated to `perf_frames` at full rate; measured cycles per frame
  (last 4 intervals, in and out) must equal the slowest layer's estimate, and the first-frame
  latency is recorded (a case with `perf_frames` = 0 skips it: the deadlock tests). A design
  whose DRAM traffic bounds it (`dram_cycles` in the case) is held to that bound instead (at most
  DRAM_TOLERANCE slower, DRAM_FASTER faster), on the mean of its last DRAM_FRAMES intervals.

Both watch for a deadlock instead of waiting out a long timeout: no transfer on either port for
`quiet_cycles` (a bound on the design's first-frame latency) while words are still owed is
reported as "deadlock" (the tests of the FIFO rules look for that word). Both record simulated
cycles and wall time, for the simulated cycles per second of docs/hardware.md.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles

from flows.sim.axis import cycle
from flows.sim.layer_bench import Bench, check

POLL = 64  # cycles between two progress checks (the monitors record every transfer anyway)
# A design bound by its DRAM traffic (case field `dram_cycles`, flows.hwmodel.dram.dram_cycles) is
# held to that estimate: at most DRAM_TOLERANCE slower (the sustained rate is a measured average,
# not exact) and at most DRAM_FASTER faster. The recorded rate is the lowest any mix of
# `make bench-dram` reached (row conflicts between streams), so a design whose streams conflict
# less runs faster than its bound: the insta_resnet20 unit with everything in DRAM ran its frames
# in 0.79-0.89 of the bound.
DRAM_TOLERANCE = 0.15
DRAM_FASTER = 0.30
DRAM_FRAMES = 8
DRAM_DRAIN = 4


class DeadlockError(AssertionError):
    """No transfer on either port of accel_top for longer than its latency bound."""


def parity_path(result_path: str) -> Path:
    """Where images_bit_exact writes its counts (next to the steady-state result)."""
    return Path(result_path).with_suffix(".parity.json")


def exact_frames(got: list[int], want: list[int], per: int, frames: int) -> list[bool]:
    """Per frame of `per` output words: whether the received words equal the golden ones."""
    return [got[i * per : (i + 1) * per] == want[i * per : (i + 1) * per] for i in range(frames)]


def quiet_bound(graph, dram_cycles: int, in_per_frame: int, startup: int) -> int:
    """Longest legitimate silence on both ports: every layer holding a frame for its own
    cycles per frame (or the DRAM bound), twice over (stalls of the random back-pressure
    included), plus slack and the DRAM tier's start-up. The native parity runs use it too."""
    total = sum(max(n.config.cycles_per_frame, dram_cycles) for n in graph.nodes)
    return 4 * total + 20 * in_per_frame + 5000 + startup


def quiet_cycles(tb: Bench) -> int:
    """`quiet_bound` of a bench's case."""
    return quiet_bound(tb.case["golden"], tb.case.get("dram_cycles", 0), tb.model.in_per_frame,
                       tb.case.get("startup_cycles", 0))  # fmt: skip


async def stream_watched(tb: Bench, frames: np.ndarray) -> list[int]:
    """Send frames and collect their outputs, raising DeadlockError when both ports fall silent for
    more than `quiet_cycles` while outputs are owed; then a quiet period (extra words show)."""
    want = len(frames) * tb.model.out_per_frame
    tb.src.send(tb.model.words_in(frames))
    quiet, last, seen = quiet_cycles(tb), cycle(), (0, 0)
    while len(tb.out_mon.words) < want:
        await ClockCycles(tb.dut.clk, POLL)
        now = (len(tb.in_mon.words), len(tb.out_mon.words))
        if now != seen:
            seen, last = now, cycle()
        elif cycle() - last > quiet:
            raise DeadlockError(
                f"deadlock: no transfer for {cycle() - last} cycles (bound {quiet}); "
                f"{now[0]} of {len(frames) * tb.model.in_per_frame} input words taken, "
                f"{now[1]} of {want} output words out"
            )
    await ClockCycles(tb.dut.clk, 2 * tb.model.cycles_per_frame + 40)
    return list(tb.out_mon.words)


def _write(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))


@cocotb.test()
async def images_bit_exact(dut) -> None:
    tb = Bench(dut)
    await tb.reset()
    tb.randomise_rates()
    m, frames = tb.model, tb.case["frames"]
    start, wall = cycle(), time.perf_counter()
    got = await stream_watched(tb, frames)
    wall = time.perf_counter() - wall
    want = m.words_out(frames)
    per = m.out_per_frame
    exact = exact_frames(got, want, per, len(frames))
    result = {
        "images": len(frames),
        "bit_exact": int(sum(exact)),
        "extra_words": max(0, len(got) - len(want)),
        "first_mismatch": next((i for i, ok in enumerate(exact) if not ok), None),
        "simulated_cycles": cycle() - start,
        "wall_seconds": round(wall, 2),
        "cycles_per_second": round((cycle() - start) / wall),
    }
    _write(parity_path(tb.case["result_path"]), result)
    assert result["bit_exact"] == len(frames) and not result["extra_words"], result


@cocotb.test()
async def steady_state(dut) -> None:
    """No gaps, no back-pressure: the last 4 frame intervals, in and out, equal the estimate."""
    tb = Bench(dut)
    n = tb.case.get("perf_frames", 12)
    if not n:
        _write(Path(tb.case["result_path"]), {"label": tb.case["label"], "skipped": True})
        return
    await tb.reset()
    m = tb.model
    frames = np.resize(tb.case["frames"], (n, *tb.case["frames"].shape[1:]))
    start, wall = cycle(), time.perf_counter()
    got = await stream_watched(tb, frames)
    wall = time.perf_counter() - wall
    check(got, m.words_out(frames), m, "full-rate frames")
    in_first = tb.in_mon.cycles[:: m.in_per_frame]
    out_first = tb.out_mon.cycles[:: m.out_per_frame]
    out_last = tb.out_mon.cycles[m.out_per_frame - 1 :: m.out_per_frame]
    result = {
        "label": tb.case["label"],
        "cycles_per_frame_estimate": m.cycles_per_frame,
        "cycles_per_frame_in": np.diff(in_first).tolist(),
        "cycles_per_frame_out": np.diff(out_last).tolist(),
        "first_output_latency": out_first[0] - in_first[0],
        "first_frame_latency": out_last[0] - in_first[0],
        "reset_to_first_input": in_first[0] - start,
        "simulated_cycles": cycle() - start,
        "wall_seconds": round(wall, 2),
        "cycles_per_second": round((cycle() - start) / wall),
    }
    dut._log.info("steady state: %s", result)
    _write(Path(tb.case["result_path"]), result)
    steady = result["cycles_per_frame_out"][-4:] + result["cycles_per_frame_in"][-4:]
    dram = tb.case.get("dram_cycles", 0)
    if dram > m.cycles_per_frame:  # DRAM-bound: the estimate is a model of the DRAM's rate
        # Buffers along the pipeline share the DRAM in bursts, so single frames jitter (by 2x
        # with twelve buffers): the mean over DRAM_FRAMES intervals is the steady state. Once
        # the last input word is in, writes stop competing with reads and the last frames drain
        # faster: the output intervals before the last DRAM_DRAIN count.
        ins = result["cycles_per_frame_in"][-DRAM_FRAMES:]
        outs = result["cycles_per_frame_out"][-DRAM_FRAMES - DRAM_DRAIN : -DRAM_DRAIN]
        means = [sum(ins) / len(ins), sum(outs) / len(outs)]
        result |= {"cycles_per_frame_dram_bound": dram,
                   "cycles_per_frame_mean": [round(x) for x in means]}  # fmt: skip
        _write(Path(tb.case["result_path"]), result)
        slower, faster = max(c / dram - 1 for c in means), max(1 - c / dram for c in means)
        assert slower <= DRAM_TOLERANCE and faster <= DRAM_FASTER, (
            f"steady-state cycles per frame (mean in, out) {result['cycles_per_frame_mean']} "
            f"against the DRAM-bound estimate {dram}: up to {slower:.0%} slower and {faster:.0%} "
            f"faster (allowed {DRAM_TOLERANCE:.0%} and {DRAM_FASTER:.0%})"
        )
        return
    assert all(c == m.cycles_per_frame for c in steady), (
        f"steady-state cycles per frame {steady} != estimate {m.cycles_per_frame}"
    )
