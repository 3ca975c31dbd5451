"""cocotb bench for the InstaSE sub-block (flows/layers/insta_se/rtl.py), checked against `se_v`.

The case's `golden` is a dict {se, params, stat_bits, lanes, macs}; `frames` is S (frames, C).
Run from pytest through `flows.sim.runner.run_bench(..., module="flows.sim.insta_se_bench")`.
Driver, back-pressure and monitors (protocol checkers on both ports) are flows/sim/axis.py's; the
checker is layer_bench's.
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

from flows.datatypes import INT
from flows.hwmodel.ports import Port
from flows.layers.insta_se import se_cycles, se_v
from flows.sim.axis import CLOCK_NS, AxisDriver, AxisMonitor, ReadyDriver
from flows.sim.layer_bench import check
from flows.sim.ports import GAP_RATES, RATE_PERIOD, READY_RATES, SIGNALS, PortModel


class Model:
    """se_v and the packing of both ports."""

    def __init__(self, g: dict) -> None:
        self.g = g
        se, lanes = g["se"], g["lanes"]
        words = se.channels // lanes
        self.inp = PortModel(Port(lanes, INT(g["stat_bits"]), se.channels, 1, side=True))
        self.out = PortModel(Port(lanes, se.v_type, se.channels, 1, side=True))
        self.words = words
        self.latency = se_cycles(se, lanes, g["macs"])

    def words_in(self, s: np.ndarray) -> list[int]:
        return self.inp.words(s)

    def expected(self, s: np.ndarray) -> list[int]:
        g = self.g
        return self.out.words(se_v("insta_se", g["se"], g["params"], s, g["stat_bits"]))


class Bench:
    """Clock, reset, the S driver, back-pressure on v, a monitor per port."""

    def __init__(self, dut) -> None:
        self.dut = dut
        self.case = pickle.loads(Path(cocotb.plusargs["case"]).read_bytes())
        self.model = Model(self.case["golden"])
        self.rng = random.Random(self.case["seed"])
        dut.rst.value = 1
        dut.s_axis_tvalid.value = 0
        dut.m_axis_tready.value = 0
        Clock(dut.clk, CLOCK_NS, unit="ns").start()
        ports = {n: [getattr(dut, f"{n}_{s}") for s in SIGNALS] for n in ("s_axis", "m_axis")}
        self.src = AxisDriver(dut.clk, *ports["s_axis"], self.rng, len(dut.s_axis_tdata))
        self.sink = ReadyDriver(dut.clk, dut.m_axis_tready, self.rng)
        self.in_mon = AxisMonitor("s_axis", dut.clk, dut.rst, *ports["s_axis"])
        self.out_mon = AxisMonitor("m_axis", dut.clk, dut.rst, *ports["m_axis"])
        self.in_mon.start()
        self.out_mon.start()

    async def reset(self, cycles: int = 3) -> None:
        for d in (self.src, self.sink):
            d.stop()
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, cycles)
        self.dut.rst.value = 0
        self.in_mon.clear()
        self.out_mon.clear()
        for d in (self.src, self.sink):
            d.start()

    def randomise_rates(self) -> None:
        async def vary() -> None:
            while True:
                self.sink.ready = self.rng.choice(READY_RATES)
                self.src.gap = self.rng.choice(GAP_RATES)
                await ClockCycles(self.dut.clk, RATE_PERIOD)

        cocotb.start_soon(vary())

    async def stream(self, s: np.ndarray) -> list[int]:
        """Send the frames' S, wait for every v word and a quiet period (extra words would show)."""
        n = len(s) * self.model.words
        self.src.send(self.model.words_in(s))
        per = self.model.latency + 2 * self.model.words
        timeout = 2000 + 60 * (len(s) + 2) * per
        for _ in range(timeout):
            if len(self.out_mon.words) >= n:
                break
            await RisingEdge(self.dut.clk)
        else:
            raise TimeoutError(f"after {timeout} cycles: {len(self.out_mon.words)} words of {n}")
        await ClockCycles(self.dut.clk, 2 * per + 40)
        return list(self.out_mon.words)

    def check(self, got: list[int], s: np.ndarray, what: str) -> None:
        check(got, self.model.expected(s), self.model.out, f"m_axis, {what}")


@cocotb.test()
async def exact_with_backpressure_and_gaps(dut) -> None:
    """All frames under random back-pressure on v and gaps on S."""
    tb = Bench(dut)
    await tb.reset()
    tb.randomise_rates()
    s = tb.case["frames"]
    tb.check(await tb.stream(s), s, "all frames, random rates")


@cocotb.test()
async def reset_mid_frame(dut) -> None:
    """A reset part-way through S (and one while the MACs run), then exact frames."""
    tb = Bench(dut)
    await tb.reset()
    tb.randomise_rates()
    s, per = tb.case["frames"], tb.model.words
    words = tb.model.words_in(s[:2])
    # First a cut inside frame 0's S; then frame 0 complete and part of frame 1 offered, with
    # the reset while frame 0's MACs run.
    for cut, wait in ((tb.rng.randint(1, max(1, per - 1)), 1), (per + 1, tb.model.latency // 2)):
        tb.src.send(words[:cut])
        while len(tb.in_mon.words) < min(cut, per):
            await RisingEdge(dut.clk)
        await ClockCycles(dut.clk, wait)
        await tb.reset()
    after = s[-3:]
    tb.check(await tb.stream(after), after, "frames after a mid-frame reset")


@cocotb.test()
async def latency_equals_model(dut) -> None:
    """No gaps, no back-pressure: last S word to last v word of every frame equals se_cycles."""
    tb = Bench(dut)
    await tb.reset()
    s = tb.case["frames"]
    got = await tb.stream(s)
    tb.check(got, s, "full-rate frames")
    w = tb.model.words
    last_in = tb.in_mon.cycles[w - 1 :: w]
    last_out = tb.out_mon.cycles[w - 1 :: w]
    measured = [o - i for i, o in zip(last_in, last_out, strict=True)]
    frame = np.diff(last_out).tolist()
    result = {"latency_model": tb.model.latency, "latency": measured, "cycles_per_frame": frame}
    dut._log.info("latency: %s", result)
    path = Path(tb.case["result_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"label": tb.case["label"], **result}, indent=1))
    assert measured == [tb.model.latency] * len(s), (
        f"last S -> last v {measured} != model {tb.model.latency}"
    )
