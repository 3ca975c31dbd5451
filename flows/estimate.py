"""The estimator over a graph: cycles per frame and LUT/FF/BRAM/DSP/URAM/LUTRAM per layer and
target family, and their totals.

Each kind's model is its record's `estimate(cfg, family)` (flows/layers), built from the memory
and logic mapping rules of the hardware model (flows/hwmodel) that the RTL follows too. Cycles
are exact for the RTL (tests/hw measure them); resources are analytic models whose coefficients
were fitted to out-of-context Yosys synthesis of the RTL in hw/ (docs/hardware.md); the build's
report prints both side by side so the error is always visible.
"""

from __future__ import annotations

from flows.errors import ConfigError
from flows.graph import DataflowGraph
from flows.hwmodel.resources import KEYS, Estimate
from flows.layers import kind_of

__all__ = ["Estimate", "estimate_graph", "estimate_layer", "total"]


def estimate_layer(cfg, family: str) -> Estimate:
    """The kind's estimate of one layer config."""
    kind = kind_of(cfg)
    if kind.estimate is None:
        raise ConfigError(f"{cfg.name}: no estimator for layer kind {kind.name} (not hardware)")
    return kind.estimate(cfg, family)


def estimate_graph(graph: DataflowGraph, family: str) -> dict[str, Estimate]:
    """{layer: Estimate} in topological order. A window or pool config that does not carry its
    element type yet is estimated with its input stream's (`typed_config`; streamlining records
    it, FillInputTypes, a hand-built graph may not have)."""
    return {n.name: estimate_layer(graph.typed_config(n), family) for n in graph.topological()}


def total(estimates: dict[str, Estimate]) -> dict[str, int]:
    """Sums of the resources; `cycles` the slowest layer's (the design's initiation interval)."""
    out = {k: sum(e.as_dict()[k] for e in estimates.values()) for k in KEYS if k != "cycles"}
    out["cycles"] = max(e.cycles for e in estimates.values())
    return out
