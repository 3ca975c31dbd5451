"""cocotb bench of the build's parity step: whole images through accel_top vs the golden graph.

Same driver, monitors (AXI-Stream checks) and model as layer_bench; random back-pressure and input
gaps; records how many images came out bit-exact (equal output words) before asserting all did.
Also runs layer_bench's steady-state test on the same design, so the build reports measured cycles
per frame and first-frame latency of the whole accelerator.
"""

from __future__ import annotations

import json
from pathlib import Path

import cocotb

from flows.sim.layer_bench import Bench, steady_state_cycles  # noqa: F401 - also run here


def parity_path(result_path: str) -> Path:
    """Where images_bit_exact writes its counts (next to the steady-state result)."""
    return Path(result_path).with_suffix(".parity.json")


@cocotb.test()
async def images_bit_exact(dut) -> None:
    tb = Bench(dut)
    await tb.reset()
    tb.randomise_rates()
    m, frames = tb.model, tb.case["frames"]
    got = await tb.stream(frames)
    want = m.words_out(frames)
    per = m.out_per_frame
    exact = [
        got[i * per : (i + 1) * per] == want[i * per : (i + 1) * per] for i in range(len(frames))
    ]
    result = {
        "images": len(frames),
        "bit_exact": int(sum(exact)),
        "extra_words": max(0, len(got) - len(want)),
        "first_mismatch": next((i for i, ok in enumerate(exact) if not ok), None),
    }
    path = parity_path(tb.case["result_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    assert result["bit_exact"] == len(frames) and not result["extra_words"], result
