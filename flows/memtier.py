"""The memory tier: which layer buffers and weights live in external DRAM, what that costs, and
how fast the design can then run (docs/dram.md).

* `dram_use(graph, target)`: every DRAM buffer of the graph (`LayerKind.dram_buffers`, and the
  links too deep for the chip on a target with a tier) and every DRAM region (an MVAU's weights,
  `LayerKind.dram_regions`) with its bytes per frame (`flows.hwmodel.dram.buffer_traffic`,
  `region_traffic`), their total, the DRAM-bound cycles per frame at the tier's measured sustained
  rate, and the frames/s that allows at a clock.
* `tier_estimate(graph, target)`: the tier's own logic (LiteDRAM's controller and crossbar, the
  stream engine with one stream per buffer and per region, the regions' loader), an `Estimate`
  row the build adds to the layers' (`TIER_ROW`).
* `place(graph, target, ceilings, force, budget)`: the placement decision. Each placeable layer
  (`LayerKind.places`) has an on-chip form and DRAM forms (`LayerKind.dram_forms`: an INSTA frame
  buffer in DRAM; an MVAU's weights in DRAM, with each pass length it can take). Layers move,
  greedily, the move that frees the most block memory per byte of added DRAM traffic first (a
  layer in DRAM may move again to a form that frees more), while the design's block RAM (and
  URAM) exceeds its ceiling and the DRAM bound stays within `budget` cycles per frame; then,
  while its LUTs exceed theirs, to forms that cost fewer LUTs with their streams (small layers'
  LUT-ROM constants). On a target with no DRAM tier everything stays on chip (and forcing is
  refused with what to do).
  The decision is the explorer's (flows/explore.py), folding.json carries it (the place fields),
  and a user may force it (`--dram all|buffers|none`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, replace

from flows.codegen.stitch import dram_buffers, dram_regions, stitched_fifos
from flows.errors import ResourceError
from flows.estimate import estimate_graph, estimate_layer, total
from flows.folding import cycles_per_frame
from flows.graph import DataflowGraph
from flows.hwmodel.dram import (
    buffer_traffic,
    dram_cycles,
    region_traffic,
    side_traffic,
    slow_stream,
)
from flows.hwmodel.fifo import fifos_estimate
from flows.hwmodel.memory import LUTRAM_LUTS
from flows.hwmodel.resources import Estimate
from flows.layers import kind_of
from flows.targets import Target, get

# The name of the DRAM tier's row among the layers' estimates (report, summary, fit check).
TIER_ROW = "dram_tier"
# The row of accel_top's FIFOs between the layers (flows.hwmodel.fifo, `links_estimate`).
LINKS_ROW = "links"
# `place`'s forcing choices: every buffer and weight matrix in DRAM, only the frame buffers (and
# weights on chip), nothing.
FORCES = ("all", "buffers", "none")
# One URAM288 holds as many bits as 16 18-kbit block RAMs: the exchange rate of freed memory.
URAM_IN_BRAM = 16


@dataclass(frozen=True)
class BufferUse:
    """One DRAM buffer (a FIFO: `kind` "fifo") or region (constant data read `reads_per_frame`
    times: "region") and its traffic."""

    layer: str
    port: str
    width: int
    words: int
    bytes_per_frame: int
    kind: str = "fifo"
    reads_per_frame: int = 1
    taps: int = 0  # a FIFO's second readers (`DramBuffer.taps`)
    side_bytes: int = 0  # one stream's bytes per frame (`side_traffic`; a region: all of them)


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
    """The DRAM buffers and regions of `graph` on `target` and the traffic they make (see the
    module doc)."""
    tgt = get(target)
    # links deeper than a chip FIFO go to DRAM too, on a target with a tier
    found = [(owner, b) for _, owner, b in dram_buffers(graph, tgt.dram is not None)]
    regions = [(owner, r) for _, owner, r in dram_regions(graph)]
    if (found or regions) and tgt.dram is None:
        names = ", ".join(dict.fromkeys(n for n, _ in found + regions))
        raise ResourceError(
            f"{tgt.name} has no external-memory tier yet, but {names} keep their buffers or "
            "weights in DRAM; keep them on chip (buffer='chip', weights='chip') or build for ulx3s"
        )
    d = tgt.dram
    uses = tuple(
        BufferUse(
            n,
            b.port,
            b.width,
            b.words,
            buffer_traffic(b.width, b.per_frame, d, len(b.taps)),
            taps=len(b.taps),
            side_bytes=side_traffic(b.width, b.per_frame, d),
        )
        for n, b in found
    ) + tuple(
        BufferUse(n, r.port, r.width, r.words, t, "region", r.reads_per_frame, side_bytes=t)
        for n, r in regions
        for t in [region_traffic(r.width, r.words, r.reads_per_frame, d)]  # read one way only
    )
    if not uses:
        return DramUse((), 0, 0)
    total_bytes = sum(u.bytes_per_frame for u in uses)
    return DramUse(uses, total_bytes, dram_cycles(total_bytes, d))


def tier_estimate(graph: DataflowGraph, target: str | Target) -> Estimate | None:
    """The tier's logic as an estimate row (None when nothing is in DRAM). Its cycles are the
    DRAM-bound cycles per frame, so `total` reports the design's true initiation interval."""
    tgt = get(target)
    use = dram_use(graph, tgt)
    if not use.buffers:
        return None
    cycles = cycles_per_frame(graph)  # as the tier decides slowness

    def widths(kind: str, slow: bool, taps: bool = False) -> list[int]:
        # each stream's traffic is one side's (`side_traffic`)
        return [w for b in use.buffers if b.kind == kind
                and slow_stream(b.side_bytes, cycles, tgt.dram) == slow
                for w in [b.width] * (b.taps if taps else 1)]  # fmt: skip

    lut, ff, lutram = tgt.dram.tier_cost(
        widths("fifo", False),
        widths("region", False),
        widths("fifo", True),
        widths("region", True),
        widths("fifo", False, True),
        widths("fifo", True, True),
    )
    return Estimate(use.cycles, lut, ff, 0, 0, lutram=lutram)


