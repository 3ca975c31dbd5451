"""The memory tier: which layer buffers live in external DRAM, what that costs, and how fast the
design can then run (docs/dram.md).

* `dram_use(graph, target)`: every DRAM buffer of the graph (`LayerKind.dram_buffers`, and the
  links too deep for the chip on a target with a tier) with its
  bytes per frame (`flows.hwmodel.dram.buffer_traffic`), their total, the DRAM-bound cycles per
  frame at the tier's measured sustained rate, and the frames/s that allows at a clock.
* `tier_estimate(graph, target)`: the tier's own logic (LiteDRAM controller and crossbar, one DRAM
  FIFO per buffer), an `Estimate` row the build adds to the layers' (`TIER_ROW`).
* `place_buffers(graph, target, ceilings)`: the placement decision. Frame buffers move to DRAM,
  largest first, while the design's block RAM (and URAM) need exceeds its ceiling; on a target
  with no DRAM tier everything stays on chip (and `--dram all` is refused with what to do). The
  decision is the explorer's (flows/explore.py), folding.json carries it (the `buffer` field,
  `LayerKind.places`), and a user may force it (`--dram all|none`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flows.codegen.stitch import dram_buffers
from flows.errors import ResourceError
from flows.estimate import estimate_graph, estimate_layer, total
from flows.graph import DataflowGraph
from flows.hwmodel.dram import buffer_traffic, dram_cycles
from flows.hwmodel.resources import Estimate
from flows.layers import kind_of
from flows.targets import Target, get

# The name of the DRAM tier's row among the layers' estimates (report, summary, fit check).
TIER_ROW = "dram_tier"


@dataclass(frozen=True)
class BufferUse:
    layer: str
    port: str
    width: int
    words: int
    bytes_per_frame: int


@dataclass(frozen=True)
class DramUse:
    buffers: tuple[BufferUse, ...]
    bytes_per_frame: int
    cycles: int  # DRAM-bound clocks per frame (0 without DRAM buffers)

    def fps(self, clock_mhz: float) -> float | None:
        """Frames/s the DRAM allows at `clock_mhz` (None: no DRAM traffic, no bound)."""
        return clock_mhz * 1e6 / self.cycles if self.cycles else None

    def as_dict(self) -> dict:
        return {
            "buffers": [b.__dict__ for b in self.buffers],
            "bytes_per_frame": self.bytes_per_frame,
            "cycles_per_frame": self.cycles,
        }


def dram_use(graph: DataflowGraph, target: str | Target) -> DramUse:
    """The DRAM buffers of `graph` on `target` and the traffic they make (see the module doc)."""
    tgt = get(target)
    # links deeper than a chip FIFO go to DRAM too, on a target with a tier
    found = [(owner, b) for _, owner, b in dram_buffers(graph, tgt.dram is not None)]
    if found and tgt.dram is None:
        names = ", ".join(n for n, _ in found)
        raise ResourceError(
            f"{tgt.name} has no external-memory tier yet, but {names} keep their buffers in DRAM; "
            "keep them on chip (buffer='chip') or build for ulx3s"
        )
    if not found:
        return DramUse((), 0, 0)
    uses = tuple(
        BufferUse(n, b.port, b.width, b.words, buffer_traffic(b.width, b.per_frame, tgt.dram))
        for n, b in found
    )
    total_bytes = sum(u.bytes_per_frame for u in uses)
    return DramUse(uses, total_bytes, dram_cycles(total_bytes, tgt.dram))


def tier_estimate(graph: DataflowGraph, target: str | Target) -> Estimate | None:
    """The tier's logic as an estimate row (None when no buffer is in DRAM). Its cycles are the
    DRAM-bound cycles per frame, so `total` reports the design's true initiation interval."""
    tgt = get(target)
    use = dram_use(graph, tgt)
    if not use.buffers:
        return None
    d = tgt.dram
    fifos = [d.fifo_cost(b.width) for b in use.buffers]
    lut = d.lut + sum(f[0] for f in fifos)
    return Estimate(use.cycles, lut, d.ff + sum(f[1] for f in fifos), 0, 0)


def design_estimate(graph: DataflowGraph, target: str | Target) -> dict[str, Estimate]:
    """The layers' estimates plus the tier's row (TIER_ROW) when a buffer is in DRAM."""
    tgt = get(target)
    est = estimate_graph(graph, tgt.family)
    tier = tier_estimate(graph, tgt)
    if tier is not None:
        est[TIER_ROW] = tier
    return est


def placeable(graph: DataflowGraph) -> list:
    """Nodes with a frame buffer the memory tier places (`LayerKind.places`), largest first."""
    nodes = [n for n in graph.topological() if _place(n) and n.config.buffer_words]
    return sorted(nodes, key=lambda n: -n.config.buffer_bits)


def _place(node) -> str | None:
    """The config field that says where the node's frame buffer lives, if its kind has one."""
    places = kind_of(node.config).places
    return places[0] if places else None


def _memory_over(tot: dict, tgt: Target, ceilings: dict[str, float]) -> bool:
    return any(
        tot.get(k, 0) > math.floor(ceilings.get(k, 1.0) * tgt.resources.get(k, 0))
        for k in ("BRAM", "URAM")
        if k in tgt.resources
    )


def place_buffers(
    graph: DataflowGraph,
    target: str | Target,
    ceilings: dict[str, float] | None = None,
    force: str | None = None,
) -> list[str]:
    """Decide where each frame buffer lives, in place; returns the layers now in DRAM.

    `force` "all" puts every placeable buffer in DRAM, "none" every one on chip; otherwise buffers
    move to DRAM, largest first, while block RAM/URAM exceed `ceilings` (shares of the target's).
    Targets without a DRAM tier keep everything on chip (the fit check then says what is over).
    """
    tgt = get(target)
    ceilings = ceilings or {}
    nodes = placeable(graph)
    for n in nodes:
        graph.replace_config(n, **{_place(n): "chip"})
    if force == "all" and tgt.dram is None:
        raise ResourceError(
            f"{tgt.name} has no external-memory tier yet, so no buffer can go to DRAM: drop "
            "--dram all (or use --dram auto) or build for ulx3s"
        )
    if force == "none" or tgt.dram is None or not nodes:
        return []
    # The block RAM/URAM total, updated by each moved layer's own change (the tier's row holds no
    # block memory), instead of estimating the whole design again per buffer.
    tot = total(design_estimate(graph, tgt))
    moved = []
    for n in nodes:
        if force != "all" and not _memory_over(tot, tgt, ceilings):
            break
        before = estimate_layer(graph.typed_config(n), tgt.family)
        graph.replace_config(n, **{_place(n): "dram"})
        after = estimate_layer(graph.typed_config(n), tgt.family)
        tot["BRAM"] += after.bram - before.bram
        tot["URAM"] += after.uram - before.uram
        moved.append(n.name)
    return moved


def placement(graph: DataflowGraph) -> dict[str, str]:
    """{layer: "chip" | "dram"} of every placeable buffer (for folding.json and the summary)."""
    return {n.name: getattr(n.config, _place(n)) for n in placeable(graph)}
