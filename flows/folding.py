"""Folding: how many input elements (SIMD) and output channels (PE) each layer handles per cycle,
and the stream width converters that let every layer choose its own.

Which config field sets which ports' lanes, and which dimension it must divide, is the kind's
`LayerKind.folds` (flows/layers/registry.py); the other per-layer decisions the folder may take
(an IntMVAU's DSP or LUT multipliers) are its `LayerKind.styles`. Where a producer writes a
different number of lanes per word than its consumer reads, `insert_width_converters` puts a
`StreamWidthConverter` on the stream (chains, forks, joins and side streams alike), so each
layer's folding is free.

`auto_fold(graph, target_cycles, target)` picks, for a target number of cycles per frame, the
cheapest design that meets it on chains and residual DAGs (docs/flow.md, Folding):

1. *Options* of a layer: every combination of legal values of its folding fields (divisors of the
   dimension each divides for which the config is valid) and of its styles.
2. *Greedy in topological order*: each layer takes the option that, first, overshoots the target
   least (0 where it meets it), then costs least: its own estimate plus the width converters
   it needs towards the producers already decided (`StreamWidthConverter`'s estimate), each
   resource as a share of the target's (`Budget`: LUT with LUT RAM, FF, BRAM, URAM, DSP), summed
   with weights. So lanes match along a stream where a converter would cost more than the
   cheaper folding saves, and a layer that would waste block RAM on a wide, shallow weight
   memory takes a narrower folding even if it needs converters.
3. Where some layer cannot meet the target with any option, the design's cycles per frame are
   that layer's fastest (the *floor*); every layer is then folded for the floor instead (no
   layer gains from being faster than the bottleneck), and `auto_fold` warns
   (`FoldingWarning`) naming the layers that cannot meet the target and their fastest cycles.

`flows.explore` searches over targets and weights on top of this (throughput- or device-driven).
`apply_folding` applies an explicit {layer: {"simd": s, "pe": p}} map and re-inserts converters.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from flows import targets
from flows.errors import ConfigError, FoldingError
from flows.estimate import estimate_layer
from flows.graph import DataflowGraph, Stream
from flows.hwmodel.memory import LUTRAM_LUTS
from flows.hwmodel.resources import Estimate
from flows.layers import StreamWidthConverter, kind_of

# Resources the folder weighs (LUT includes LUT RAM: distributed RAM occupies LUTs).
RESOURCES = ("LUT", "FF", "BRAM", "URAM", "DSP")


class FoldingWarning(UserWarning):
    """`auto_fold` could not meet the target cycles per frame on some layers."""


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


# --- cost ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """What a design may use of a target, and how much each resource weighs in the folder's cost.

    `cost(estimate)` = sum over RESOURCES of weight * need / available (`need_of`: LUT RAM in LUT);
    a resource the target lacks (URAM off UltraScale+) makes any use of it infinitely dear."""

    family: str
    available: dict[str, int]
    weights: dict[str, float]

    @classmethod
    def of(cls, target: str | targets.Target, weights: dict[str, float] | None = None) -> Budget:
        tgt = targets.get(target)
        w = {k: 1.0 for k in RESOURCES} | (weights or {})
        return cls(tgt.family, {k: tgt.resources.get(k, 0) for k in RESOURCES}, w)

    def cost(self, e: Estimate) -> float:
        need = need_of(e, self.family)
        total = 0.0
        for k in RESOURCES:
            if need[k]:
                if not self.available[k]:
                    return math.inf
                total += self.weights[k] * need[k] / self.available[k]
        return total


def need_of(e: Estimate | dict[str, int], family: str) -> dict[str, int]:
    """Resources an estimate (or a total) occupies on `family`: RESOURCES, LUT RAM counted in the
    LUTs it occupies (`LUTRAM_LUTS`: an ECP5 TRELLIS_DPR16X4 takes nine); and "LUTRAM", its cells
    alone, for targets whose distributed RAM is a limit of its own (`Target.resources`)."""
    d = e.as_dict() if isinstance(e, Estimate) else e
    ram = LUTRAM_LUTS[family] * d.get("LUTRAM", 0)
    need = {k: d.get(k, 0) + (ram if k == "LUT" else 0) for k in RESOURCES}
    return need | {"LUTRAM": d.get("LUTRAM", 0)}


# --- options of one layer ---------------------------------------------------------------------------
def _field_values(cfg, field: str) -> list[int]:
    """Candidate lane counts of one folding field: the divisors of the dimension it divides (the
    config validates each combination, `options`)."""
    return divisors(getattr(cfg, kind_of(cfg).folds[field].divides))


def options(cfg) -> list:
    """Every valid config of the layer over its folding fields and styles: the config accepts
    it, and each port's lanes divide the port's channels (a side stream's too: the reuse
    INSTA-PReLU reads its block's statistic at its own PE)."""
    kind = kind_of(cfg)
    if not kind.hardware:
        raise FoldingError(
            f"{cfg.name}: a {kind.name} has no folding (a transient kind); "
            "streamline the graph before folding it"
        )
    choices = {f: _field_values(cfg, f) for f in kind.folds}
    choices |= {f: list(values) for f, values in kind.styles.items()}
    out = []
    for values in itertools.product(*choices.values()):
        try:
            opt = replace(cfg, **dict(zip(choices, values, strict=True)))
        except ConfigError:
            continue
        ins, outs = kind.ports(opt)  # every port's words hold whole lanes of its vectors
        if all(p.channels % p.lanes == 0 for p in (*ins.values(), *outs.values())):
            out.append(opt)
    if not out:
        raise FoldingError(
            f"{cfg.name}: no folding of this {kind.name} is valid (fields {list(choices)}); "
            "fold it by hand with --folding"
        )
    return out


def layer_options(graph: DataflowGraph) -> dict[str, list]:
    """{layer: its `options`} of every layer of a graph without width converters."""
    return {n.name: options(graph.typed_config(n)) for n in graph.nodes}


def _port_lanes(cfg, side: int) -> list[int]:
    """Lanes of the inputs (side 0) or outputs (side 1), in the node's order."""
    return [p.lanes for p in kind_of(cfg).ports(cfg)[side].values()]


def _written_lanes(producer_cfg, producer_outputs: list[str], stream: str) -> int:
    """Lanes per word the producer writes on `stream` (one of its outputs)."""
    return _port_lanes(producer_cfg, 1)[producer_outputs.index(stream)]


def _lane_mismatches(graph: DataflowGraph):
    """(consumer, input index, stream, producer's lanes, consumer's lanes) of every internal
    stream whose two ends differ, consumers in topological order."""
    for node in graph.topological():
        for i, (s, want) in enumerate(zip(node.inputs, _port_lanes(node.config, 0), strict=True)):
            prod = graph.producer(s)
            if prod is not None:
                have = _written_lanes(prod.config, prod.outputs, s)
                if have != want:
                    yield node, i, s, have, want


def _converter(stream: Stream, have: int, want: int, name: str = "dwc") -> StreamWidthConverter:
    nv, c = stream.shape
    return StreamWidthConverter(name, c, stream.dtype, have, want, nv)


# --- the greedy choice -----------------------------------------------------------------------------
def _choose(
    graph: DataflowGraph, opts: dict[str, list], target_cycles: int, budget: Budget
) -> dict[str, object]:
    """{layer: folded config} among `opts` ({layer: its options}), decided in topological order
    (module docstring)."""
    chosen: dict[str, object] = {}
    for node in graph.topological():
        producers = [(graph.producer(s), graph.streams[s]) for s in node.inputs]
        best, best_key = None, None
        for opt in opts[node.name]:
            cycles = opt.cycles_per_frame
            cost = budget.cost(estimate_layer(opt, budget.family))
            for lanes, (prod, stream) in zip(_port_lanes(opt, 0), producers, strict=True):
                if prod is None:
                    continue
                have = _written_lanes(chosen[prod.name], prod.outputs, stream.name)
                if have != lanes:
                    conv = _converter(stream, have, lanes)
                    cost += budget.cost(estimate_layer(conv, budget.family))
            key = (max(0, cycles - target_cycles), cost, cycles)
            if best_key is None or key < best_key:
                best, best_key = opt, key
        chosen[node.name] = best
    return chosen


# --- public API -------------------------------------------------------------------------------------
def auto_fold(
    graph: DataflowGraph,
    target_cycles: int,
    target: str | targets.Target = "ulx3s",
    weights: dict[str, float] | None = None,
) -> DataflowGraph:
    """Fold a chain or residual DAG for `target_cycles` per frame at the least cost on `target`
    (module docstring), then insert the width converters it needs.

    Where a layer cannot meet the target, everything is folded for the slowest layer's fastest
    cycles instead, with a `FoldingWarning` naming the layers that cannot."""
    if target_cycles < 1:
        raise FoldingError(f"target cycles per frame must be >= 1, got {target_cycles}")
    g = strip_width_converters(graph)
    opts = layer_options(g)
    fastest = {name: min(o.cycles_per_frame for o in os) for name, os in opts.items()}
    floor = max(fastest.values())  # no layer needs to be faster than the slowest can be
    chosen = _choose(g, opts, max(target_cycles, floor), Budget.of(target, weights))
    for node in g.nodes:
        node.config = chosen[node.name]
    g = insert_width_converters(g)
    unable = [
        (n.name, fastest[n.name]) for n in g.topological() if fastest.get(n.name, 0) > target_cycles
    ]
    if unable:
        names = ", ".join(f"{name} ({c})" for name, c in unable[:6])
        names += f" and {len(unable) - 6} more" if len(unable) > 6 else ""
        warnings.warn(
            f"no legal folding meets {target_cycles} cycles per frame for {names}; the design "
            f"runs at {floor} cycles per frame (its slowest layer at its fastest), and the other "
            "layers are folded for that",
            FoldingWarning,
            stacklevel=2,
        )
    return g


def missed_target(graph: DataflowGraph, target_cycles: int) -> dict[str, int]:
    """Layers slower than `target_cycles` per frame: {name: cycles}, in topological order. Width
    converters are left out: one is never slower than the slower of its two ends (a layer
    writes and reads at most one word per cycle)."""
    nodes = [n for n in graph.topological() if not isinstance(n.config, StreamWidthConverter)]
    return {n.name: c for n in nodes if (c := n.config.cycles_per_frame) > target_cycles}


def insert_width_converters(graph: DataflowGraph) -> DataflowGraph:
    """A copy of `graph` with a StreamWidthConverter on every stream whose producer writes a
    different number of lanes per word than its consumer reads (named `<consumer>_dwc`, with the
    input's index after the first)."""
    g = graph.copy()
    for node, i, s, have, want in list(_lane_mismatches(g)):
        stream = g.streams[s]
        base = f"{node.name}_dwc" + (f"{i}" if i else "")
        conv = _converter(stream, have, want, g.unique_name(base))
        out = Stream(g.unique_name(f"{s}_w{want}"), stream.dtype, stream.shape)
        g.add(conv, [s], [out])
        node.inputs[i] = out.name
    g.sort()
    check_lanes(g)
    return g


def strip_width_converters(graph: DataflowGraph) -> DataflowGraph:
    """A copy of `graph` without its StreamWidthConverters (their consumers read their input)."""
    g = graph.copy()
    for conv in [n for n in g.nodes if isinstance(n.config, StreamWidthConverter)]:
        (src,), (dst,) = conv.inputs, conv.outputs
        g.nodes.remove(conv)
        for n in g.nodes:
            n.inputs = [src if s == dst else s for s in n.inputs]
        g.outputs = [src if s == dst else s for s in g.outputs]
        g.streams.pop(dst, None)
    return g


def apply_folding(graph: DataflowGraph, folding: dict[str, dict[str, int]]) -> DataflowGraph:
    """Apply an explicit folding map (each field validated by the layer's config) and insert the
    width converters it needs; unknown layer names are errors."""
    g = strip_width_converters(graph)
    names = {n.name for n in g.nodes}
    for name in folding:
        if name not in names:
            raise FoldingError(f"folding names layer {name!r}, which is not in the graph")
    for node in g.nodes:
        if node.name in folding:
            kind = kind_of(node.config)
            fields = set(kind.decisions)
            unknown = set(folding[node.name]) - fields
            if unknown:
                raise FoldingError(
                    f"folding of {node.name} (a {kind.name}) sets {sorted(unknown)}; it folds "
                    f"by {sorted(fields)}"
                )
            node.config = replace(node.config, **folding[node.name])  # validated on construction
    return insert_width_converters(g)


def folding_map(graph: DataflowGraph) -> dict[str, dict[str, int | str]]:
    """This flow's folding file of a folded graph: {layer: {field: value}} for every folding
    field and style of every layer but the width converters (`apply_folding` reads it back)."""
    out = {}
    for n in graph.topological():
        if isinstance(n.config, StreamWidthConverter):
            continue
        out[n.name] = {f: getattr(n.config, f) for f in kind_of(n.config).decisions}
    return out


def load_folding(path: Path) -> dict[str, dict[str, int]]:
    """Read a folding map {layer: {"simd": s, "pe": p}} from JSON; bad files are FoldingErrors."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise FoldingError(f"cannot read folding file {path}: {e}") from None
    return checked_folding(data, path)


def checked_folding(data, source) -> dict[str, dict[str, int]]:
    """`data` if it is a folding map {layer: {field: int or str}}, else a FoldingError naming
    `source` (the file it came from)."""
    ok = isinstance(data, dict) and all(
        isinstance(v, dict)
        and all(isinstance(k, str) and isinstance(x, int | str) for k, x in v.items())
        for v in data.values()
    )
    if not ok:
        raise FoldingError(
            f'{source}: expected {{"layer": {{"simd": int, "pe": int, ...}}, ...}} or a FINN '
            "folding configuration"
        )
    return data


def check_lanes(graph: DataflowGraph) -> None:
    """Producer output lanes equal consumer input lanes on every internal stream (true after
    `insert_width_converters`)."""
    for node, _, s, have, want in _lane_mismatches(graph):
        raise FoldingError(
            f"{graph.producer(s).name} emits {have} lanes per word on {s} but {node.name} reads "
            f"{want}; fold the graph with auto_fold or apply_folding, which insert the width "
            "converters"
        )


def cycles_per_frame(graph: DataflowGraph) -> int:
    """Steady-state initiation interval of the graph: its slowest layer."""
    return max(n.config.cycles_per_frame for n in graph.nodes)