def links_estimate(graph: DataflowGraph, target: str | Target) -> Estimate | None:
    """accel_top's FIFOs between the layers and on the DRAM ports (`stitched_fifos`), None for a
    graph of one layer (nothing to stitch)."""
    if len(graph.nodes) < 2:
        return None
    return fifos_estimate(stitched_fifos(graph), get(target).family)


def design_estimate(graph: DataflowGraph, target: str | Target) -> dict[str, Estimate]:
    """The layers' estimates plus the links' row (LINKS_ROW) and, when a buffer is in DRAM, the
    tier's (TIER_ROW)."""
    tgt = get(target)
    est = estimate_graph(graph, tgt.family)
    links = links_estimate(graph, tgt)
    if links is not None:
        est[LINKS_ROW] = links
    tier = tier_estimate(graph, tgt)
    if tier is not None:
        est[TIER_ROW] = tier
    return est


def placeable(graph: DataflowGraph) -> list:
    """Nodes whose buffer or weights the memory tier places (`LayerKind.places` with at least one
    DRAM form), in topological order."""
    return [n for n in graph.topological() if _dram_forms(n)]


def _chip_form(node) -> dict:
    """The on-chip form: the place fields' dataclass defaults."""
    fields = {f.name: f.default for f in dataclasses.fields(node.config)}
    return {k: fields[k] for k in kind_of(node.config).places}


def _dram_forms(node) -> list[dict]:
    kind = kind_of(node.config)
    if not kind.places:
        return []
    return kind.dram_forms(replace(node.config, **_chip_form(node)))


def node_traffic(cfg, target: Target) -> int:
    """Bytes per frame a layer's own DRAM buffers and regions make on `target`'s tier."""
    kind, d = kind_of(cfg), target.dram
    return sum(
        buffer_traffic(b.width, b.per_frame, d, len(b.taps)) for b in kind.dram_buffers(cfg)
    ) + sum(region_traffic(r.width, r.words, r.reads_per_frame, d) for r in kind.dram_regions(cfg))


def _freed(before: Estimate, after: Estimate) -> int:
    return (before.bram - after.bram) + URAM_IN_BRAM * (before.uram - after.uram)


