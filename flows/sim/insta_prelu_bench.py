"""cocotb bench for InstaPReLU: one or two inputs, one output, checked against the golden model.

Own statistics (form "alpha"): `s_axis` only. Statistics reuse: `s_axis` (elements) and
`s_axis_stat` (S per frame, C_stat/PE words), driven independently with their own random gaps;
the block waits on `s_axis` until S of the frame has arrived. The case's `frames` is the input
array, or for the reuse form a pair (x, S) with S of shape (frames, 1, C_stat). Run from pytest
through `flows.sim.runner.run_bench(..., module="flows.sim.insta_prelu_bench")`. Driver,
back-pressure and monitors (protocol checkers on every port) are in flows/sim/axis.py; the checker
is layer_bench's.
"""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from flows.layers import kind_of
from flows.sim.axis import CLOCK_NS, AxisDriver, AxisMonitor, ReadyDriver, cycle
from flows.sim.layer_bench import check, region_drivers
from flows.sim.ports import GAP_RATES, PERF_FRAMES, RATE_PERIOD, READY_RATES, SIGNALS, PortModel


def split(frames) -> list[np.ndarray]:
    """The inputs of the golden function: [x] or [x, S]."""
    return list(frames) if isinstance(frames, tuple | list) else [frames]


class Model:
    """Golden function and packing of every port."""

    def __init__(self, node) -> None:
        cfg = node.config
        kind = kind_of(cfg)
        self._run = lambda ins: kind.execute(cfg, node.params, ins)
        self.cfg = cfg
        self.cycles_per_frame = cfg.cycles_per_frame
        ins, outs = kind.ports(cfg)
        self.ports = {n: PortModel(p) for n, p in (ins | outs).items()}
        self.inputs = [n for n in self.ports if n.startswith("s_axis")]
        self.out = self.ports["m_axis"]

    def words_in(self, frames) -> list[list[int]]:
        return [self.ports[n].words(v) for n, v in zip(self.inputs, split(frames), strict=True)]

    def expected(self, frames) -> list[int]:
        (y,) = self._run(split(frames))
        return self.out.words(y)


class Bench:
    """Clock, reset, a driver per input, back-pressure on the output, a monitor per port."""

    def __init__(self, dut) -> None:
        self.dut = dut
        self.case = pickle.loads(Path(cocotb.plusargs["case"]).read_bytes())
        self.model = Model(self.case["golden"])
        self.rng = random.Random(self.case["seed"])
        dut.rst.value = 1
        for n in self.model.inputs:
            getattr(dut, f"{n}_tvalid").value = 0
        dut.m_axis_tready.value = 0
        Clock(dut.clk, CLOCK_NS, unit="ns").start()
        self.srcs = [
            AxisDriver(
                dut.clk,
                *(getattr(dut, f"{n}_{s}") for s in SIGNALS),
                self.rng,
                len(getattr(dut, f"{n}_tdata")),
            )  # fmt: skip
            for n in self.model.inputs
        ]
        self.sink = ReadyDriver(dut.clk, dut.m_axis_tready, self.rng)
        self.monitors = {
            n: AxisMonitor(n, dut.clk, dut.rst, *(getattr(dut, f"{n}_{s}") for s in SIGNALS))
            for n in self.model.ports
        }
        self.in_mon, self.out_mon = self.monitors["s_axis"], self.monitors["m_axis"]
        for m in self.monitors.values():
            m.start()
        self.regions = region_drivers(dut, self.case["golden"], self.rng)  # constants in DRAM

    async def reset(self, cycles: int = 3) -> None:
        """Synchronous reset; the drivers restart afterwards with empty queues."""
        for d in (*self.srcs, self.sink, *self.regions):
            d.stop()
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, cycles)
        self.dut.rst.value = 0
        for m in self.monitors.values():
            m.clear()
        for d in (*self.srcs, self.sink, *self.regions):
            d.start()

    def randomise_rates(self) -> None:
        async def vary() -> None:
            while True:
                self.sink.ready = self.rng.choice(READY_RATES)
                for src in (*self.srcs, *self.regions):
                    src.gap = self.rng.choice(GAP_RATES)
                await ClockCycles(self.dut.clk, RATE_PERIOD)

        cocotb.start_soon(vary())

    def send(self, frames) -> None:
        for src, words in zip(self.srcs, self.model.words_in(frames), strict=True):
            src.send(words)

    async def stream(self, frames) -> list[int]:
        """Send frames, wait for the output and a quiet period (extra words would show)."""
        n = len(split(frames)[0]) * self.model.out.out_per_frame
        self.send(frames)
        timeout = 2000 + 60 * (len(split(frames)[0]) + 2) * self.model.cycles_per_frame
        for _ in range(timeout):
            if len(self.out_mon.words) >= n:
                break
            await RisingEdge(self.dut.clk)
        else:
            raise TimeoutError(f"after {timeout} cycles: {len(self.out_mon.words)} words of {n}")
        await ClockCycles(self.dut.clk, 2 * self.model.cycles_per_frame + 40)
        return list(self.out_mon.words)

    def check(self, got: list[int], frames, what: str) -> None:
        check(got, self.model.expected(frames), self.model.out, f"m_axis, {what}")


