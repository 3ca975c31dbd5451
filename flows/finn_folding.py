"""FINN folding configuration files: read them onto this flow's layers, write them from a folded
graph (docs/flow.md, "FINN folding files").

FINN's format is a JSON object: per node `"<op type>_<index>": {"PE": p, "SIMD": s, "ram_style":
..., "resType": ..., "mem_mode": ...}` and an optional `"Defaults": {attribute: [value, [op types
or "all"]]}` applied to every node of those op types before the node's own entries.

**The mapping rule.** A FINN node name is `<op>_<index>`; the op, without a backend or batch
suffix (`_hls`, `_rtl`, `_Batch`), names a family of this flow's kinds (`FAMILIES`), and index i
is the i-th node of that family in topological order (width converters are never counted: FINN's
StreamingDataWidthConverter entries are skipped, this flow inserts its own). So
`MatrixVectorActivation_3`, `MVAU_hls_3` and `StreamingFCLayer_Batch_3` all name the fourth MVAU
(XnorMVAU or IntMVAU). Kinds without a FINN counterpart (the INSTA blocks, RPReLU, the pools other
than max pooling) use their own kind name as the op: `InstaThreshold_0`.

Attributes:

* `PE`, `SIMD`: the kind's folding fields. An MVAU takes both; a SlidingWindow
  (ConvolutionInputGenerator) reads FINN's `SIMD` (input channels per cycle) as its `pe`; every
  other kind takes `PE`. A value the layer cannot take is the layer's own FoldingError.
* `resType`: "dsp" / "lut" is an IntMVAU's `mult_style`; "auto" leaves the flow's choice;
  ignored on kinds without multipliers (as FINN does for binary layers).
* `mem_mode`: weights on chip ("const", "decoupled", "internal_embedded", "internal_decoupled")
  are what this flow builds; "external" is refused (no external weight port yet).
* `ram_style`: an MVAU's weight memory, "block" (block RAM), "distributed" (LUTs) or "auto"
  (the size rule of docs/flow.md, Estimator); "ultra" is refused (UltraRAM cannot be initialised
  by the bitstream).

`write_finn_folding` writes every node with its fields, `resType`, `mem_mode` and the `ram_style`
it was built with, under the generic FINN op names (`MVAU_i`, `Thresholding_i`,
`ConvolutionInputGenerator_i`, ...): reading the file back gives the same folding.
"""

from __future__ import annotations

import json
from pathlib import Path

from flows.artifacts import write_json
from flows.errors import FoldingError
from flows.folding import apply_folding, strip_width_converters
from flows.graph import DataflowGraph, Node

# FINN op (no suffix) -> this flow's kinds; the first op is the one written.
FAMILIES: dict[str, tuple[str, ...]] = {
    "MVAU": ("XnorMVAU", "IntMVAU"),
    "Thresholding": ("Threshold",),
    "ConvolutionInputGenerator": ("SlidingWindow",),
    "StreamingMaxPool": ("MaxPool",),
    "LabelSelect": ("LabelSelect",),
    "ChannelwiseOp": ("Affine",),
    "AddStreams": ("AddStreams",),
    "DuplicateStreams": ("DuplicateStreams",),
}
ALIASES = {"MatrixVectorActivation": "MVAU", "StreamingFCLayer": "MVAU"}
SKIPPED = ("StreamingDataWidthConverter", "StreamingFIFO")
SUFFIXES = ("_hls", "_rtl", "_Batch")
ON_CHIP = ("const", "decoupled", "internal_embedded", "internal_decoupled")
ATTRIBUTES = ("PE", "SIMD", "ram_style", "resType", "mem_mode")


def _family_of_kind(kind: str) -> str:
    return next((op for op, kinds in FAMILIES.items() if kind in kinds), kind)


def _split(name: str) -> tuple[str, int]:
    """`MVAU_hls_3` -> ("MVAU", 3); FoldingError if there is no index."""
    op, _, index = name.rpartition("_")
    if not op or not index.isdigit():
        raise FoldingError(
            f"FINN folding entry {name!r}: expected <op type>_<index>, e.g. MVAU_hls_0"
        )
    return _op(op), int(index)


def _families(graph: DataflowGraph) -> dict[str, list[Node]]:
    """{FINN op: its nodes in topological order} (width converters left out)."""
    out: dict[str, list[Node]] = {}
    for n in strip_width_converters(graph).topological():
        out.setdefault(_family_of_kind(n.kind), []).append(n)
    return out


