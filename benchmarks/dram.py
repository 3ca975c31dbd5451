"""The DRAM tier measured: sustained rate in simulation, logic in Yosys, both against the records.

`make bench-dram` (python -m benchmarks.dram):

* **Sustained rate.** The tier with LiteDRAM's model of the ULX3S chip (flows/codegen/dram_tier.py)
  moves random words through several buffer mixes at full rate, all buffers at once
  (flows/sim/dram_bench.py); the table shows the bytes moved to and from DRAM per clock as a share
  of the 16-bit SDR peak, next to `Dram.sustained`, which the estimator's DRAM bound uses.
* **Logic.** The tier with the board's PHY (GENSDRPHY) synthesised out of context by Yosys
  (`synth_ecp5`) next to `memtier.tier_estimate`'s model (`Dram.tier_cost`): buffers and weight
  regions on the stream engine. FITTED are the tiers the coefficients were read from (flows/targets.py);
  HELD_OUT were chosen after.

Figures go to build/bench/dram.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flows import synth, targets
from flows.artifacts import write_json
from flows.codegen.dram_tier import ExternalBuffer, WeightRegion, write_tier
from flows.hwmodel.dram import fifo_word_bits
from flows.sim import runner as sim

DRAM = targets.get("ulx3s").dram
CLK_HZ = 100e6
MIXES = {
    "1 x 8-bit": [8],
    "24 + 64-bit": [24, 64],
    "4 x 16-bit": [16, 16, 16, 16],
    "1 x 128-bit": [128],
    "16 x 8-bit": [8] * 16,
}
# Tiers for the logic estimate: (buffer widths, weight-region widths). The fitted ones give the
# coefficients of Dram.tier_cost (flows/targets.py); the held-out ones were not used to fit.
R18_REGIONS = ([8] * 3 + [9] * 12 + [12] * 27 + [20] * 16 + [32] + [40] * 3 + [41] * 4 + [42] * 5
               + [43] * 2 + [44] + [49] * 2 + [50] * 2 + [58] + [59] * 15 + [68] * 11 + [80])  # fmt: skip
FITTED = {
    "8 x 16": ([16] * 8, []), "24 x 16": ([16] * 24, []), "4 x 64": ([64] * 4, []),
    "8 regions x 32": ([], [32] * 8), "4 x 16 + 4 regions x 64": ([16] * 4, [64] * 4),
    "24 x 16 slow": ([16] * 24, [], True), "8 regions x 32 slow": ([], [32] * 8, True),
    "8 x 16 + 8 taps": ([16] * 8, [], False, 1), "24 x 16 + 24 taps slow": ([16] * 24, [], True, 1),
    # slow regions at scale (`reader_slow`, `reader_slow_per_bit`)
    "16 regions x 12 slow": ([], [12] * 16, True), "48 regions x 12 slow": ([], [12] * 48, True),
    "96 regions x 12 slow": ([], [12] * 96, True), "24 regions x 68 slow": ([], [68] * 24, True),
}  # fmt: skip
HELD_OUT = {
    "2 x 64": ([64, 64], []), "8 + 32 + 128": ([8, 32, 128], []), "4 x 16": ([16] * 4, []),
    "8 x 16 + 8 regions x 32": ([16] * 8, [32] * 8),
    "24 x 8 + 4 regions x 128": ([8] * 24, [128] * 4),
    "8 x 16 slow": ([16] * 8, [], True), "4 x 64 slow": ([64] * 4, [], True),
    "8 x 16 + 8 regions x 32, slow": ([16] * 8, [32] * 8, True),
    "4 x 64 + 4 taps": ([64] * 4, [], False, 1),
    "8 x 8 + 8 taps + 8 regions x 32, slow": ([8] * 8, [32] * 8, True, 1),
    "16 x 8 + 16 taps, slow": ([8] * 16, [], True, 1),
    # insta_resnet18's tier on the ULX3S (32 slow 8-bit buffers, 16 with a tap; 106 regions of
    # 8-80 bits, here all slow: 3 of them are not)
    "insta_resnet18's mix, slow": ([8] * 32, R18_REGIONS, True, [1] * 16 + [0] * 16),
}  # fmt: skip
WORDS = 3000


def _buffers(widths: list[int]) -> list[ExternalBuffer]:
    return [ExternalBuffer(f"b{i}", w, 4096) for i, w in enumerate(widths)]


def sustained(label: str, widths: list[int]) -> dict:
    bufs = _buffers(widths)
    b = sim.build(
        "dram_tier", lambda d: write_tier(bufs, DRAM, CLK_HZ, "model", d / "dram_tier.v", True)
    )
    spec = {"buffers": [(x.name, x.width, x.words) for x in bufs], "frames": WORDS,
            "phases": False}  # fmt: skip
    slug = "bench_dram_" + label.replace(" ", "").replace("+", "_")
    r = sim.run_bench(b, spec, None, module="flows.sim.dram_bench", label=slug)
    moved = sum(2 * WORDS * fifo_word_bits(w, DRAM) // 8 for w in widths)
    share = moved / r["cycles"] / (DRAM.data_bits / 8)
    return {"mix": label, "bytes": moved, "cycles": r["cycles"], "sustained": round(share, 3),
            "recorded": DRAM.sustained}  # fmt: skip


def logic(label: str, widths: tuple, root: Path, held_out: bool) -> dict:
    """One tier (buffer widths, region widths[, every stream slow[, taps per buffer]]) through
    Yosys and the model."""
    fifos, regions = widths[:2]
    slow = widths[2] if len(widths) > 2 else False
    taps = widths[3] if len(widths) > 3 else 0
    taps = taps if isinstance(taps, list) else [taps] * len(fifos)  # per buffer, or for each
    d = root / "".join(c for c in label.replace("+", "_") if c.isalnum() or c in "_-")
    items = [ExternalBuffer(f"b{i}", w, 4096, 0, slow, t)
             for i, (w, t) in enumerate(zip(fifos, taps, strict=True))]  # fmt: skip
    items += [WeightRegion(f"w{i}", w, 2048, slow) for i, w in enumerate(regions)]
    write_tier(items, DRAM, 50e6, "gensdr", d / "dram_tier.v")
    got = synth.synth_ecp5([d / "dram_tier.v"], "dram_tier", d, ooc=True)
    tapped = [w for w, t in zip(fifos, taps, strict=True) for _ in range(t)]
    cost = ((fifos, regions, [], [], tapped, []) if not slow
            else ([], [], fifos, regions, [], tapped))  # fmt: skip
    lut, ff, lutram = DRAM.tier_cost(*cost)
    return {"tier": label, "set": "held-out" if held_out else "fitted", "LUT": got["LUT"],
            "LUT est": lut, "LUT ratio": round(lut / got["LUT"], 2), "FF": got["FF"],
            "FF est": ff, "FF ratio": round(ff / got["FF"], 2), "LUTRAM": got["LUTRAM"],
            "LUTRAM est": lutram, "LUTRAM ratio": round(lutram / got["LUTRAM"], 2)}  # fmt: skip


def _table(rows: list[dict]) -> str:
    keys = list(rows[0])
    w = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in keys}
    lines = ["  ".join(k.ljust(w[k]) for k in keys)]
    lines += ["  ".join(str(r[k]).ljust(w[k]) for k in keys) for r in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/bench"))
    args = ap.parse_args()
    rates = [sustained(k, v) for k, v in MIXES.items()]
    print("sustained rate (share of the 16-bit SDR peak, every buffer busy):")
    print(_table(rates))
    root = args.out / "dram_synth"
    cost = [logic(k, v, root, False) for k, v in FITTED.items()]
    cost += [logic(k, v, root, True) for k, v in HELD_OUT.items()]
    print("\ntier logic, Yosys synth_ecp5 vs estimate:")
    print(_table(cost))
    write_json(args.out / "dram.json", {"sustained": rates, "logic": cost})


if __name__ == "__main__":
    main()
