"""cocotb bench for any generated stream block (one layer or accel_top): model, checker, tests.

Run from pytest through flows/sim/runner.py, which passes the case file as the plusarg `+case=<path>`
(a pickle: the golden Node or DataflowGraph, the input frames, a seed and the result path).
Driver, back-pressure and monitors (with the AXI-Stream protocol checks) are in flows/sim/axis.py.
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

from flows.codegen.rtl import main_ports
from flows.datatypes import pack_words, unpack_words
from flows.graph import DataflowGraph
from flows.layers import kind_of
from flows.sim.axis import CLOCK_NS, AxisDriver, AxisMonitor, ReadyDriver, cycle

# (tready probability, tvalid-gap probability) phases of the randomised tests: stalls of every
# length, full-speed stretches and sparse input, switched every RATE_PERIOD cycles.
RATE_PHASES = [(1.0, 0.0), (0.6, 0.3), (0.1, 0.0), (0.9, 0.7), (0.3, 0.5)]
RATE_PERIOD = 37
PERF_FRAMES = 12


def region_drivers(dut, node, rng) -> list[AxisDriver]:
    """A layer with constant data in DRAM (`LayerKind.dram_regions`: an MVAU's weights, an Affine's
    or INSTA block's constants) reads it on `s_axis_<port>`, over and over, as the memory tier's
    region streams deliver it: a driver per region, kept topped up with the region's image from
    its start (again after a reset, as the tier restarts its region reads with the accelerator:
    stop the drivers during the reset, start them after). A bench varies their `gap` like its
    other inputs'."""
    kind = kind_of(node.config)
    regions = kind.dram_regions(node.config)
    if not regions:
        return []
    images = kind.rtl(node.config, node.params).memories
    drivers = []
    for r in regions:
        tdata = getattr(dut, f"s_axis_{r.port}_tdata")
        tvalid = getattr(dut, f"s_axis_{r.port}_tvalid")
        tready = getattr(dut, f"s_axis_{r.port}_tready")
        tvalid.value = 0
        drv = AxisDriver(dut.clk, tdata, tvalid, tready, rng, len(tdata))
        drivers.append(drv)
        cocotb.start_soon(_top_up(dut, drv, images[r.image][0]))
    return drivers


async def _top_up(dut, drv: AxisDriver, image: list[int]) -> None:
    while True:
        if len(drv.queue) < len(image):
            drv.send(image)
        await RisingEdge(dut.clk)


class Model:
    """The golden function of the design and the stream packing of docs/numerics.md."""

    def __init__(self, golden) -> None:
        if isinstance(golden, DataflowGraph):
            chain = golden.topological()
            first, last = chain[0].config, chain[-1].config
            self._run = golden.run
            self.cycles_per_frame = max(n.config.cycles_per_frame for n in chain)
        else:
            first = last = golden.config
            kind = kind_of(golden.config)
            self._run = lambda x: kind.execute(golden.config, golden.params, [x])[0]
            self.cycles_per_frame = golden.config.cycles_per_frame
        self.inp, self.out = main_ports(first)[0], main_ports(last)[1]
        # words per frame (windows and pools emit a different number of vectors than they read)
        self.in_per_frame, self.out_per_frame = self.inp.words, self.out.words

    def words_in(self, frames: np.ndarray) -> list[int]:
        t = self.inp.dtype
        return pack_words(t.encode(frames).reshape(-1), t.bits, self.inp.lanes)

    def words_out(self, frames: np.ndarray) -> list[int]:
        t = self.out.dtype
        return pack_words(t.encode(self._run(frames)).reshape(-1), t.bits, self.out.lanes)

    def lanes(self, word: int) -> list[int]:
        t = self.out.dtype
        return t.decode(unpack_words([word], t.bits, self.out.lanes)).tolist()


def check(got: list[int], want: list[int], model: Model, what: str) -> None:
    """Checker: the received words must equal the golden words, one for one."""
    if got == want:
        return
    bad = [i for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w]
    if not bad:
        raise AssertionError(f"{what}: received {len(got)} words, expected {len(want)}")
    i = bad[0]
    frame, word = divmod(i, model.out_per_frame)
    raise AssertionError(
        f"{what}: {len(bad)} of {len(want)} words differ; first: frame {frame} word {word} is "
        f"{model.lanes(got[i])}, golden {model.lanes(want[i])} (received {len(got)} words)"
    )


class Bench:
    """Clock, reset, the stream components of both ports and the model of one design."""

    def __init__(self, dut) -> None:
        self.dut = dut
        self.case = pickle.loads(Path(cocotb.plusargs["case"]).read_bytes())
        self.model = Model(self.case["golden"])
        self.rng = random.Random(self.case["seed"])
        dut.rst.value = 1
        dut.s_axis_tvalid.value = 0
        dut.m_axis_tready.value = 0
        Clock(dut.clk, CLOCK_NS, unit="ns").start()
        self.src = AxisDriver(
            dut.clk,
            dut.s_axis_tdata,
            dut.s_axis_tvalid,
            dut.s_axis_tready,
            self.rng,
            len(dut.s_axis_tdata),
        )
        self.sink = ReadyDriver(dut.clk, dut.m_axis_tready, self.rng)
        self.in_mon = AxisMonitor(
            "s_axis", dut.clk, dut.rst, dut.s_axis_tdata, dut.s_axis_tvalid, dut.s_axis_tready
        )
        self.out_mon = AxisMonitor(
            "m_axis", dut.clk, dut.rst, dut.m_axis_tdata, dut.m_axis_tvalid, dut.m_axis_tready
        )
        self.in_mon.start()
        self.out_mon.start()
        golden = self.case["golden"]
        self.regions = (
            [] if isinstance(golden, DataflowGraph) else region_drivers(dut, golden, self.rng)
        )
        self.loader = self._loader()

    def _loader(self) -> AxisDriver | None:
        """accel_dram_top with weights in DRAM: the tier's loader port, sent the case's
        `load_image` after every reset (the tier's reset clears `loaded`)."""
        try:
            tdata = self.dut.load_s_axis_tdata
        except AttributeError:
            return None
        self.dut.load_s_axis_tvalid.value = 0
        return AxisDriver(self.dut.clk, tdata, self.dut.load_s_axis_tvalid,
                          self.dut.load_s_axis_tready, self.rng, len(tdata))  # fmt: skip

    async def reset(self, cycles: int = 3) -> None:
        """Synchronous reset; the drivers restart afterwards with empty queues."""
        self.src.stop()
        self.sink.stop()
        for drv in self.regions:
            drv.stop()
        if self.loader is not None:
            self.loader.stop()
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, cycles)
        self.dut.rst.value = 0
        self.in_mon.clear()
        self.out_mon.clear()
        self.src.start()
        self.sink.start()
        for drv in self.regions:
            drv.start()
        if self.loader is not None:
            self.loader.start()
            self.loader.send(self.case["load_image"])

    def randomise_rates(self) -> None:
        async def vary() -> None:
            while True:
                self.sink.ready, self.src.gap = self.rng.choice(RATE_PHASES)
                for drv in self.regions:
                    drv.gap = self.rng.choice(RATE_PHASES)[1]
                await ClockCycles(self.dut.clk, RATE_PERIOD)

        cocotb.start_soon(vary())

    async def wait_words(self, n: int, timeout: int) -> None:
        for _ in range(timeout):
            if len(self.out_mon.words) >= n:
                return
            await RisingEdge(self.dut.clk)
        raise TimeoutError(f"{len(self.out_mon.words)} of {n} output words after {timeout} cycles")

    async def stream(self, frames: np.ndarray) -> list[int]:
        """Send frames, wait for their outputs and a quiet period (extra words would show)."""
        n = len(frames) * self.model.out_per_frame
        self.src.send(self.model.words_in(frames))
        slow = 40 * len(frames) * max(self.model.cycles_per_frame, self.model.in_per_frame)
        await self.wait_words(n, 2000 + slow)
        await ClockCycles(self.dut.clk, 2 * self.model.cycles_per_frame + 40)
        return list(self.out_mon.words)


