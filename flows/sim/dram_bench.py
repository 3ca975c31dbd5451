"""cocotb bench of the DRAM tier alone (flows/codegen/dram_tier.py on LiteDRAM's SDRAM model).

The case (see flows/sim/runner.py) carries, as its "golden", a dict: `buffers` [(name, width,
words)], `frames` (words sent through each buffer), `phases` (True: random gaps and
back-pressure). The bench waits for `init_done`, then streams random words into every buffer at
once and checks that each comes back out of its buffer, in order and unchanged. In the
full-rate phase it measures the tier's sustained throughput: bytes moved to and from DRAM per
clock over all buffers together, which is what `Dram.sustained` records.
"""

from __future__ import annotations

import json
import pickle
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from flows.sim.axis import CLOCK_NS, AxisDriver, AxisMonitor, ReadyDriver, cycle

INIT_TIMEOUT = 200_000


async def reset_until_init(dut) -> None:
    """Reset the tier (`sys_rst`) and wait for its SDRAM initialisation (`init_done`)."""
    dut.sys_rst.value = 1
    await ClockCycles(dut.sys_clk, 4)
    dut.sys_rst.value = 0
    for _ in range(INIT_TIMEOUT):
        await RisingEdge(dut.sys_clk)
        if dut.init_done.value == 1:
            return
    raise AssertionError(f"init_done did not rise within {INIT_TIMEOUT} cycles")


@cocotb.test()
async def dram_round_trip(dut) -> None:
    case = pickle.loads(open(cocotb.plusargs["case"], "rb").read())
    spec, rng = case["golden"], random.Random(case["seed"])
    cocotb.start_soon(Clock(dut.sys_clk, CLOCK_NS, unit="ns").start())
    drivers, readies, monitors, sent = [], [], [], []
    for name, width, _words in spec["buffers"]:
        drv = AxisDriver(
            dut.sys_clk, getattr(dut, f"{name}_s_axis_tdata"), getattr(dut, f"{name}_s_axis_tvalid"),
            getattr(dut, f"{name}_s_axis_tready"), rng, width,
        )  # fmt: skip
        rdy = ReadyDriver(dut.sys_clk, getattr(dut, f"{name}_m_axis_tready"), rng)
        mon = AxisMonitor(
            name, dut.sys_clk, dut.sys_rst, getattr(dut, f"{name}_m_axis_tdata"),
            getattr(dut, f"{name}_m_axis_tvalid"), getattr(dut, f"{name}_m_axis_tready"),
        )  # fmt: skip
        words = [rng.getrandbits(width) for _ in range(spec["frames"])]
        drivers.append(drv), readies.append(rdy), monitors.append(mon), sent.append(words)
    for drv in drivers:
        drv.tvalid.value = 0
    await reset_until_init(dut)
    init_cycles = cycle()
    for drv, rdy, mon, words in zip(drivers, readies, monitors, sent, strict=True):
        if spec["phases"]:
            drv.gap, rdy.ready = 0.3, 0.6
        mon.start(), rdy.start(), drv.start(), drv.send(words)
    start = cycle()
    total = sum(len(w) for w in sent)
    limit = 40 * total + 10_000
    for _ in range(limit):
        await RisingEdge(dut.sys_clk)
        if sum(len(m.words) for m in monitors) >= total:
            break
    for (name, *_), mon, words in zip(spec["buffers"], monitors, sent, strict=True):
        assert mon.words == words, (
            f"{name}: {len(mon.words)} words back of {len(words)} sent; first difference at "
            f"{next((i for i, (a, b) in enumerate(zip(mon.words, words, strict=False)) if a != b), None)}"
        )
    end = max(m.cycles[-1] for m in monitors)
    result = {"init_cycles": init_cycles, "cycles": end - start, "words": total}
    with open(case["result_path"], "w") as f:
        json.dump(result, f)
