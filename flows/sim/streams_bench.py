"""cocotb bench for the residual-stream plumbing: DuplicateStreams (fork) and AddStreams (join).

Ports follow the kinds' `ports` (flows/layers): DuplicateStreams `s_axis` in and
`m_axis_<i>` out, AddStreams `s_axis_a`, `s_axis_b` in and `m_axis` out. Every input has its own
driver with its own random gaps, every output its own random back-pressure, every port an
AXI-Stream monitor (protocol checker), and every output is compared word for word with the golden
function. Run from pytest through `flows.sim.runner.run_bench(..., module="flows.sim.streams_bench")`;
the case's `frames` is a list with one (frames, vectors, channels) array per input.
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

from flows.hwmodel.ports import SKID_WORDS
from flows.layers import DuplicateStreams, kind_of
from flows.sim.axis import CLOCK_NS, AxisDriver, AxisMonitor, ReadyDriver, cycle
from flows.sim.layer_bench import check
from flows.sim.ports import (
    GAP_RATES,
    PERF_FRAMES,
    RATE_PERIOD,
    READY_RATES,
    SIGNALS,
    PortModel,
)

# The case frames are streamed this many times under random rates (every rate pair shows up).
STRESS_REPEATS = 6


class Model:
    """Golden function and packing of every port."""

    def __init__(self, node) -> None:
        cfg = node.config
        kind = kind_of(cfg)
        self._run = lambda xs: kind.execute(cfg, node.params, list(xs))
        self.cfg = cfg
        self.cycles_per_frame = cfg.cycles_per_frame
        self.per_frame = cfg.num_vectors * cfg.channels // cfg.pe  # words per frame, every port
        ins, outs = kind.ports(cfg)
        self.ins = {n: PortModel(p) for n, p in ins.items()}
        self.outs = {n: PortModel(p) for n, p in outs.items()}

    def words_in(self, frames: list[np.ndarray]) -> dict[str, list[int]]:
        return {n: m.words(f) for (n, m), f in zip(self.ins.items(), frames, strict=True)}

    def expected(self, frames: list[np.ndarray]) -> dict[str, list[int]]:
        ys = self._run(frames)
        return {n: m.words(y) for (n, m), y in zip(self.outs.items(), ys, strict=True)}


class Bench:
    """Clock, reset, one driver per input, one back-pressure source per output, all monitors."""

    def __init__(self, dut) -> None:
        self.dut = dut
        self.case = pickle.loads(Path(cocotb.plusargs["case"]).read_bytes())
        self.model = m = Model(self.case["golden"])
        self.rng = random.Random(self.case["seed"])

        def sig(port: str, s: str):
            return getattr(dut, f"{port}_{s}")

        dut.rst.value = 1
        for n in m.ins:
            sig(n, "tvalid").value = 0
        for n in m.outs:
            sig(n, "tready").value = 0
        Clock(dut.clk, CLOCK_NS, unit="ns").start()
        self.srcs = {
            n: AxisDriver(dut.clk, *(sig(n, s) for s in SIGNALS), self.rng, len(sig(n, "tdata")))
            for n in m.ins
        }
        self.sinks = {n: ReadyDriver(dut.clk, sig(n, "tready"), self.rng) for n in m.outs}
        self.in_mons = {
            n: AxisMonitor(n, dut.clk, dut.rst, *(sig(n, s) for s in SIGNALS)) for n in m.ins
        }
        self.out_mons = {
            n: AxisMonitor(n, dut.clk, dut.rst, *(sig(n, s) for s in SIGNALS)) for n in m.outs
        }
        for mon in self.monitors:
            mon.start()

    @property
    def monitors(self) -> list[AxisMonitor]:
        return [*self.in_mons.values(), *self.out_mons.values()]

    @property
    def drivers(self) -> list:
        return [*self.srcs.values(), *self.sinks.values()]

    async def reset(self, cycles: int = 3) -> None:
        """Synchronous reset; the drivers restart afterwards with empty queues."""
        for d in self.drivers:
            d.stop()
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, cycles)
        self.dut.rst.value = 0
        for mon in self.monitors:
            mon.clear()
        for d in self.drivers:
            d.start()

    def randomise_rates(self) -> None:
        async def vary() -> None:
            while True:
                for s in self.sinks.values():
                    s.ready = self.rng.choice(READY_RATES)
                for d in self.srcs.values():
                    d.gap = self.rng.choice(GAP_RATES)
                await ClockCycles(self.dut.clk, RATE_PERIOD)

        return cocotb.start_soon(vary())

    def send(self, frames: list[np.ndarray]) -> int:
        for n, words in self.model.words_in(frames).items():
            self.srcs[n].send(words)
        return len(frames[0]) * self.model.per_frame

    async def collect(self, n: int, frames: int) -> dict[str, list[int]]:
        """Wait for n words on every output, then a quiet period (extra words would show)."""
        timeout = 2000 + 60 * (frames + 2) * self.model.cycles_per_frame
        for _ in range(timeout):
            if all(len(mon.words) >= n for mon in self.out_mons.values()):
                break
            await RisingEdge(self.dut.clk)
        else:
            have = {k: len(mon.words) for k, mon in self.out_mons.items()}
            raise TimeoutError(f"after {timeout} cycles: words per output {have}, expected {n}")
        await ClockCycles(self.dut.clk, 2 * self.model.cycles_per_frame + 40)
        return {k: list(mon.words) for k, mon in self.out_mons.items()}

    async def stream(self, frames: list[np.ndarray]) -> dict[str, list[int]]:
        return await self.collect(self.send(frames), len(frames[0]))

    def check(self, got: dict[str, list[int]], frames: list[np.ndarray], what: str) -> None:
        want = self.model.expected(frames)
        for n, pm in self.model.outs.items():
            check(got[n], want[n], pm, f"{n}, {what}")


def _slice(frames: list[np.ndarray], lo: int, hi: int) -> list[np.ndarray]:
    return [f[lo:hi] for f in frames]


@cocotb.test()
async def exact_with_backpressure_and_gaps(dut) -> None:
    """All frames under independent random back-pressure on every output and gaps on every input."""
    tb = Bench(dut)
    await tb.reset()
    tb.randomise_rates()
    frames = [np.concatenate([f] * STRESS_REPEATS) for f in tb.case["frames"]]
    tb.check(await tb.stream(frames), frames, f"{len(frames[0])} frames, random rates")


@cocotb.test()
async def reset_mid_frame(dut) -> None:
    """Resets with a frame part-way in (inputs cut at different words), then exact frames."""
    tb = Bench(dut)
    await tb.reset()
    tb.randomise_rates()
    frames, per = tb.case["frames"], tb.model.per_frame
    for attempt in range(2):  # two cuts at random offsets, so misalignments cannot cancel out
        words = tb.model.words_in(_slice(frames, attempt, attempt + 2))
        cuts = {n: per + tb.rng.randint(1, max(1, per - 1)) for n in words}
        for n, w in words.items():
            tb.srcs[n].send(w[: cuts[n]])
        target = min(cuts.values())  # a join cannot take more than the shorter input holds
        for _ in range(2000 + 60 * 3 * tb.model.cycles_per_frame):
            if min(len(m.words) for m in tb.in_mons.values()) >= target:
                break
            await RisingEdge(dut.clk)
        else:
            got = {n: len(m.words) for n, m in tb.in_mons.items()}
            raise TimeoutError(f"input words {got} never reached {target} before the reset")
        await ClockCycles(dut.clk, tb.rng.randint(1, tb.model.cycles_per_frame + 20))
        got = {n: len(m.words) for n, m in tb.in_mons.items()}
        dut._log.info("reset after input words %s, mid-frame", got)
        await tb.reset()
    after = _slice(frames, 2, 6)
    tb.check(await tb.stream(after), after, "frames after a mid-frame reset")


@cocotb.test()
async def stall_bound(dut) -> None:
    """The lockstep rule. DuplicateStreams: with the last output stalled, the fork takes and
    the other outputs deliver exactly SKID_WORDS words, then stop; released, every output gets
    the frame exactly. AddStreams: with input b idle, input a is not consumed and nothing comes
    out; once b arrives, the sum is exact."""
    tb = Bench(dut)
    await tb.reset()
    m, frames = tb.model, _slice(tb.case["frames"], 0, 1)
    wait = 4 * m.cycles_per_frame + 50
    if isinstance(m.cfg, DuplicateStreams):
        stalled = list(tb.sinks)[-1]
        tb.sinks[stalled].ready = 0.0
        n = tb.send(frames)
        await ClockCycles(dut.clk, wait)
        took = len(tb.in_mons["s_axis"].words)
        got = {k: len(mon.words) for k, mon in tb.out_mons.items()}
        bound = min(SKID_WORDS, n)
        assert took == bound, f"fork took {took} words with {stalled} stalled, expected {bound}"
        for k, c in got.items():
            want = 0 if k == stalled else bound
            assert c == want, f"{k} delivered {c} words with {stalled} stalled, expected {want}"
        tb.sinks[stalled].ready = 1.0
    else:
        words = m.words_in(frames)
        tb.srcs["s_axis_a"].send(words["s_axis_a"])
        await ClockCycles(dut.clk, wait)
        assert not tb.in_mons["s_axis_a"].words, "the join consumed a without b"
        assert not tb.out_mons["m_axis"].words, "the join produced a word without b"
        tb.srcs["s_axis_b"].send(words["s_axis_b"])
        n = len(words["s_axis_b"])
    tb.check(await tb.collect(n, 1), frames, "after the stall")


@cocotb.test()
async def steady_state_cycles(dut) -> None:
    """No gaps, no back-pressure: frame intervals on every port equal the estimate."""
    tb = Bench(dut)
    await tb.reset()
    m = tb.model
    count = tb.case.get("perf_frames", PERF_FRAMES)
    frames = [np.resize(f, (count, *f.shape[1:])) for f in tb.case["frames"]]
    start = cycle()
    got = await tb.stream(frames)
    tb.check(got, frames, "full-rate frames")
    per = m.per_frame
    mons = {**tb.in_mons, **tb.out_mons}
    intervals = {n: np.diff(mon.cycles[per - 1 :: per]).tolist() for n, mon in mons.items()}
    in_first = min(mon.cycles[0] for mon in tb.in_mons.values())
    out_first = [mon.cycles[0] for mon in tb.out_mons.values()]
    out_last = [mon.cycles[per - 1] for mon in tb.out_mons.values()]
    result = {
        "cycles_per_frame_estimate": m.cycles_per_frame,
        "cycles_per_frame": intervals,
        "cycles_per_frame_out": intervals[next(iter(m.outs))],
        "first_output_latency": max(out_first) - in_first,
        "first_frame_latency": max(out_last) - in_first,
        "reset_to_first_input": in_first - start,
        "frames": count,
    }
    dut._log.info("steady state: %s", result)
    path = Path(tb.case["result_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"label": tb.case["label"], **result}, indent=1))
    steady = {n: s[-4:] for n, s in intervals.items()}
    assert all(len(s) >= 3 for s in steady.values()), f"too few frames for steady state: {steady}"
    assert all(c == m.cycles_per_frame for s in steady.values() for c in s), (
        f"steady-state cycles per frame {steady} != estimate {m.cycles_per_frame}"
    )