def _node_fields(node: Node, attrs: dict, name: str) -> dict:
    """The config changes one FINN entry asks of `node` (module docstring)."""
    cfg, changes = node.config, {}
    unknown = set(attrs) - set(ATTRIBUTES)
    if unknown:
        raise FoldingError(
            f"FINN folding entry {name}: unknown attribute(s) {sorted(unknown)}; this flow reads "
            f"{', '.join(ATTRIBUTES)}"
        )
    for key in ("PE", "SIMD"):
        if key not in attrs:
            continue
        v = attrs[key]
        if not isinstance(v, int) or isinstance(v, bool):
            raise FoldingError(f"FINN folding entry {name}: {key} must be an integer, got {v!r}")
        if node.kind == "SlidingWindow":
            field = "pe" if key == "SIMD" else None  # FINN's SWG folds input channels by SIMD
        else:
            field = key.lower() if hasattr(cfg, key.lower()) else None
        if field is None:
            raise FoldingError(
                f"FINN folding entry {name} ({node.name}, a {node.kind}) has no {key}; "
                f"{'use SIMD' if node.kind == 'SlidingWindow' else 'use PE'}"
            )
        changes[field] = v
    res = attrs.get("resType", "auto")
    if res not in ("auto", "dsp", "lut"):
        raise FoldingError(f"FINN folding entry {name}: resType {res!r}; one of auto, dsp, lut")
    if res != "auto" and hasattr(cfg, "mult_style"):
        changes["mult_style"] = res
    mode = attrs.get("mem_mode", "const")
    if mode not in ON_CHIP:
        raise FoldingError(
            f"FINN folding entry {name}: mem_mode {mode!r} puts the weights off chip, which this "
            f"flow does not build yet; use one of {', '.join(ON_CHIP)}"
        )
    style = attrs.get("ram_style", "auto")
    if style not in ("auto", "block", "distributed"):
        raise FoldingError(
            f"FINN folding entry {name}: ram_style {style!r}; this flow builds weight memories "
            "in block RAM or LUTs ('auto', 'block', 'distributed'); UltraRAM cannot be "
            "initialised by the bitstream, so weights never go there"
        )
    if style != "auto":
        if not hasattr(cfg, "ram_style"):
            raise FoldingError(
                f"FINN folding entry {name} ({node.name}, a {node.kind}) has no weight memory "
                "whose ram_style could be set; remove the key"
            )
        changes["ram_style"] = style
    return changes


def _ram_style(cfg) -> str:
    """The weight memory style of an MVAU as built ("block" or "distributed")."""
    return "block" if cfg.weight_rom_style == "block" else "distributed"


def read_finn_folding(graph: DataflowGraph, data: dict) -> DataflowGraph:
    """`graph` folded as the FINN folding configuration `data` says (module docstring), with
    this flow's width converters where lanes differ."""
    if not isinstance(data, dict):
        raise FoldingError("a FINN folding configuration is a JSON object of node entries")
    families = _families(graph)
    defaults = _defaults(data.get("Defaults", {}))
    folding: dict[str, dict] = {}
    for name, attrs in data.items():
        if name == "Defaults":
            continue
        if not isinstance(attrs, dict):
            raise FoldingError(f"FINN folding entry {name}: expected an object of attributes")
        op, index = _split(name)
        if op in SKIPPED:
            continue
        nodes = families.get(op, [])
        if index >= len(nodes):
            raise FoldingError(
                f"FINN folding entry {name}: the graph has {len(nodes)} {op} node(s) "
                f"({', '.join(FAMILIES.get(op, (op,)))}), so no index {index}"
            )
        node = nodes[index]
        merged = {
            key: value
            for key, (value, ops) in defaults.items()
            if "all" in ops or op in {_op(o) for o in ops}
        } | attrs
        folding[node.name] = _node_fields(node, merged, name)
    return apply_folding(graph, folding)


def _op(op: str) -> str:
    """A FINN op type as this module's family key: `MVAU_hls` and `MatrixVectorActivation` ->
    `MVAU` (backend and batch suffixes dropped, older names aliased)."""
    for suffix in SUFFIXES:
        op = op.removesuffix(suffix)
    return ALIASES.get(op, op)


def _defaults(defaults) -> dict[str, tuple[object, list[str]]]:
    if not isinstance(defaults, dict) or not all(
        isinstance(v, list) and len(v) == 2 and isinstance(v[1], list) for v in defaults.values()
    ):
        raise FoldingError(
            'FINN folding "Defaults": expected {attribute: [value, [op types or "all"]]}'
        )
    return {k: (v[0], v[1]) for k, v in defaults.items()}


def finn_folding(graph: DataflowGraph) -> dict:
    """The FINN folding configuration of a folded graph (module docstring)."""
    out: dict = {"Defaults": {}}
    for op, nodes in _families(graph).items():
        for i, n in enumerate(nodes):
            cfg, entry = n.config, {}
            if n.kind == "SlidingWindow":
                entry["SIMD"] = cfg.pe
            else:
                if hasattr(cfg, "simd"):
                    entry["SIMD"] = cfg.simd
                if hasattr(cfg, "pe"):
                    entry["PE"] = cfg.pe
            if hasattr(cfg, "mult_style"):
                entry["resType"] = cfg.mult_style
            if hasattr(cfg, "weight_type"):
                entry["mem_mode"] = "internal_embedded"
                entry["ram_style"] = _ram_style(cfg)
            out[f"{op}_{i}"] = entry
    return out


def write_finn_folding(graph: DataflowGraph, path: Path) -> Path:
    return write_json(Path(path), finn_folding(graph))


def load_finn_folding(graph: DataflowGraph, path: Path) -> DataflowGraph:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise FoldingError(f"cannot read FINN folding file {path}: {e}") from None
    return read_finn_folding(graph, data)
