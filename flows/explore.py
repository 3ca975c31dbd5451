"""Design-space exploration on top of `flows.folding.auto_fold` (docs/flow.md, Exploration).

Three questions, one engine:

* **Throughput** (`for_throughput`): the cheapest design that reaches `fps` frames per second at
  the clock (cycles per frame = clock / fps, rounded down), i.e. `auto_fold` for that target.
* **Device** (`fastest_fitting`): the fastest design that fits the target under utilisation
  `CEILINGS`. The candidate cycles per frame are those the layers' options can have; a binary
  search finds the smallest that fits (a slower target never needs more of anything, so fitting
  is monotone in it, up to the greedy's choices). At each candidate, when the cheapest folding
  overflows a resource, the folder's weight on that resource is raised (x WEIGHT_STEP, at most
  REWEIGHTS times): layers then trade it for others, e.g. DSP multipliers for LUT ones.
* **Pareto front** (`pareto`): designs over a geometric sweep of targets, without the
  dominated ones (frames/s up; LUT, FF, BRAM, URAM, DSP down).

**Slower than the compute.** On a target with a DRAM tier the placement may move buffers,
weights and constants to DRAM only while the DRAM bound stays within the folding's cycles (its
`budget`). When even the slowest folding does not fit that way, the device search lets the
design become DRAM-bound: it allows the tier `DRAM_SLACKS` times the folding's cycles in turn
(the fewest first) and takes the first placement that fits: a slower design, but one that
exists (where block RAM and LUTs are spent to the last site at the slowest folding, the
bandwidth a longer frame leaves pays for weights and constants that would otherwise hold block
RAM and LUT ROMs).

When nothing fits, `NoFitError` says which resources overflow at the slowest design (every layer
at its cheapest, with the most DRAM time tried) and by how much, and which layers hold most of
them.
"""

from __future__ import annotations

import bisect
import math
import warnings
from dataclasses import dataclass, field

from flows import estimate, memtier, targets
from flows.errors import ResourceError
from flows.folding import (
    RESOURCES,
    FoldingWarning,
    auto_fold,
    cycles_per_frame,
    layer_options,
    need_of,
    strip_width_converters,
)
from flows.graph import DataflowGraph

# Utilisation ceilings of the device search: LUT and FF leave 15 % for placement and routing
# (nextpnr and Vivado both slow down and miss timing on nearly full fabrics) and for the board
# shell (UART loader, result return: about 1k LUT on the ULX3S); block RAM, URAM and DSP are
# discrete sites with dedicated routing, so 95 % of them is usable.
CEILINGS = {"LUT": 0.85, "FF": 0.85, "BRAM": 0.95, "URAM": 0.95, "DSP": 0.95, "LUTRAM": 0.95}
WEIGHT_STEP = 4.0
DRAM_REFOLD_TRIES = 4
REWEIGHTS = 3
# DRAM budgets beyond the slowest folding's cycles the device search tries, in turn, when that
# folding does not fit within its own (module doc, "Slower than the compute").
DRAM_SLACKS = (1.25, 1.5, 2.0, 3.0, 4.0)


class NoFitError(ResourceError):
    """No folding of the graph fits the target under the ceilings."""


@dataclass
class Design:
    """One explored design: its cycles per frame, what it needs, and the folded graph."""

    cycles: int
    need: dict[str, int]
    graph: DataflowGraph = field(repr=False)
    weights: dict[str, float] = field(default_factory=dict)

    def fps(self, clock_mhz: float) -> float:
        return clock_mhz * 1e6 / self.cycles

    def row(self, clock_mhz: float, limits: dict[str, float]) -> dict:
        return {
            "cycles": self.cycles,
            "fps": round(self.fps(clock_mhz), 1),
            **self.need,
            "fits": fits(self.need, limits),
            "converters": sum(n.kind == "StreamWidthConverter" for n in self.graph.nodes),
        }


def limits_of(target: str | targets.Target, ceilings: dict[str, float] | None = None) -> dict:
    """{resource: usable amount} of the target under the ceilings."""
    tgt = targets.get(target)
    c = CEILINGS | (ceilings or {})
    limits = {k: tgt.resources.get(k, 0) * c[k] for k in RESOURCES}
    if "LUTRAM" in tgt.resources:  # distributed RAM, a limit of its own there (targets.py)
        limits["LUTRAM"] = tgt.resources["LUTRAM"] * c["LUTRAM"]
    return limits


def fits(need: dict[str, int], limits: dict[str, float]) -> bool:
    return all(need.get(k, 0) <= limits[k] for k in limits)


