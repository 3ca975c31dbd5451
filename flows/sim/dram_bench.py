"""cocotb bench of the DRAM tier alone (flows/codegen/dram_tier.py on LiteDRAM's SDRAM model).

The case (see flows/sim/runner.py) carries, as its "golden", a dict: `buffers` [(name, width,
words[, taps])], `frames` (words sent through each buffer), `phases` (True: random gaps and
back-pressure), optionally `tap_stall` (clocks the taps' tready stays low after the start, so that
the ring fills up to its slowest reader). The bench waits for `init_done`, then streams random
words into every buffer at once and checks that each comes back out of its buffer, and out of
each of its taps (`<name>_tap<i>_m_axis_*`), in order and unchanged. In the
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

from flows.codegen.stream_engine import tap_name
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
    drivers, sent = [], []
    outs = []  # (output name, its ReadyDriver, monitor, expected words, a tap)
    for name, width, _words, *taps in spec["buffers"]:
        drv = AxisDriver(
            dut.sys_clk, getattr(dut, f"{name}_s_axis_tdata"), getattr(dut, f"{name}_s_axis_tvalid"),
            getattr(dut, f"{name}_s_axis_tready"), rng, width,
        )  # fmt: skip
        words = [rng.getrandbits(width) for _ in range(spec["frames"])]
        drivers.append(drv), sent.append(words)
        for out in [name] + [tap_name(name, i) for i in range(taps[0] if taps else 0)]:
            rdy = ReadyDriver(dut.sys_clk, getattr(dut, f"{out}_m_axis_tready"), rng)
            mon = AxisMonitor(
                out, dut.sys_clk, dut.sys_rst, getattr(dut, f"{out}_m_axis_tdata"),
                getattr(dut, f"{out}_m_axis_tvalid"), getattr(dut, f"{out}_m_axis_tready"),
            )  # fmt: skip
            outs.append((out, rdy, mon, words, out != name))
    for drv in drivers:
        drv.tvalid.value = 0
    for _, rdy, *_ in outs:
        rdy.tready.value = 0
    await reset_until_init(dut)
    init_cycles = cycle()
    stall = spec.get("tap_stall", 0)

    async def later(rdy) -> None:
        await ClockCycles(dut.sys_clk, stall)
        rdy.start()

    for drv, words in zip(drivers, sent, strict=True):
        drv.gap = 0.3 if spec["phases"] else 0
        drv.start(), drv.send(words)
    for _, rdy, mon, _, tap in outs:
        rdy.ready = 0.6 if spec["phases"] else 1.0
        mon.start()
        if tap and stall:
            cocotb.start_soon(later(rdy))
        else:
            rdy.start()
    start = cycle()
    monitors = [mon for _, _, mon, _, _ in outs]
    total = sum(len(w) for *_, w, _ in outs)
    limit = 40 * total + 10_000 + stall
    for _ in range(limit):
        await RisingEdge(dut.sys_clk)
        if sum(len(m.words) for m in monitors) >= total:
            break
    for name, _, mon, words, _ in outs:
        assert mon.words == words, (
            f"{name}: {len(mon.words)} words back of {len(words)} sent; first difference at "
            f"{next((i for i, (a, b) in enumerate(zip(mon.words, words, strict=False)) if a != b), None)}"
        )
    end = max(m.cycles[-1] for m in monitors)
    result = {"init_cycles": init_cycles, "cycles": end - start, "words": total}
    with open(case["result_path"], "w") as f:
        json.dump(result, f)
