"""The per-layer report: kind, shapes, element types, folding, parameter bits, estimator figures.

`layer_report(graph, family)` gives one row per layer (what the build saves as graph.json);
`format_table(rows)` prints them as an aligned markdown table with a totals row (report.md and
the console at `make report`). Generic over every registered kind: parameter widths come from the
config's DataType fields, estimates from `flows.estimate` for the kinds that have an estimator.
"""

from __future__ import annotations

import numpy as np

from flows import estimate
from flows.datatypes import BIPOLAR, DataType
from flows.graph import DataflowGraph, Node
from flows.graph_onnx import param_array
from flows.hwmodel.ranges import smallest_type
from flows.layers import kind_of
from flows.layers.registry import INPUTS, OUTPUTS

# Parameter name -> the config field holding its element type, where the name does not say it
# (`mul` -> `mul_type`, `mu` -> `mu_type` need no entry). INSTA: docs/numerics.md section 8.
PARAM_TYPE_FIELDS = {
    "weights": "weight_type",
    "thresholds": "threshold_type",
    "A": "offset_type",
    "M": "mantissa_type",
}
# Parameters whose element type is fixed by their meaning.
PARAM_TYPES = {"sign": BIPOLAR}

ESTIMATE_KEYS = ("cycles", "LUT", "FF", "BRAM", "DSP", "URAM", "LUTRAM")
COLUMNS = (
    ("layer", "name"),
    ("kind", "kind"),
    ("in shape", "in_shape"),
    ("out shape", "out_shape"),
    ("in type", "in_type"),
    ("out type", "out_type"),
    ("SIMD", "simd"),
    ("PE", "pe"),
    ("param bits", "param_bits"),
    *((k, k) for k in ESTIMATE_KEYS),
)


def _lanes(cfg) -> dict[str, int | None]:
    """SIMD: the input lanes where a field of their own sets them (MVAU `simd`, a width
    converter's `in_lanes`); PE: the output lanes, or the one field that folds the kind."""
    kind = kind_of(cfg)
    fi, fo = kind.lane_field(INPUTS), kind.lane_field(OUTPUTS)
    if fo is None:
        fo, fi = fi, None
    return {
        "simd": getattr(cfg, fi, None) if fi and fi != fo else None,
        "pe": getattr(cfg, fo, None) if fo else None,
    }


def layer_report(graph: DataflowGraph, family: str) -> list[dict]:
    """One row per layer in topological order; estimator figures are None for kinds without one."""
    est = _estimates(graph, family)
    rows = []
    for n in graph.topological():
        ins = [graph.streams[s] for s in n.inputs]
        outs = [graph.streams[s] for s in n.outputs]
        rows.append(
            {
                "name": n.name,
                "kind": n.kind,
                "inputs": list(n.inputs),
                "outputs": list(n.outputs),
                "in_shape": [list(s.shape) for s in ins],
                "out_shape": [list(s.shape) for s in outs],
                "in_type": [_type_name(s.dtype) for s in ins],
                "out_type": [_type_name(s.dtype) for s in outs],
                **_lanes(n.config),
                "param_bits": param_bits(n),
                **_figures(n, est),
            }
        )
    return rows


def _estimates(graph: DataflowGraph, family: str) -> dict[str, estimate.Estimate]:
    """estimate_graph over the layers that have an estimator (a transient kind has none).

    Every stream is an input of the view, so the layers need no producers in it."""
    view = DataflowGraph(list(graph.streams.values()), [])
    view.nodes = [n for n in graph.nodes if kind_of(n.config).estimate is not None]
    return estimate.estimate_graph(view, family)


def _figures(n: Node, est: dict[str, estimate.Estimate]) -> dict:
    """The estimator's figures; for a kind without an estimator its cycles, if its config knows."""
    if n.name in est:
        return est[n.name].as_dict()
    cycles = getattr(n.config, "cycles_per_frame", None)
    return {k: None for k in ESTIMATE_KEYS} | {"cycles": cycles}


def _type_name(t: DataType | None) -> str:
    return t.name if t is not None else "float"


def param_bits(n: Node) -> int:
    """Bits of every numeric parameter of the layer at its element type's width (an importer's
    notes, such as a DataType, are not parameters of the hardware)."""
    arrays = ((k, param_array(v)) for k, v in n.params.items())
    return sum(a.size * param_width(n.config, k, a) for k, a in arrays if a is not None)


def param_width(cfg, key: str, values) -> int:
    """The element width of parameter `key`: the config's DataType for it if it has one, else
    the narrowest integer type of the values, else the width the values are stored in."""
    t = PARAM_TYPES.get(key) or getattr(cfg, PARAM_TYPE_FIELDS.get(key, f"{key}_type"), None)
    if isinstance(t, DataType):
        return t.bits
    a = np.asarray(values)
    if a.size == 0:
        return 0
    if a.dtype.kind in "iub" or (
        a.dtype.kind == "f" and np.all(np.isfinite(a) & (a == np.round(a)))
    ):
        return smallest_type(int(a.min()), int(a.max())).bits
    return a.dtype.itemsize * 8


# --- the table ------------------------------------------------------------------------------------
def format_table(rows: list[dict]) -> str:
    """An aligned markdown table of `layer_report` rows with a totals row (cycles: the slowest
    layer, which is the design's initiation interval; the rest: sums)."""
    body = [[_cell(r[key]) for _, key in COLUMNS] for r in rows]
    table = [[h for h, _ in COLUMNS], *body, _totals(rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    numeric = {
        i for i, (_, k) in enumerate(COLUMNS) if k in ("simd", "pe", "param_bits", *ESTIMATE_KEYS)
    }

    def line(cells: list[str]) -> str:
        padded = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * (w - 1) + ":" if i in numeric else "-" * w for i, w in enumerate(widths)]
    return "\n".join([line(table[0]), line(rule), *(line(r) for r in table[1:])]) + "\n"


def _totals(rows: list[dict]) -> list[str]:
    sums = {"name": "total", "param_bits": sum(r["param_bits"] for r in rows)}
    for k in ESTIMATE_KEYS:
        values = [r[k] for r in rows if r[k] is not None]
        if values:
            sums[k] = f"max {max(values)}" if k == "cycles" else sum(values)
    return [_cell(sums.get(key)) for _, key in COLUMNS]


def _cell(value) -> str:
    """None -> "-", a list of (vectors, channels) shapes -> "1x64, 1x64", a list -> "a, b"."""
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join("x".join(map(str, v)) if isinstance(v, list) else _cell(v) for v in value)
    return str(value)


def dram_section(use, clock_mhz: float, chip: str, sustained: float) -> str:
    """report.md's external-memory section: every DRAM buffer and weight region with its bytes per
    frame, the total, the DRAM-bound cycles per frame and the frames/s that allows (docs/dram.md).
    `use` is a `memtier.DramUse`."""
    rows = [
        {"layer": b.layer, "what": "weights" if b.kind == "region" else f"{b.port} FIFO",
         "width": b.width, "words": b.words, "reads/frame": b.reads_per_frame,
         "bytes/frame": b.bytes_per_frame}
        for b in use.buffers
    ]  # fmt: skip
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_cell(r[k]) for k in keys) + " |" for r in rows]
    fps = use.fps(clock_mhz)
    return "\n".join([
        f"## External memory ({chip}, sustained {sustained:.2f} of the peak)", "",
        *lines, "",
        f"{use.bytes_per_frame:,} bytes per frame: DRAM-bound at {use.cycles:,} cycles per frame, "
        f"{fps:.1f} frames/s at {clock_mhz:g} MHz.",
    ])  # fmt: skip
