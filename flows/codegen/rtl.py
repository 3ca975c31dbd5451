"""Verilog RTL emitters for the hardware layer kinds and the stitched top level (DESIGN.md 2, 3).

Every Verilog body lives in a Jinja2 template under `hw/templates/` (rendered with StrictUndefined);
the widths and memory images that fill them come from `flows.codegen.rtl_kinds`; hand-written
reusable modules live in `hw/lib/` (`lib_sources()`). Generated code is plain Verilog-2005,
lint-clean under Verilator -Wall (unused bits excepted), and compiles in Icarus and Yosys.

Every generated layer is one module named after its node, with the same ports:
`clk`, `rst` (synchronous, active high), `s_axis_tdata/tvalid/tready` in and
`m_axis_tdata/tvalid/tready` out. Words carry lanes per docs/numerics.md section 1 (lane 0 in the
least significant bits); `stream_widths(config)` gives the tdata widths (never padded to bytes).

Pipeline scheme (all kinds): one input-or-replay step per clock; every register of the datapath
advances on a global enable `en`, which is the `s_tready` of a 2-word output FIFO (`stream_fifo`).
That ready is a function of the FIFO's fill count only, so `m_axis_tready` never reaches the
datapath combinationally, and the block sustains one word per clock without back-pressure.

Memory init files: weights, thresholds and affine constants are `$readmemh` files written next to
the module (`<name>_w.mem`, `<name>_t.mem`, `<name>_mul.mem`, `<name>_add.mem`). The generated code
names them **relative** (bare file name), so a generated directory can be moved or copied into a
Vivado project. Run simulators with the generated directory as their working directory (the
cocotb benches in tests/hw do); Yosys resolves a relative `$readmemh` next to the source file.

`emit_stitched` stitches a DAG with one graph input and one graph output: every stream between
two nodes becomes a wire bundle and a `stream_fifo` of `fifo_depth` words (default
DEFAULT_FIFO_DEPTH = 8) from its producer's port to its consumer's port (`rtl_links.port_map`:
DuplicateStreams/AddStreams, InstaThreshold's delayed and statistic outputs, the reuse
InstaPReLU's statistic input). The shortcut link of a residual fork/join pair (the fork a
DuplicateStreams or an InstaThreshold) and the S side stream are deeper, per the deadlock rules of
`rtl_links` (docs/hardware.md). Width converters are future work (FoldingError); several graph
inputs/outputs are refused (UnsupportedPatternError).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from flows.codegen import (
    rtl_insta,
    rtl_insta_prelu,
    rtl_kinds,
    rtl_residual,
    rtl_streams,
    rtl_window,
)
from flows.codegen.render import REPO_ROOT, render, write_mem
from flows.codegen.rtl_kinds import LayerRTL
from flows.codegen.rtl_links import (
    DEFAULT_FIFO_DEPTH,
    MAX_FIFO_DEPTH,
    NODE_WORDS,
    Link,
    node_ports,
    plan_links,
    port_map,
    ports,
    shortcut_words,
    stat_link_words,
)
from flows.errors import ConfigError
from flows.graph import DataflowGraph, Node
from flows.hwmodel.ports import Port
from flows.layers.affine import Affine
from flows.layers.label_select import LabelSelect
from flows.layers.mvau import IntMVAU, XnorMVAU
from flows.layers.pool import MaxPool
from flows.layers.sliding_window import SlidingWindow
from flows.layers.threshold import Threshold

LIB_DIR = REPO_ROOT / "hw" / "lib"
LIB_MODULES = ("stream_fifo.v", "mul_pipe.v")

__all__ = [
    "DEFAULT_FIFO_DEPTH",
    "EMITTERS",
    "MAX_FIFO_DEPTH",
    "NODE_WORDS",
    "Link",
    "Port",
    "emit_layer",
    "emit_stitched",
    "lib_sources",
    "plan_links",
    "port_map",
    "ports",
    "shortcut_words",
    "stat_link_words",
]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Library modules, the top level and (System)Verilog keywords a node must not be named after.
_RESERVED = set(
    "accel_top stream_fifo always assign begin case else end endcase endfunction endgenerate "
    "endmodule for function generate genvar if initial inout input integer localparam module "
    "output parameter reg signed wire logic bit byte int always_ff always_comb interface fork join "
    "table task event".split()
)


def _emit(build: Callable[[Node], LayerRTL], node: Node, outdir: Path) -> list[Path]:
    layer = build(node)
    files = [render(layer.template, outdir / f"{node.name}.v", layer.context)]
    for name, (words, width) in layer.memories.items():
        files.append(write_mem(outdir / name, words, width))
    for _, write in layer.submodules:
        files += write(outdir)
    return files


BUILDERS: dict[type, Callable[[Node], LayerRTL]] = {
    XnorMVAU: rtl_kinds.mvau,
    IntMVAU: rtl_kinds.mvau,
    Threshold: rtl_kinds.threshold,
    Affine: rtl_kinds.affine,
    LabelSelect: rtl_kinds.label_select,
    rtl_insta.InstaThreshold: rtl_insta.insta_threshold,
    rtl_insta_prelu.InstaPReLU: rtl_insta_prelu.insta_prelu,
    rtl_streams.DuplicateStreams: rtl_streams.duplicate_streams,
    rtl_streams.AddStreams: rtl_streams.add_streams,
    SlidingWindow: rtl_window.sliding_window,
    MaxPool: rtl_window.max_pool,
    rtl_residual.RPReLU: rtl_residual.rprelu,
    rtl_residual.AvgPool: rtl_residual.avg_pool,
    rtl_residual.GlobalAvgPool: rtl_residual.global_avg_pool,
}
EMITTERS: dict[type, Callable[[Node, Path], list[Path]]] = {
    kind: functools.partial(_emit, build) for kind, build in BUILDERS.items()
}


def stream_widths(config: object) -> tuple[int, int]:
    """tdata widths (input, output) in bits: lanes x element bits, at least 1, never byte-padded."""
    i, o = ports(config)
    return i.bits, o.bits


def _check_name(name: str) -> None:
    if not _IDENT.match(name) or name in _RESERVED:
        raise ConfigError(
            f"layer name {name!r} is not usable as a Verilog module name; rename the node to "
            "letters, digits and '_' (not starting with a digit, not a keyword or a library module)"
        )


def emit_layer(node: Node, outdir: Path) -> list[Path]:
    """Write `<node.name>.v` (module `node.name`) and its memory init files; return the paths."""
    emitter = EMITTERS.get(type(node.config))
    if emitter is None:
        ports(node.config)  # raises the ConfigError that names the supported kinds
    _check_name(node.name)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    return emitter(node, outdir)


def module_files(node: Node) -> list[str]:
    """The Verilog files `emit_layer` writes for a node: `<name>.v` and its sub-blocks'."""
    build = BUILDERS.get(type(node.config))
    if build is None:
        ports(node.config)  # raises the ConfigError that names the supported kinds
    return [f"{node.name}.v"] + [f"{m}.v" for m, _ in build(node).submodules]