def _options(graph: DataflowGraph, node, target: Target) -> list[tuple[int, int, dict]]:
    """(block memory freed, DRAM bytes per frame, form) of each DRAM form of a node that frees
    any, against its on-chip form."""
    chip = estimate_layer(graph.typed_config(node), target.family)
    out = []
    for form in _dram_forms(node):
        cfg = replace(graph.typed_config(node), **form)
        freed = _freed(chip, estimate_layer(cfg, target.family))
        if freed > 0:
            out.append((freed, node_traffic(cfg, target), form))
    return out


def _gain(step: tuple[int, int], now: tuple[int, int]) -> tuple[float, int]:
    """How good a move from `now` (freed, traffic) to `step` is: more memory freed per byte of
    added traffic first (free when the traffic does not grow), then less traffic."""
    more, extra = step[0] - now[0], step[1] - now[1]
    return (math.inf if extra <= 0 else more / extra, -step[1])


def _best(opts: list[tuple[int, int, dict]]) -> tuple[int, int, dict]:
    """Of a node's `_options`, the one that frees the most block memory per byte of traffic."""
    return max(opts, key=lambda o: _gain(o[:2], (0, 0)))


def best_form(graph: DataflowGraph, node, target: Target) -> tuple[dict, float] | None:
    """The node's DRAM form that frees the most block memory (BRAM18-equivalents) per byte of DRAM
    traffic, and that ratio; None when no form frees any. Ties go to less traffic."""
    opts = _options(graph, node, target)
    if not opts:
        return None
    freed, traffic, form = _best(opts)
    return form, freed / max(1, traffic)


def _tier_luts(node, form: dict, tgt: Target, cycles: int | None = None) -> int:
    """Tier LUTs (LUT RAM at its cost, `LUTRAM_LUTS`) of a node's own streams in a DRAM form (its
    buffers' and regions' share of the stream engine); with the design's `cycles` per frame, slow
    streams at their cost (`slow_stream`), else every stream at the full one."""
    cfg = replace(node.config, **form)
    kind, d = kind_of(cfg), tgt.dram

    def slow(side_bytes: int) -> bool:
        return cycles is not None and slow_stream(side_bytes, cycles, d)

    costs = [d.stream_cost(b.width, slow=slow(side_traffic(b.width, b.per_frame, d)), tap=tap)
             for b in kind.dram_buffers(cfg) for tap in [False] + [True] * len(b.taps)]  # fmt: skip
    costs += [d.stream_cost(r.width, True,
                            slow(region_traffic(r.width, r.words, r.reads_per_frame, d)))
              for r in kind.dram_regions(cfg)]  # fmt: skip
    return sum(c[0] + LUTRAM_LUTS[tgt.family] * c[2] for c in costs)


def _memory_over(tot: dict, tgt: Target, ceilings: dict[str, float]) -> bool:
    return any(
        tot.get(k, 0) > math.floor(ceilings.get(k, 1.0) * tgt.resources.get(k, 0))
        for k in ("BRAM", "URAM")
        if k in tgt.resources
    )