def _design(
    graph, cycles, target, weights=None, quiet: bool = True, dram=None, slack: float = 1.0,
    ceilings: dict[str, float] | None = None,
) -> Design:  # fmt: skip
    """`auto_fold` for `cycles` and its estimated needs; `quiet` drops its FoldingWarning (the
    searches try targets below the floor on purpose); the DRAM tier may take `slack` times the
    folding's cycles (above 1: a DRAM-bound design, module doc); the placement works towards
    `ceilings` (default CEILINGS)."""
    tgt = targets.get(target)
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore", FoldingWarning)
        g = auto_fold(graph, cycles, tgt, weights)
    # buffers and weights to DRAM where on-chip memory runs out, within the folding's cycles
    budget = math.floor(slack * max(cycles, cycles_per_frame(g)))
    memtier.place(g, tgt, CEILINGS | (ceilings or {}), dram, budget=budget)
    tot = estimate.total(memtier.design_estimate(g, tgt))
    return Design(
        max(cycles_per_frame(g), tot["cycles"]), need_of(tot, tgt.family), g, dict(weights or {})
    )


def _fitted(
    graph, cycles, target, limits, dram=None, slack: float = 1.0,
    ceilings: dict[str, float] | None = None,
) -> Design:  # fmt: skip
    """The design for `cycles`, reweighted towards the limits while it overflows them; when no
    attempt fits, the one that overflows least (largest need / limit smallest). `slack`: the
    DRAM tier's budget in units of the folding's cycles, `ceilings` the placement's (`_design`)."""
    weights: dict[str, float] = {}
    attempts = [_design(graph, cycles, target, dram=dram, slack=slack, ceilings=ceilings)]
    for _ in range(REWEIGHTS):
        d = attempts[-1]
        over = [k for k in limits if d.need.get(k, 0) > limits[k]]
        if not over:
            return d
        for k in {"LUT" if k == "LUTRAM" else k for k in over}:  # LUT RAM is in LUT's cost
            weights[k] = weights.get(k, 1.0) * WEIGHT_STEP
        attempts.append(
            _design(graph, cycles, target, weights, dram=dram, slack=slack, ceilings=ceilings)
        )
    if fits(attempts[-1].need, limits):
        return attempts[-1]
    return min(attempts, key=lambda d: _overflow(d.need, limits))


def _overflow(need: dict[str, int], limits: dict[str, float]) -> float:
    """The largest need / limit (infinite for a resource the target lacks)."""
    worst = 0.0
    for k in limits:
        if need.get(k, 0):
            worst = max(worst, need[k] / limits[k] if limits[k] else math.inf)
    return worst


def candidate_cycles(graph: DataflowGraph) -> list[int]:
    """Every cycles per frame the design can have: the layers' options' cycles at or above the
    floor (the slowest layer's fastest), ascending."""
    opts = layer_options(strip_width_converters(graph)).values()
    per_node = [sorted({o.cycles_per_frame for o in os}) for os in opts]
    floor = max(c[0] for c in per_node)
    return sorted({c for cs in per_node for c in cs if c >= floor})


def for_throughput(graph, fps: float, clock_mhz: float, target, dram=None) -> Design:
    """The cheapest design reaching `fps` frames/s at `clock_mhz` (module docstring); where no
    folding reaches it, the fastest, with `auto_fold`'s FoldingWarning naming the layers."""
    if fps <= 0 or clock_mhz <= 0:
        raise ResourceError(f"frames/s and clock must be positive, got {fps} and {clock_mhz}")
    cycles = max(1, math.floor(clock_mhz * 1e6 / fps))
    return _design(graph, cycles, target, quiet=False, dram=dram)


def fastest_fitting(graph, target, ceilings: dict[str, float] | None = None, dram=None) -> Design:
    """The fastest design that fits `target` under the ceilings, or NoFitError. `dram` forces
    the placement of buffers and weights (`memtier.FORCES`; None: `memtier.place`'s rule)."""
    limits = limits_of(target, ceilings)
    cands = candidate_cycles(graph)
    slowest = _fitted(graph, cands[-1], target, limits, dram, ceilings=ceilings)
    if not fits(slowest.need, limits) and targets.get(target).dram is not None and dram is None:
        for slack in DRAM_SLACKS:  # a DRAM-bound design, slower than the compute (module doc)
            slowest = _fitted(graph, cands[-1], target, limits, dram, slack, ceilings)
            if fits(slowest.need, limits):
                return slowest
    if not fits(slowest.need, limits):
        raise NoFitError(no_fit_message(slowest, target, limits))
    lo, hi, best = 0, len(cands) - 1, slowest  # cands[hi] fits
    while lo < hi:
        mid = (lo + hi) // 2
        d = _fitted(graph, cands[mid], target, limits, dram, ceilings=ceilings)
        if fits(d.need, limits):
            hi, best = mid, d
        else:
            lo = mid + 1
    # DRAM-bound: compute faster than the DRAM buys nothing, so the slowest compute folding that
    # keeps the design's cycles is cheaper. Slower folding narrows buffer words, which can waste
    # DRAM port bits and raise the bound: the largest candidates below it are tried in turn.
    compute = cycles_per_frame(best.graph)
    bound = memtier.dram_use(best.graph, target).cycles
    slower = [c for c in cands if compute < c <= bound]
    for c in reversed(slower[-DRAM_REFOLD_TRIES:]):
        d = _fitted(graph, c, target, limits, dram, ceilings=ceilings)
        if fits(d.need, limits) and d.cycles <= best.cycles:
            return d
    return best


