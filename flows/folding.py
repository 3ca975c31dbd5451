"""Folding: how many input elements (SIMD) and output channels (PE) each layer handles per cycle.

Stream words must have the same number of lanes at both ends of every stream (producer PE =
consumer SIMD/PE; no width converter yet). Which config field sets which ports' lanes, and which
dimension it must divide, is the kind's `LayerKind.folds` (flows/layers/registry.py). `auto_fold`
picks, for a target number of cycles per frame, the cheapest folding that meets it on chains and
on residual DAGs (forks, joins, per-frame side streams); `apply_folding` applies an explicit
{layer: {"simd": s, "pe": p}} map and checks it.

How `auto_fold` works (docs/flow.md, Folding):

1. *Lane classes*: a union-find over streams. Each folding field of a layer ties the streams
   of the ports it sets into one class: a layer with one `pe` over all its ports (every kind but
   the MVAUs and LabelSelect) ties them all; an MVAU separates its input class (SIMD) from its
   output class (PE). A port no field sets carries one lane (LabelSelect's output), so it is not
   tied to the others. A per-frame side stream (INSTA-Th's statistic S, one vector) is an
   ordinary stream: it carries its producer's PE and its consumer reads it at its PE.
2. *Legal lanes* of a class: the values every port in the class accepts, i.e. divisors of every
   dimension its fields divide (channel counts, `mw` for SIMD, `mh` for an MVAU's PE) for which
   the layer's config is valid (e.g. INSTA-Th needs enough cycles per frame for its threshold
   evaluators).
3. *Greedy in topological order*: the first layer that touches an undecided class decides it
   (an MVAU decides its SIMD and PE classes together). Each option is scored by the cycles over the
   target of every layer touching the layer's classes, worst first (an MVAU whose other class is
   still open counts with that class at its largest legal value), then by its cost: SIMD*PE for an
   MVAU (balanced SIMD ~ PE, then more PE, on ties), the lane count otherwise. So a class gets the
   smallest lane count with which every layer touching it meets the target; where that is
   impossible, the layers over the target are as fast as the legal lanes allow, and `auto_fold`
   warns (`FoldingWarning`) naming them.
"""

from __future__ import annotations

import itertools
import json
import warnings
from dataclasses import replace
from pathlib import Path

from flows.errors import ConfigError, FoldingError
from flows.graph import DataflowGraph, Node
from flows.layers import kind_of
from flows.layers.registry import INPUTS, OUTPUTS


class FoldingWarning(UserWarning):
    """`auto_fold` could not meet the target cycles per frame on some layers."""


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def in_lanes(cfg) -> int:
    return getattr(cfg, kind_of(cfg).lane_field(INPUTS))


def out_lanes(cfg) -> int:
    """Lanes of the outputs: the field that sets them, or one lane where none does."""
    field = kind_of(cfg).lane_field(OUTPUTS)
    return getattr(cfg, field) if field is not None else 1


# --- lane classes --------------------------------------------------------------------------------
class LaneClasses:
    """Union-find over the streams of a graph: streams of one class carry the same lanes per word.

    `ports[node]` is {folding field: the class of the streams it sets} (for an MVAU: SIMD, then
    PE); `legal[class]` the lane counts every port of the class accepts, ascending."""

    def __init__(self, graph: DataflowGraph) -> None:
        self._parent: dict[str, str] = {}
        fixed: set[str] = set()  # streams that carry exactly 1 lane (no field sets them)
        streams = {n.name: self._field_streams(n, fixed) for n in graph.nodes}
        for fields in streams.values():
            for tied in fields.values():
                self._tie(tied)
        self.ports = {
            name: {f: self.find(tied[0]) for f, tied in fields.items()}
            for name, fields in streams.items()
        }
        self.touching: dict[str, list[Node]] = {}
        for node in graph.topological():
            for c in dict.fromkeys(self.ports[node.name].values()):
                self.touching.setdefault(c, []).append(node)
        self.legal = {c: self._legal(c, nodes) for c, nodes in self.touching.items()}
        for s in fixed:
            self.legal[self.find(s)] = [v for v in self.legal.get(self.find(s), [1]) if v == 1]
        for c, values in self.legal.items():
            if not values:
                self._no_common_lanes(c)

    def find(self, stream: str) -> str:
        root = self._parent.setdefault(stream, stream)
        if root != stream:
            root = self._parent[stream] = self.find(root)
        return root

    def _tie(self, streams: list[str]) -> None:
        for s in streams[1:]:
            self._parent[self.find(s)] = self.find(streams[0])

    @staticmethod
    def _field_streams(node: Node, fixed: set[str]) -> dict[str, list[str]]:
        """{folding field: the streams of the ports it sets}; streams of ports no field sets go
        to `fixed`."""
        kind = kind_of(node.config)
        if not kind.hardware:
            raise FoldingError(
                f"{node.name}: a {node.kind} has no folding (a transient kind); "
                "streamline the graph before folding it"
            )
        fields = {}
        for field, fold in kind.folds.items():
            fields[field] = (node.inputs if fold.sets(INPUTS) else []) + (
                node.outputs if fold.sets(OUTPUTS) else []
            )
        set_ = {s for tied in fields.values() for s in tied}
        fixed.update(s for s in node.inputs + node.outputs if s not in set_)
        return fields

    def _legal(self, c: str, nodes: list[Node]) -> list[int]:
        values: set[int] | None = None
        for node in nodes:
            for field, cls in self.ports[node.name].items():
                if cls == c:
                    ok = _port_values(node.config, field)
                    values = ok if values is None else values & ok
        return sorted(values or ())

    def _no_common_lanes(self, c: str) -> None:
        names = ", ".join(n.name for n in self.touching[c])
        raise FoldingError(
            f"layers {names} share one stream width (lanes per word) but no lane count is legal "
            "for all of them (their channel counts have no common divisor that every one accepts); "
            "fold them by hand with --folding"
        )