def place(
    graph: DataflowGraph,
    target: str | Target,
    ceilings: dict[str, float] | None = None,
    force: str | None = None,
    budget: int | None = None,
) -> list[str]:
    """Decide where each placeable buffer and weight matrix lives, in place; returns the layers
    now (partly) in DRAM.

    `force` "all" puts every placeable layer in DRAM with all it can place there (of the forms
    that set every place field, e.g. an INSTA block's buffer and constants or an MVAU's weights
    at some pass length, the one that frees the most block memory per byte), "buffers" only the
    frame buffers (weights and constants stay on chip), "none" everything on chip; otherwise
    layers move greedily (the
    move that frees the most block memory per unit of cost first; see below) while block
    RAM/URAM exceed `ceilings` (shares of the target's), and only as long as the DRAM bound stays
    within `budget` cycles per frame (the cycles the design is folded for: a move past it would
    make the design slower than its folding; None: no bound). Targets without a DRAM tier keep
    everything on chip (the fit check then says what is over).
    """
    tgt = get(target)
    ceilings = ceilings or {}
    if force is not None and force not in FORCES:
        raise ResourceError(f"--dram must be auto or one of {', '.join(FORCES)}, not {force!r}")
    nodes = placeable(graph)
    for n in nodes:
        graph.replace_config(n, **_chip_form(n))
    if force in ("all", "buffers") and tgt.dram is None:
        raise ResourceError(
            f"{tgt.name} has no external-memory tier yet, so nothing can go to DRAM: drop "
            f"--dram {force} (or use --dram auto) or build for ulx3s"
        )
    if force == "none" or tgt.dram is None or not nodes:
        return []
    options = {n.name: _options(graph, n, tgt) for n in nodes}
    forms = {n.name: _dram_forms(n) for n in nodes}
    if force == "buffers":  # the frame buffers alone: forms that set nothing but `buffer`
        options = {k: [o for o in v if set(o[2]) == {"buffer"}] for k, v in options.items()}
        forms = {k: [f for f in v if set(f) == {"buffer"}] for k, v in forms.items()}
        nodes = [n for n in nodes if forms[n.name]]
    if force is not None:  # every layer with all it can place in DRAM (see the docstring)
        moved = []
        for n in nodes:
            opts, most = options[n.name], max(len(f) for f in forms[n.name])
            full = [o for o in opts if len(o[2]) == most]
            choice = _best(full)[2] if full else max(forms[n.name], key=len)
            graph.replace_config(n, **choice)
            moved.append(n.name)
        return moved
    # Greedy over moves: a layer goes from its current form (on chip: nothing freed, no
    # traffic) to a DRAM form that frees more, the move with the most memory freed per unit of
    # cost first, while block RAM/URAM are over. A layer already in DRAM may move again to a
    # form that frees more (an MVAU's shorter passes) once every better move is taken. The block
    # RAM/URAM total is updated by each move's own change (the tier's row holds no block memory)
    # instead of estimating the whole design again (a fork's move: its links' change too).
    tot = total(design_estimate(graph, tgt))
    now = {n.name: (0, 0) for n in nodes}
    by_name = {n.name: n for n in nodes}
    moved: list[str] = []
    d = tgt.dram
    use = dram_use(graph, tgt)  # the links too deep for the chip
    traffic_now = use.bytes_per_frame
    # What a move costs, as shares of what the design can spend: its added DRAM traffic of the
    # bytes the budget (or, without one, the slowest layer's cycles) allows, and the tier logic
    # of the streams it adds (their staging and the engine's per-stream state, `Dram.tier_cost`)
    # of the LUTs the ceiling allows: where block memory can be met, fewer and larger moves win,
    # since every stream costs tens to hundreds of LUTs.
    frame = budget if budget is not None else cycles_per_frame(graph)
    bytes_ok = max(1.0, frame * d.sustained_bytes_per_cycle)
    lut_ok = max(1.0, ceilings.get("LUT", 1.0) * tgt.resources.get("LUT", 0))
    luts = {  # the tier LUTs of each form's streams, and of the form each layer is in now
        (name, i): _tier_luts(by_name[name], o[2], tgt)
        for name, opts in options.items()
        for i, o in enumerate(opts)
    }
    luts_now = dict.fromkeys(by_name, 0)

    def affordable(name: str, traffic: int) -> bool:
        after = traffic_now - now[name][1] + traffic
        return budget is None or dram_cycles(after, d) <= budget

    def gain(name: str, i: int) -> tuple[float, int]:
        freed, traffic, _ = options[name][i]
        more, extra = freed - now[name][0], traffic - now[name][1]
        cost = max(0, extra) / bytes_ok
        cost += max(0, luts[name, i] - luts_now[name]) / lut_ok  # the streams it adds
        return (math.inf if cost <= 0 else more / cost, -traffic)

    while _memory_over(tot, tgt, ceilings):
        moves = [
            (gain(name, i), name, i)
            for name, opts in options.items()
            for i, o in enumerate(opts)
            if o[0] > now[name][0] and affordable(name, o[1])
        ]
        if not moves:
            break
        _, name, i = max(moves, key=lambda m: m[0])
        freed, traffic, form = options[name][i]
        luts_now[name] = luts[name, i]
        n = by_name[name]
        # a fork's buffer in DRAM serves its shortcut from a tap of the ring: the links into its
        # join change too (an on-chip shortcut FIFO or a DRAM link goes), so for a fork the
        # links' block memory and the whole traffic are counted again
        fork = kind_of(n.config).fork
        before = estimate_layer(graph.typed_config(n), tgt.family)
        links_before = links_estimate(graph, tgt) if fork else None
        graph.replace_config(n, **form)
        after = estimate_layer(graph.typed_config(n), tgt.family)
        tot["BRAM"] += after.bram - before.bram
        tot["URAM"] += after.uram - before.uram
        if links_before is not None:
            links_after = links_estimate(graph, tgt)
            tot["BRAM"] += links_after.bram - links_before.bram
            tot["URAM"] += links_after.uram - links_before.uram
            traffic_now = dram_use(graph, tgt).bytes_per_frame
        else:
            traffic_now += traffic - now[name][1]
        now[name] = (freed, traffic)
        if name not in moved:
            moved.append(name)
    if "LUT" in ceilings and tgt.resources.get("LUT"):
        for name, traffic in _spend_less_logic(graph, tgt, ceilings["LUT"], nodes, forms,
                                               lambda name, t: affordable(name, t)):  # fmt: skip
            traffic_now += traffic - now[name][1]
            now[name] = (now[name][0], traffic)
            if name not in moved:
                moved.append(name)
    return moved


