"""Folding: how many input elements (SIMD) and output channels (PE) each layer handles per cycle.

Stream words between two layers must have the same number of lanes (producer PE = consumer
SIMD/PE; no width converter yet), so folding is chosen along the chain. `auto_fold` picks, for a
target number of cycles per frame, the cheapest folding that meets it; `apply_folding` applies an
explicit {layer: {"simd": s, "pe": p}} map and checks it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from flows.errors import FoldingError
from flows.graph import DataflowGraph
from flows.layers import IntMVAU, MaxPool, SlidingWindow, XnorMVAU

MVAUS = (XnorMVAU, IntMVAU)
WINDOWS = (SlidingWindow, MaxPool)  # PE = channels per word, in and out


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def in_lanes(cfg) -> int:
    return cfg.simd if isinstance(cfg, MVAUS) else cfg.pe


def out_lanes(cfg) -> int:
    return 1 if type(cfg).__name__ == "LabelSelect" else cfg.pe


def _mvau_choice(cfg, simd_fixed: int | None, target: int) -> tuple[int, int]:
    """Smallest SIMD*PE meeting `target` cycles (balanced on ties); the fastest if none does."""
    simds = [simd_fixed] if simd_fixed else divisors(cfg.mw)
    options = []
    for s in simds:
        for p in divisors(cfg.mh):
            cycles = cfg.num_vectors * (cfg.mw // s) * (cfg.mh // p)
            cost = s * p if cycles <= target else cycles  # none meets it: the fastest
            options.append((cycles > target, cost, abs(s - p), -p, s, p))
    best = min(options)
    return best[4], best[5]


def _window_choice(cfg, target: int):
    """Smallest PE (a divisor of the channels) meeting `target` cycles; the fastest if none does."""
    options = [replace(cfg, pe=p) for p in divisors(cfg.channels)]
    meeting = [o for o in options if o.cycles_per_frame <= target]
    return meeting[0] if meeting else options[-1]


def auto_fold(graph: DataflowGraph, target_cycles: int) -> DataflowGraph:
    """Fold a single-chain graph so that no layer needs more than `target_cycles` per frame."""
    forks = [n.name for n in graph.nodes if len(n.inputs) > 1 or len(n.outputs) > 1]
    if forks:
        raise FoldingError(
            f"automatic folding handles single-chain graphs; this one forks or joins at "
            f"{', '.join(forks[:3])}{' ...' if len(forks) > 3 else ''} (a residual DAG): "
            "residual folding is not implemented yet, build with --until agreement"
        )
    g = graph.copy()
    lanes: int | None = None
    for node in g.topological():
        cfg = node.config
        if isinstance(cfg, MVAUS):
            if lanes is not None and cfg.mw % lanes:
                raise FoldingError(f"{cfg.name}: incoming {lanes} lanes do not divide mw={cfg.mw}")
            simd, pe = _mvau_choice(cfg, lanes, target_cycles)
            node.config = replace(cfg, simd=simd, pe=pe)
            lanes = pe
        elif isinstance(cfg, WINDOWS) and lanes is None:  # on the graph input: free to choose
            node.config = _window_choice(cfg, target_cycles)
            lanes = node.config.pe
        elif hasattr(cfg, "pe"):
            node.config = replace(cfg, pe=lanes or 1)
            lanes = out_lanes(node.config)
    check_lanes(g)
    return g


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
                    f"set {node.name}'s {'SIMD' if isinstance(node.config, MVAUS) else 'PE'} "
                    f"to {have} (no width converter is inserted yet)"
                )


def cycles_per_frame(graph: DataflowGraph) -> int:
    """Steady-state initiation interval of the chain: its slowest layer."""
    return max(n.config.cycles_per_frame for n in graph.nodes)