def _port_values(cfg, field: str) -> set[int]:
    """Lane counts a layer accepts on one folding field (its config validates them)."""
    dim = getattr(cfg, kind_of(cfg).folds[field].divides)
    ok = set()
    for v in divisors(dim):
        try:
            replace(cfg, **{field: v})
        except ConfigError:
            continue
        ok.add(v)
    return ok


def _folded(cfg, ports: dict[str, str], lanes: dict[str, int]):
    return replace(cfg, **{field: lanes[c] for field, c in ports.items()})


# --- the greedy choice -----------------------------------------------------------------------------
def _choose_lanes(graph: DataflowGraph, classes: LaneClasses, target: int) -> dict[str, int]:
    """Lanes per class, decided in topological order by the first layer touching the class."""
    lanes: dict[str, int] = {}
    for node in graph.topological():
        ports = classes.ports[node.name]
        open_ = list(dict.fromkeys(c for c in ports.values() if c not in lanes))
        if not open_:
            continue
        options = [
            dict(zip(open_, values, strict=True))
            for values in itertools.product(*(classes.legal[c] for c in open_))
        ]
        best = min(options, key=lambda o: _score(ports, classes, {**lanes, **o}, target))
        lanes.update(best)
    return lanes


def _score(ports, classes: LaneClasses, trial: dict[str, int], target: int) -> tuple:
    """Overshoots of every layer touching the node's classes (worst first), then the cost."""
    decided = set(ports.values())
    touched = {n.name: n for c in decided for n in classes.touching[c]}.values()
    optimistic = {c: trial.get(c, values[-1]) for c, values in classes.legal.items()}
    cycles = (
        _folded(n.config, classes.ports[n.name], optimistic).cycles_per_frame for n in touched
    )
    over = sorted((max(0, c - target) for c in cycles), reverse=True)
    values = [trial[c] for c in ports.values()]
    if len(values) == 1:
        return over, values[0]
    s, p = values  # an MVAU: SIMD, then PE
    return over, s * p, abs(s - p), -p, s, p


# --- public API -------------------------------------------------------------------------------------
def auto_fold(graph: DataflowGraph, target_cycles: int) -> DataflowGraph:
    """Fold a chain or residual DAG so that no layer needs more than `target_cycles` per frame.

    Layers that cannot meet the target get the most parallel legal folding the greedy leaves them
    (module docstring) and are named in a `FoldingWarning`."""
    if target_cycles < 1:
        raise FoldingError(f"target cycles per frame must be >= 1, got {target_cycles}")
    g = graph.copy()
    classes = LaneClasses(g)
    lanes = _choose_lanes(g, classes, target_cycles)
    for node in g.nodes:
        node.config = _folded(node.config, classes.ports[node.name], lanes)
    check_lanes(g)
    missed = missed_target(g, target_cycles)
    if missed:
        names = ", ".join(f"{name} ({c})" for name, c in list(missed.items())[:6])
        names += f" and {len(missed) - 6} more" if len(missed) > 6 else ""
        warnings.warn(
            f"no legal folding meets {target_cycles} cycles per frame for {names}; they are "
            "folded as fast as the shared stream widths allow, and the slowest of them sets the "
            "design's cycles per frame",
            FoldingWarning,
            stacklevel=2,
        )
    return g


def missed_target(graph: DataflowGraph, target_cycles: int) -> dict[str, int]:
    """Layers slower than `target_cycles` per frame: {name: cycles}, in topological order."""
    nodes = graph.topological()
    return {n.name: c for n in nodes if (c := n.config.cycles_per_frame) > target_cycles}


def apply_folding(graph: DataflowGraph, folding: dict[str, dict[str, int]]) -> DataflowGraph:
    """Apply an explicit folding map; unknown layer names and mismatched lanes are errors."""
    g = graph.copy()
    names = {n.name for n in g.nodes}
    for name in folding:
        if name not in names:
            raise FoldingError(f"folding names layer {name!r}, which is not in the graph")
    for node in g.nodes:
        if node.name in folding:
            node.config = replace(node.config, **folding[node.name])  # validated on construction
    check_lanes(g)
    return g


def load_folding(path: Path) -> dict[str, dict[str, int]]:
    """Read a folding map {layer: {"simd": s, "pe": p}} from JSON; bad files are FoldingErrors."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise FoldingError(f"cannot read folding file {path}: {e}") from None
    ok = isinstance(data, dict) and all(
        isinstance(v, dict)
        and set(v) <= {"simd", "pe"}
        and all(isinstance(x, int) for x in v.values())
        for v in data.values()
    )
    if not ok:
        raise FoldingError(f'{path}: expected {{"layer": {{"simd": int, "pe": int}}, ...}}')
    return data


def check_lanes(graph: DataflowGraph) -> None:
    """Producer output lanes must equal consumer input lanes on every internal stream."""
    for node in graph.nodes:
        for s in node.inputs:
            prod = graph.producer(s)
            if prod is None:
                continue
            have, want = out_lanes(prod.config), in_lanes(node.config)
            if have != want:
                raise FoldingError(
                    f"{prod.name} emits {have} lanes per word but {node.name} reads {want}; "
                    f"set {node.name}'s {kind_of(node.config).lane_field(INPUTS).upper()} "
                    f"to {have} (no width converter is inserted yet)"
                )


def cycles_per_frame(graph: DataflowGraph) -> int:
    """Steady-state initiation interval of the graph: its slowest layer."""
    return max(n.config.cycles_per_frame for n in graph.nodes)