@cocotb.test()
async def exact_with_backpressure_and_gaps(dut) -> None:
    """Random and edge-case frames, random back-pressure and input gaps: words equal golden."""
    tb = Bench(dut)
    await tb.reset()
    tb.randomise_rates()
    frames = tb.case["frames"]
    got = await tb.stream(frames)
    check(got, tb.model.words_out(frames), tb.model, f"{len(frames)} frames, random rates")


@cocotb.test()
async def reset_mid_frame(dut) -> None:
    """Reset with a frame half-way in, then the next frames must come out exactly."""
    tb = Bench(dut)
    await tb.reset()
    tb.randomise_rates()
    frames, m = tb.case["frames"], tb.model
    for attempt in range(2):  # two cuts at random offsets, so misalignments cannot cancel out
        cut = m.in_per_frame + tb.rng.randint(1, max(1, m.in_per_frame - 1))
        tb.src.send(m.words_in(frames[attempt : attempt + 2])[:cut])
        while len(tb.in_mon.words) < cut:
            await RisingEdge(dut.clk)
        await ClockCycles(dut.clk, tb.rng.randint(1, m.cycles_per_frame + 2))
        dut._log.info("reset after %d input words, mid-frame", len(tb.in_mon.words))
        await tb.reset()
    after = frames[2:6]
    got = await tb.stream(after)
    check(got, m.words_out(after), m, "frames after a mid-frame reset")


@cocotb.test()
async def steady_state_cycles(dut) -> None:
    """No gaps, no back-pressure: the last 4 frame intervals, in and out, equal the estimate.

    The last ones, because the input side of a stitched design runs ahead of its bottleneck
    until the FIFOs in front of it fill (the case may ask for more frames).
    """
    tb = Bench(dut)
    await tb.reset()
    m, frames = tb.model, tb.case["frames"]
    frames = np.resize(frames, (tb.case.get("perf_frames", PERF_FRAMES), *frames.shape[1:]))
    start = cycle()
    got = await tb.stream(frames)
    check(got, m.words_out(frames), m, "full-rate frames")
    in_first = tb.in_mon.cycles[:: m.in_per_frame]
    out_first = tb.out_mon.cycles[:: m.out_per_frame]
    out_last = tb.out_mon.cycles[m.out_per_frame - 1 :: m.out_per_frame]
    result = {
        "cycles_per_frame_estimate": m.cycles_per_frame,
        "cycles_per_frame_in": np.diff(in_first).tolist(),
        "cycles_per_frame_out": np.diff(out_last).tolist(),
        "first_output_latency": out_first[0] - in_first[0],
        "first_frame_latency": out_last[0] - in_first[0],
        "reset_to_first_input": in_first[0] - start,
    }
    dut._log.info("steady state: %s", result)
    path = Path(tb.case["result_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"label": tb.case["label"], **result}, indent=1))
    steady = result["cycles_per_frame_out"][-4:] + result["cycles_per_frame_in"][-4:]
    assert all(c == m.cycles_per_frame for c in steady), (
        f"steady-state cycles per frame {steady} != estimate {m.cycles_per_frame}"
    )