def no_fit_message(d: Design, target, limits: dict[str, float]) -> str:
    """What does not fit at the slowest design, by how much, and where it goes."""
    tgt = targets.get(target)
    over = [k for k in limits if d.need.get(k, 0) > limits[k]]
    per_layer = memtier.design_estimate(d.graph, tgt)  # the tier and the links are rows too
    parts = []
    for k in over:
        need = {name: need_of(e, tgt.family)[k] for name, e in per_layer.items()}
        top = sorted(need.items(), key=lambda kv: -kv[1])[:3]
        where = ", ".join(f"{name} {n:,}" for name, n in top if n)
        avail = tgt.resources.get(k, 0)
        share = f"{limits[k] / avail:.0%} of {avail:,}" if avail else f"{tgt.name} has none"
        parts.append(
            f"{k} {d.need[k]:,} > {limits[k]:,.0f} ({share}) by {d.need[k] - limits[k]:,.0f} "
            f"(most in {where})"
        )
    in_dram = [n for n, where in memtier.placement(d.graph).items() if where == "dram"]
    dram = (
        f"; {len(in_dram)} layer(s) keep their frame buffer, weights or constants in DRAM already"
        if in_dram
        else ""
    )
    return (
        f"no folding fits {tgt.name} ({tgt.part}): even the smallest ({d.cycles:,} cycles per "
        f"frame, every layer at its cheapest) needs {'; '.join(parts)}{dram}; pick a larger target"
    )


def pareto(graph, target, clock_mhz: float, points: int = 16) -> list[Design]:
    """Non-dominated designs over `points` targets spaced geometrically from the floor to the
    slowest design, fastest first."""
    cands = candidate_cycles(graph)
    lo, hi = cands[0], cands[-1]
    picks = set()
    for i in range(points):
        want = lo * (hi / lo) ** (i / max(1, points - 1))
        picks.add(cands[min(len(cands) - 1, bisect.bisect_left(cands, round(want)))])
    designs = [_design(graph, c, target) for c in sorted(picks)]
    front = [d for d in designs if not any(_dominates(o, d) for o in designs)]
    unique: dict[tuple, Design] = {}
    for d in front:
        unique.setdefault((d.cycles, *d.need.values()), d)
    return sorted(unique.values(), key=lambda d: d.cycles)


def _dominates(a: Design, b: Design) -> bool:
    """a is at least as fast and as cheap in every resource, and better in one."""
    no_worse = a.cycles <= b.cycles and all(a.need[k] <= b.need[k] for k in RESOURCES)
    better = a.cycles < b.cycles or any(a.need[k] < b.need[k] for k in RESOURCES)
    return no_worse and better


# --- the explore command ----------------------------------------------------------------------------
COLUMNS = ("cycles", "fps", "LUT", "FF", "BRAM", "URAM", "DSP", "converters", "fits")


def explore_report(
    graph: DataflowGraph,
    target,
    clock_mhz: float,
    fps: float | None = None,
    points: int = 16,
    ceilings: dict[str, float] | None = None,
) -> dict:
    """The Pareto front, the fastest design that fits (or why none does) and, given `fps`, the
    cheapest design reaching it: rows of `Design.row`, JSON-ready."""
    tgt = targets.get(target)
    limits = limits_of(tgt, ceilings)
    out: dict = {
        "target": tgt.name,
        "part": tgt.part,
        "clock_mhz": clock_mhz,
        "ceilings": CEILINGS | (ceilings or {}),
        "limits": {k: round(v) for k, v in limits.items()},
        "pareto": [d.row(clock_mhz, limits) for d in pareto(graph, tgt, clock_mhz, points)],
    }
    try:
        best = fastest_fitting(graph, tgt, ceilings)
        out["fastest_fitting"] = best.row(clock_mhz, limits) | {"weights": best.weights}
    except NoFitError as e:
        out["fastest_fitting"] = None
        out["no_fit"] = str(e)
    if fps is not None:
        out["for_fps"] = {"fps_requested": fps} | for_throughput(graph, fps, clock_mhz, tgt).row(
            clock_mhz, limits
        )
    return out


def format_rows(rows: list[dict], header: bool = True) -> str:
    """A plain-text table of design rows (with its header line and rule, or without)."""
    head = " ".join(f"{c:>10}" for c in COLUMNS)
    lines = [head, "-" * len(head)] if header else []
    for r in rows:
        cells = []
        for c in COLUMNS:
            v = r[c]
            if isinstance(v, bool):
                cells.append(f"{'yes' if v else 'no':>10}")
            elif c == "fps":
                cells.append(f"{v:>10,.1f}")
            else:
                cells.append(f"{v:>10,}")
        lines.append(" ".join(cells))
    return "\n".join(lines)
