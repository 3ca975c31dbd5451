"""cocotb bench of the DRAM tier's weight regions (flows/codegen/dram_tier.py, WeightRegion) on
LiteDRAM's SDRAM model.

The case's "golden" is {"regions": [(name, width, words)], "contents": {name: [words]}, "image":
the loader's words (`dram_tier.weight_image`), "reads": passes per region}. After `init_done` the
bench sends the image through `load_s_axis` under random gaps and waits for `loaded`; every
region's reader then streams its words, from the first, over and over: under random
back-pressure each region must deliver its contents `reads` times in a row, exactly. This proves
the image layout (`weight_image`: packing, wide words, gaps) against LiteDRAM's own converters,
and that no read overtakes the load.
"""

from __future__ import annotations

import json
import pickle
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from flows.sim.axis import CLOCK_NS, AxisDriver, AxisMonitor, ReadyDriver, cycle
from flows.sim.dram_bench import reset_until_init


@cocotb.test()
async def weights_load_then_stream(dut) -> None:
    case = pickle.loads(open(cocotb.plusargs["case"], "rb").read())
    spec, rng = case["golden"], random.Random(case["seed"])
    clk = dut.sys_clk
    cocotb.start_soon(Clock(clk, CLOCK_NS, unit="ns").start())
    dut.load_s_axis_tvalid.value = 0
    loader = AxisDriver(clk, dut.load_s_axis_tdata, dut.load_s_axis_tvalid,
                        dut.load_s_axis_tready, rng, len(dut.load_s_axis_tdata))  # fmt: skip
    loader.gap = 0.3
    mons, readies = {}, []
    for name, _width, _words in spec["regions"]:
        rdy = ReadyDriver(clk, getattr(dut, f"{name}_m_axis_tready"), rng)
        rdy.ready = 0.6
        readies.append(rdy)
        mons[name] = AxisMonitor(
            name, clk, dut.sys_rst, getattr(dut, f"{name}_m_axis_tdata"),
            getattr(dut, f"{name}_m_axis_tvalid"), getattr(dut, f"{name}_m_axis_tready"),
        )  # fmt: skip
    await reset_until_init(dut)
    for c in [loader, *readies, *mons.values()]:
        c.start()
    start = cycle()
    loader.send(spec["image"])
    for _ in range(40 * len(spec["image"]) + 5000):
        await RisingEdge(clk)
        if dut.loaded.value == 1:
            break
    else:
        raise AssertionError("`loaded` did not rise after the whole image was sent")
    loaded_at = cycle() - start
    assert all(not m.words for m in mons.values()), "a region was read before `loaded`"
    want = {n: spec["contents"][n] * spec["reads"] for n, _, _ in spec["regions"]}
    total = sum(len(w) for w in want.values())
    for _ in range(60 * total + 10_000):
        await RisingEdge(clk)
        if all(len(mons[n].words) >= len(w) for n, w in want.items()):
            break
    counts = {n: len(mons[n].words) for n in want}
    for n, w in want.items():
        got = mons[n].words[: len(w)]
        bad = [i for i, (a, b) in enumerate(zip(got, w, strict=False)) if a != b]
        assert len(got) == len(w) and not bad, (
            f"{n}: {len(got)} of {len(w)} words, {len(bad)} differ (words out: {counts})"
            + (
                f"; first at word {bad[0]}: {got[bad[0]]:#x}, expected {w[bad[0]]:#x}"
                if bad
                else ""
            )
        )
    with open(case["result_path"], "w") as f:
        json.dump({"label": case["label"], "load_cycles": loaded_at,
                   "image_words": len(spec["image"])}, f)  # fmt: skip
