"""cocotb bench of a DRAM-tier Region (flows/codegen/dram_tier.py) on LiteDRAM's SDRAM model.

The case's "golden" is {"name", "width", "words"}. After `init_done` the bench writes `words`
random words into the region under random gaps, reads them all back twice (two `r_start`s: a
region is read as often as the design likes) under random back-pressure, then rewinds, writes a
second, shorter batch over the first and reads that back: every read must return exactly the
words written, in order. It records the cycles of the first full read.
"""

from __future__ import annotations

import json
import pickle
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from flows.sim.axis import CLOCK_NS, AxisDriver, AxisMonitor, ReadyDriver, cycle
from flows.sim.dram_bench import reset_until_init


async def _read(dut, clk, p: str, mon: AxisMonitor, count: int) -> tuple[list[int], int]:
    mon.clear()
    getattr(dut, p + "r_count").value = count
    getattr(dut, p + "r_start").value = 1
    await RisingEdge(clk)
    getattr(dut, p + "r_start").value = 0
    start = cycle()
    for _ in range(60 * count + 5000):
        await RisingEdge(clk)
        if len(mon.words) >= count:
            break
    await ClockCycles(clk, 50)  # nothing more may come
    return list(mon.words), cycle() - start


async def _write(dut, clk, p: str, drv: AxisDriver, mon: AxisMonitor, words: list[int]) -> None:
    getattr(dut, p + "w_rewind").value = 1
    await RisingEdge(clk)
    getattr(dut, p + "w_rewind").value = 0
    mon.clear()
    drv.send(words)
    for _ in range(60 * len(words) + 5000):
        await RisingEdge(clk)
        if len(mon.words) >= len(words):
            return
    raise AssertionError(f"{len(mon.words)} of {len(words)} words written")


@cocotb.test()
async def region_write_then_read(dut) -> None:
    case = pickle.loads(open(cocotb.plusargs["case"], "rb").read())
    spec, rng = case["golden"], random.Random(case["seed"])
    p, width, n = spec["name"] + "_", spec["width"], spec["words"]
    clk = dut.sys_clk
    cocotb.start_soon(Clock(clk, CLOCK_NS, unit="ns").start())
    g = {k: getattr(dut, p + k) for k in ("w_s_axis_tdata", "w_s_axis_tvalid", "w_s_axis_tready",
         "r_m_axis_tdata", "r_m_axis_tvalid", "r_m_axis_tready")}  # fmt: skip
    g["w_s_axis_tvalid"].value = 0
    getattr(dut, p + "w_rewind").value = 0
    getattr(dut, p + "r_start").value = 0
    drv = AxisDriver(clk, g["w_s_axis_tdata"], g["w_s_axis_tvalid"], g["w_s_axis_tready"], rng,
                     width)  # fmt: skip
    drv.gap = 0.3
    wmon = AxisMonitor(p + "w", clk, dut.sys_rst, g["w_s_axis_tdata"], g["w_s_axis_tvalid"],
                       g["w_s_axis_tready"])  # fmt: skip
    rdy = ReadyDriver(clk, g["r_m_axis_tready"], rng)
    rdy.ready = 0.7
    rmon = AxisMonitor(p + "r", clk, dut.sys_rst, g["r_m_axis_tdata"], g["r_m_axis_tvalid"],
                       g["r_m_axis_tready"])  # fmt: skip
    await reset_until_init(dut)
    for c in (drv, wmon, rdy, rmon):
        c.start()
    first = [rng.getrandbits(width) for _ in range(n)]
    await _write(dut, clk, p, drv, wmon, first)
    got, cycles = await _read(dut, clk, p, rmon, n)
    assert got == first, f"first read: {len(got)} words, differing from the written ones"
    again, _ = await _read(dut, clk, p, rmon, n)
    assert again == first, "a second read of the same region differs"
    second = [rng.getrandbits(width) for _ in range(n // 3)]
    await _write(dut, clk, p, drv, wmon, second)
    got, _ = await _read(dut, clk, p, rmon, len(second))
    assert got == second, "after a rewind, the region does not hold the new words"
    with open(case["result_path"], "w") as f:
        json.dump({"words": n, "read_cycles": cycles}, f)