def _spend_less_logic(graph, tgt: Target, ceiling: float, nodes, forms, affordable):
    """Moves for logic, after those for block memory: while the design's LUTs (LUT RAM at its
    cost) exceed `ceiling` of the target's, a layer moves to a DRAM form that keeps what it has in
    DRAM, holds no more block memory and costs fewer LUTs with its new streams (a small layer's
    constants in LUT ROMs cost more than a slow region stream), the most LUTs saved first, within
    the DRAM budget (`affordable`). Each move is checked against the whole design's LUTs and undone
    if they did not fall. Yields (layer, its new traffic) for each move made."""
    fam = tgt.family

    def luts(e: Estimate) -> int:
        return e.lut + LUTRAM_LUTS[fam] * e.lutram

    def design_luts() -> int:  # the tier's row included (its shared part comes with a first stream)
        tot = total(design_estimate(graph, tgt))
        return tot["LUT"] + LUTRAM_LUTS[fam] * tot.get("LUTRAM", 0)

    need = design_luts()
    cap = math.floor(ceiling * tgt.resources["LUT"])
    cycles = cycles_per_frame(graph)

    def best_of(n) -> tuple[int, dict, int] | None:
        """(LUTs saved, form, traffic) of the node's best logic move, None without one."""
        places = kind_of(n.config).places
        chip = _chip_form(n)
        cur = {k: getattr(n.config, k) for k in places}
        kept = {k: v for k, v in cur.items() if v != chip[k]}
        now = estimate_layer(graph.typed_config(n), fam)
        here = luts(now) + _tier_luts(n, cur, tgt, cycles)
        best = None
        for f in forms[n.name]:
            if any(f.get(k) != v for k, v in kept.items()):
                continue
            cfg = replace(graph.typed_config(n), **f)
            e = estimate_layer(cfg, fam)
            if _freed(now, e) < 0:  # never at the cost of block memory
                continue
            saved = here - luts(e) - _tier_luts(n, f, tgt, cycles)
            if saved > 0 and (best is None or saved > best[0]):
                best = (saved, f, node_traffic(cfg, tgt))
        return best

    cands = {n.name: (n, best_of(n)) for n in nodes}
    while need > cap:
        ok = [(b[0], name, n, b) for name, (n, b) in cands.items()
              if b is not None and affordable(name, b[2])]  # fmt: skip
        if not ok:
            return
        _, name, n, (_, form, traffic) = max(ok, key=lambda m: m[0])
        before = {k: getattr(n.config, k) for k in kind_of(n.config).places}
        graph.replace_config(n, **form)
        after = design_luts()
        if after >= need:  # e.g. the design's first stream, which brings the tier's shared part
            graph.replace_config(n, **before)
            cands[name] = (n, None)
            continue
        need = after
        cands[name] = (n, best_of(n))
        yield name, traffic


def placement(graph: DataflowGraph) -> dict[str, str]:
    """{layer: "chip" | "dram"} of every placeable layer (for the summary), by its first place
    field (`buffer` or `weights`)."""
    return {n.name: getattr(n.config, kind_of(n.config).places[0]) for n in placeable(graph)}
