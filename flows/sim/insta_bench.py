"""cocotb bench for InstaThreshold: one input, two or three outputs, each checked against the
golden model.

`m_axis` carries the activations of frame k, `m_axis_delay` the input of frame k (the shortcut)
and, with `statistic_output`, `m_axis_stat` the S vector of frame k (C/PE words per frame); all are
compared word for word with the golden function (flows/layers/insta_threshold/golden.py). Run from
pytest through `flows.sim.runner.run_bench(..., module="flows.sim.insta_bench")`, which passes the
case file (the golden Node, the frames, a seed, the result path) as `+case=<path>`. Driver,
back-pressure and monitors (the AXI-Stream protocol checkers of all three ports) are in
flows/sim/axis.py; the checker is layer_bench's.
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
from flows.sim.ports import (
    GAP_RATES,
    PERF_FRAMES,
    RATE_PERIOD,
    READY_RATES,
    SIGNALS,
    PortModel,
)


class Model:
    """Golden function and packing of every port."""

    def __init__(self, node) -> None:
        cfg = node.config
        kind = kind_of(cfg)
        self._run = lambda x: kind.execute(cfg, node.params, [x])
        self.cfg = cfg
        self.cycles_per_frame = cfg.cycles_per_frame
        self.per_frame = cfg.words_per_frame  # words per frame on every port
        ins, outs = kind.ports(cfg)
        self.inp = PortModel(ins["s_axis"])
        self.outputs = {name: PortModel(p) for name, p in outs.items()}
        self.out, self.delay = self.outputs["m_axis"], self.outputs["m_axis_delay"]

    def expected(self, frames: np.ndarray) -> list[list[int]]:
        """Words per output port, in the order of `outputs`."""
        ys = self._run(frames)
        return [m.words(y) for m, y in zip(self.outputs.values(), ys, strict=True)]


class Bench:
    """Clock, reset, a driver, an independent back-pressure source per output and a monitor per
    port."""

    def __init__(self, dut) -> None:
        self.dut = dut
        self.case = pickle.loads(Path(cocotb.plusargs["case"]).read_bytes())
        self.model = Model(self.case["golden"])
        self.rng = random.Random(self.case["seed"])
        dut.rst.value = 1
        dut.s_axis_tvalid.value = 0
        names = list(self.model.outputs)
        for n in names:
            getattr(dut, f"{n}_tready").value = 0
        Clock(dut.clk, CLOCK_NS, unit="ns").start()
        width = len(dut.s_axis_tdata)
        self.src = AxisDriver(
            dut.clk, dut.s_axis_tdata, dut.s_axis_tvalid, dut.s_axis_tready, self.rng, width
        )
        self.sinks = [ReadyDriver(dut.clk, getattr(dut, f"{n}_tready"), self.rng) for n in names]
        self.sink, self.sink_delay = self.sinks[:2]
        self.monitors = [
            AxisMonitor(n, dut.clk, dut.rst, *(getattr(dut, f"{n}_{s}") for s in SIGNALS))
            for n in ("s_axis", *names)
        ]
        self.in_mon, self.out_mon, self.delay_mon = self.monitors[:3]
        self.out_mons = self.monitors[1:]
        for m in self.monitors:
            m.start()
        self.regions = region_drivers(dut, self.case["golden"], self.rng)  # constants in DRAM

    async def reset(self, cycles: int = 3) -> None:
        """Synchronous reset; the drivers restart afterwards with empty queues."""
        for d in (self.src, *self.sinks, *self.regions):
            d.stop()
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, cycles)
        self.dut.rst.value = 0
        for m in self.monitors:
            m.clear()
        for d in (self.src, *self.sinks, *self.regions):
            d.start()

    def randomise_rates(self) -> None:
        async def vary() -> None:
            while True:
                for sink in self.sinks:
                    sink.ready = self.rng.choice(READY_RATES)
                for src in (self.src, *self.regions):
                    src.gap = self.rng.choice(GAP_RATES)
                await ClockCycles(self.dut.clk, RATE_PERIOD)

        cocotb.start_soon(vary())

    async def stream(self, frames: np.ndarray) -> list[list[int]]:
        """Send frames, wait for every output and a quiet period (extra words would show)."""
        want = [len(frames) * m.out_per_frame for m in self.model.outputs.values()]
        self.src.send(self.model.inp.words(frames))
        timeout = 2000 + 60 * (len(frames) + 2) * self.model.cycles_per_frame
        for _ in range(timeout):
            if all(len(m.words) >= n for m, n in zip(self.out_mons, want, strict=True)):
                break
            await RisingEdge(self.dut.clk)
        else:
            got = {m.name: len(m.words) for m in self.out_mons}
            raise TimeoutError(f"after {timeout} cycles: words per port {got}, expected {want}")
        await ClockCycles(self.dut.clk, 2 * self.model.cycles_per_frame + 40)
        return [list(m.words) for m in self.out_mons]

    def check(self, got: list[list[int]], frames: np.ndarray, what: str) -> None:
        want = self.model.expected(frames)
        for (name, m), g, w in zip(self.model.outputs.items(), got, want, strict=True):
            check(g, w, m, f"{name}, {what}")


@cocotb.test()
async def exact_with_backpressure_and_gaps(dut) -> None:
    """All frames under independent random back-pressure on both outputs and input gaps."""
    tb = Bench(dut)
    await tb.reset()
    tb.randomise_rates()
    frames = tb.case["frames"]
    tb.check(await tb.stream(frames), frames, f"{len(frames)} frames, random rates")


@cocotb.test()
async def reset_mid_frame(dut) -> None:
    """Resets with a frame part-way in (and thresholds or outputs in flight), then exact frames."""
    tb = Bench(dut)
    await tb.reset()
    tb.randomise_rates()
    frames, per = tb.case["frames"], tb.model.per_frame
    for attempt in range(2):  # two cuts at random offsets, so misalignments cannot cancel out
        cut = per + tb.rng.randint(1, max(1, per - 1))
        tb.src.send(tb.model.inp.words(frames[attempt : attempt + 2])[:cut])
        while len(tb.in_mon.words) < cut:
            await RisingEdge(dut.clk)
        await ClockCycles(dut.clk, tb.rng.randint(1, tb.model.cycles_per_frame + 20))
        dut._log.info("reset after %d input words, mid-frame", len(tb.in_mon.words))
        await tb.reset()
    after = frames[2:6]
    tb.check(await tb.stream(after), after, "frames after a mid-frame reset")


@cocotb.test()
async def steady_state_cycles(dut) -> None:
    """No gaps, no back-pressure: frame intervals on all ports equal the estimate, latency too."""
    tb = Bench(dut)
    await tb.reset()
    m, cfg = tb.model, tb.model.cfg
    frames = tb.case["frames"]
    frames = np.resize(frames, (tb.case.get("perf_frames", PERF_FRAMES), *frames.shape[1:]))
    start = cycle()
    got = await tb.stream(frames)
    tb.check(got, frames, "full-rate frames")
    per = m.per_frame
    in_first = tb.in_mon.cycles[::per]
    out_first = tb.out_mon.cycles[::per]
    out_last = tb.out_mon.cycles[per - 1 :: per]
    delay_last = tb.delay_mon.cycles[per - 1 :: per]
    result = {
        "cycles_per_frame_estimate": m.cycles_per_frame,
        "cycles_per_frame_in": np.diff(in_first).tolist(),
        "cycles_per_frame_out": np.diff(out_last).tolist(),
        "cycles_per_frame_delay": np.diff(delay_last).tolist(),
        "first_output_latency": out_first[0] - in_first[0],
        "first_output_latency_estimate": cfg.first_output_latency,
        "first_frame_latency": out_last[0] - in_first[0],
        **_stat_timing(tb),
        "reset_to_first_input": in_first[0] - start,
        "buffer_words": cfg.buffer_words,
    }
    dut._log.info("steady state: %s", result)
    path = Path(tb.case["result_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"label": tb.case["label"], **result}, indent=1))
    ports = ("in", "out", "delay", "stat") if cfg.statistic_output else ("in", "out", "delay")
    steady = [result[f"cycles_per_frame_{p}"][-4:] for p in ports]
    assert all(c == m.cycles_per_frame for s in steady for c in s), (
        f"steady-state cycles per frame (in, out, delay) {steady} != estimate {m.cycles_per_frame}"
    )
    assert result["first_output_latency"] == cfg.first_output_latency, (
        f"first output after {result['first_output_latency']} cycles, estimate "
        f"{cfg.first_output_latency}"
    )


def _stat_timing(tb: Bench) -> dict:
    """m_axis_stat (statistic_output only): frame intervals of its last word per frame, and when
    frame 0's S is complete (from the first input transfer)."""
    if len(tb.out_mons) < 3:
        return {}
    per, mon = tb.model.cfg.nf, tb.out_mons[2]
    last = mon.cycles[per - 1 :: per]
    return {
        "cycles_per_frame_stat": np.diff(last).tolist(),
        "stat_latency": last[0] - tb.in_mon.cycles[0],
    }