def _frames(frames, sl: slice):
    parts = [f[sl] for f in split(frames)]
    return tuple(parts) if len(parts) > 1 else parts[0]


@cocotb.test()
async def exact_with_backpressure_and_gaps(dut) -> None:
    """All frames under random back-pressure on the output and gaps on every input."""
    tb = Bench(dut)
    await tb.reset()
    tb.randomise_rates()
    frames = tb.case["frames"]
    tb.check(await tb.stream(frames), frames, "all frames, random rates")


@cocotb.test()
async def reset_mid_frame(dut) -> None:
    """Resets with a frame part-way in (and gamma or outputs in flight), then exact frames."""
    tb = Bench(dut)
    await tb.reset()
    tb.randomise_rates()
    frames, per = tb.case["frames"], tb.model.out.out_per_frame
    for attempt in range(2):  # two cuts at random offsets, so misalignments cannot cancel out
        cut = per + tb.rng.randint(1, max(1, per - 1))
        words = tb.model.words_in(_frames(frames, slice(attempt, attempt + 2)))
        tb.srcs[0].send(words[0][:cut])
        for src, w in zip(tb.srcs[1:], words[1:], strict=True):
            src.send(w[: tb.rng.randint(len(w) // 2, len(w))])  # S of frame 0, part of 1
        while len(tb.in_mon.words) < min(cut, per):
            await RisingEdge(dut.clk)
        await ClockCycles(dut.clk, tb.rng.randint(1, tb.model.cycles_per_frame + 20))
        dut._log.info("reset after %d input words, mid-frame", len(tb.in_mon.words))
        await tb.reset()
    after = _frames(frames, slice(2, 6))
    tb.check(await tb.stream(after), after, "frames after a mid-frame reset")


@cocotb.test()
async def steady_state_cycles(dut) -> None:
    """No gaps, no back-pressure: frame intervals on every port equal the estimate, latency too."""
    tb = Bench(dut)
    await tb.reset()
    m, cfg = tb.model, tb.model.cfg
    n = tb.case.get("perf_frames", PERF_FRAMES)
    frames = tuple(np.resize(f, (n, *f.shape[1:])) for f in split(tb.case["frames"]))
    frames = frames if len(frames) > 1 else frames[0]
    start = cycle()
    got = await tb.stream(frames)
    tb.check(got, frames, "full-rate frames")
    per = m.out.out_per_frame
    first_in = m.inputs[-1]  # reuse: S leads, own: the elements
    t0 = tb.monitors[first_in].cycles[0]
    in_first = tb.in_mon.cycles[::per]
    out_first = tb.out_mon.cycles[::per]
    out_last = tb.out_mon.cycles[per - 1 :: per]
    result = {
        "cycles_per_frame_estimate": m.cycles_per_frame,
        "cycles_per_frame_in": np.diff(in_first).tolist(),
        "cycles_per_frame_out": np.diff(out_last).tolist(),
        "first_output_latency": out_first[0] - t0,
        "first_output_latency_estimate": cfg.first_output_latency,
        "first_frame_latency": out_last[0] - t0,
        "reset_to_first_input": t0 - start,
        "buffer_words": cfg.buffer_words,
    }
    dut._log.info("steady state: %s", result)
    path = Path(tb.case["result_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"label": tb.case["label"], **result}, indent=1))
    steady = [result[f"cycles_per_frame_{p}"][-4:] for p in ("in", "out")]
    assert all(c == m.cycles_per_frame for s in steady for c in s), (
        f"steady-state cycles per frame (in, out) {steady} != estimate {m.cycles_per_frame}"
    )
    assert result["first_output_latency"] == cfg.first_output_latency, (
        f"first output after {result['first_output_latency']} cycles, estimate "
        f"{cfg.first_output_latency}"
    )


@cocotb.test()
async def late_statistic(dut) -> None:
    """Reuse form: elements offered before their frame's S wait (s_axis tready low, nothing
    accepted, no output) and come out exact once S arrives; the own form has no second input."""
    tb = Bench(dut)
    if len(tb.srcs) < 2:
        return
    await tb.reset()
    frames = _frames(tb.case["frames"], slice(0, 2))
    x_words, s_words = tb.model.words_in(frames)
    tb.srcs[0].send(x_words)
    await ClockCycles(dut.clk, 2 * tb.model.cycles_per_frame)
    assert not tb.in_mon.words and not tb.out_mon.words, "elements accepted before their S"
    tb.srcs[1].send(s_words)
    n = len(x_words)
    for _ in range(100 * tb.model.cycles_per_frame):
        if len(tb.out_mon.words) >= n:
            break
        await RisingEdge(dut.clk)
    await ClockCycles(dut.clk, 40)
    tb.check(list(tb.out_mon.words), frames, "S after the elements")