def lib_sources() -> list[Path]:
    """The hand-written library modules (hw/lib) that generated code instantiates."""
    return [LIB_DIR / m for m in LIB_MODULES]


# --- stitching (link planning in flows.codegen.rtl_links) ---------------------------------------
def _signal(n: Node, port: str) -> str:
    """Wire-bundle prefix of a node port: `<node>_in`, `<node>_out`, `<node>_in_a`, `<node>_out_0`,
    `<node>_out_delay`, `<node>_in_stat`."""
    return f"{n.name}_{port.replace('s_axis', 'in').replace('m_axis', 'out')}"


def emit_stitched(
    graph: DataflowGraph,
    outdir: Path,
    fifo_depth: int = DEFAULT_FIFO_DEPTH,
    depths: Mapping[str, int] | None = None,
) -> Path:
    """Write every layer plus `accel_top.v`: each stream a wire bundle and a `fifo_depth`-word
    FIFO (the shortcut of a fork/join pair and the S side stream deeper, see `plan_links`)
    between its ports; `depths` ({stream: words}) overrides single links (tests).

    Returns the path of accel_top.v; the layer files and memory init files sit next to it and
    `lib_sources()` completes the source list.
    """
    if not 2 <= fifo_depth <= MAX_FIFO_DEPTH:
        raise ConfigError(
            f"fifo_depth={fifo_depth} must be in 2..{MAX_FIFO_DEPTH}: a one-word FIFO cannot "
            "accept and deliver in the same cycle (half throughput)"
        )
    graph.hardware_ready()
    links = plan_links(graph, fifo_depth, depths)
    order = graph.topological()
    outdir = Path(outdir)
    for n in order:
        emit_layer(n, outdir)
    into: dict[str, list[Link]] = {n.name: [] for n in order}
    for lk in links:
        if lk.src is not None and lk.dst is not None:
            into[lk.dst.name].append(lk)
    labels: dict[str, int] = {}
    layers = []
    for n in order:
        ins, outs = node_ports(n)
        in_w, out_w = stream_widths(n.config)
        fifos = []
        for lk in into[n.name]:
            label = f"{lk.src.name}_{n.name}"
            labels[label] = labels.get(label, 0) + 1
            if labels[label] > 1:
                label += f"_{labels[label] - 1}"
            fifos.append(
                {
                    "label": label,
                    "width": lk.width,
                    "depth": lk.depth,
                    "src": _signal(lk.src, lk.src_port),
                    "dst": _signal(n, lk.dst_port),
                    "shortcut": lk.shortcut_words,
                    "side": lk.dst_port.endswith("_stat"),
                }
            )
        layers.append(
            {
                "name": n.name,
                "kind": n.kind,
                "in_w": in_w,
                "out_w": out_w,
                "wires": [(_signal(n, k), p.bits) for _, k, p in ins + outs],
                "ports": [(k, _signal(n, k)) for _, k, _ in ins + outs],
                "fifos": fifos,
            }
        )
    first, last = links[0], links[-1]
    linear = all(len(n.inputs) == len(n.outputs) == 1 for n in order)
    ctx = {
        "layers": layers,
        "fifo_depth": fifo_depth,
        "linear": linear,
        "in_w": first.width,
        "out_w": last.width,
        "in_sig": _signal(first.dst, first.dst_port),
        "out_sig": _signal(last.src, last.src_port),
    }
    return render("accel_top.v.j2", outdir / "accel_top.v", ctx)
