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

`emit_stitched` chains a linear graph with a `stream_fifo` of `fifo_depth` words (default
DEFAULT_FIFO_DEPTH = 8) between consecutive layers. Stitching forks and joins (their RTL is in
rtl_streams) and width converters are future work and are refused with UnsupportedPatternError /
FoldingError.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

import jinja2

from flows.codegen import rtl_insta, rtl_kinds, rtl_streams, rtl_window
from flows.codegen.rtl_kinds import LayerRTL, Port, ports
from flows.errors import ConfigError, FoldingError, UnsupportedPatternError
from flows.graph import DataflowGraph, Node
from flows.layers.affine import Affine
from flows.layers.label_select import LabelSelect
from flows.layers.mvau import IntMVAU, XnorMVAU
from flows.layers.pool import MaxPool
from flows.layers.sliding_window import SlidingWindow
from flows.layers.threshold import Threshold

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = REPO_ROOT / "hw" / "templates"
LIB_DIR = REPO_ROOT / "hw" / "lib"
LIB_MODULES = ("stream_fifo.v",)
# Words of FIFO between two stitched layers: absorbs an MVAU's bursts (it reads SF words, then
# replays them for NF - 1 groups) at the price of a few LUT RAM words per link.
DEFAULT_FIFO_DEPTH = 8
MAX_FIFO_DEPTH = 4096

__all__ = ["EMITTERS", "Port", "emit_layer", "emit_stitched", "lib_sources", "ports"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Library modules, the top level and (System)Verilog keywords a node must not be named after.
_RESERVED = set(
    "accel_top stream_fifo always assign begin case else end endcase endfunction endgenerate "
    "endmodule for function generate genvar if initial inout input integer localparam module "
    "output parameter reg signed wire logic bit byte int always_ff always_comb interface".split()
)


# --- one-line fragments for the templates --------------------------------------------------------
def _ext(sig: str, frm: int, to: int, signed: bool) -> str:
    """`sig` (a plain wire of `frm` bits) sign/zero-extended or truncated to `to` bits."""
    if to == frm:
        return sig
    if to < frm:
        return f"{sig}[{to - 1}:0]"
    fill = f"{sig}[{frm - 1}]" if signed else "1'b0"
    return f"{{{{{to - frm}{{{fill}}}}}, {sig}}}"


def _lit(value: int, bits: int) -> str:
    return f"{bits}'d{value}"


def _index(sig: str, depth: int) -> str:
    """Address of a memory of `depth` words (a 1-word memory takes the constant 0)."""
    return sig if depth > 1 else "0"


_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.globals.update(ext=_ext, lit=_lit, index=_index)


def _render(template: str, path: Path, ctx: dict) -> Path:
    path.write_text(_ENV.get_template(template).render(**ctx))
    return path


def _write_mem(path: Path, words: list[int], width: int) -> Path:
    digits = (width + 3) // 4
    path.write_text("".join(f"{w:0{digits}x}\n" for w in words))
    return path


def _emit(build: Callable[[Node], LayerRTL], node: Node, outdir: Path) -> list[Path]:
    layer = build(node)
    files = [_render(layer.template, outdir / f"{node.name}.v", layer.context)]
    for name, (words, width) in layer.memories.items():
        files.append(_write_mem(outdir / name, words, width))
    return files


EMITTERS: dict[type, Callable[[Node, Path], list[Path]]] = {
    XnorMVAU: functools.partial(_emit, rtl_kinds.mvau),
    IntMVAU: functools.partial(_emit, rtl_kinds.mvau),
    Threshold: functools.partial(_emit, rtl_kinds.threshold),
    Affine: functools.partial(_emit, rtl_kinds.affine),
    LabelSelect: functools.partial(_emit, rtl_kinds.label_select),
    rtl_insta.InstaThreshold: functools.partial(_emit, rtl_insta.insta_threshold),
    rtl_streams.DuplicateStreams: functools.partial(_emit, rtl_streams.duplicate_streams),
    rtl_streams.AddStreams: functools.partial(_emit, rtl_streams.add_streams),
    SlidingWindow: functools.partial(_emit, rtl_window.sliding_window),
    MaxPool: functools.partial(_emit, rtl_window.max_pool),
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


def lib_sources() -> list[Path]:
    """The hand-written library modules (hw/lib) that generated code instantiates."""
    return [LIB_DIR / m for m in LIB_MODULES]


# --- stitching -----------------------------------------------------------------------------------
def _linear_chain(graph: DataflowGraph) -> list[Node]:
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise UnsupportedPatternError(
            f"emit_stitched needs one graph input and one output, got {len(graph.inputs)} and "
            f"{len(graph.outputs)}; multi-stream top levels are future work"
        )
    order = graph.topological()
    if not order:
        raise UnsupportedPatternError("emit_stitched: the graph has no nodes")
    stream = graph.inputs[0]
    for n in order:
        users = graph.consumers(stream)
        if len(n.inputs) != 1 or len(n.outputs) != 1 or len(users) != 1 or n.inputs[0] != stream:
            raise UnsupportedPatternError(
                f"emit_stitched handles a linear chain only; at {n.name} (stream {stream!r}) the "
                "graph forks or joins, which needs DuplicateStreams/AddStreams RTL (future work)"
            )
        stream = n.outputs[0]
    if stream != graph.outputs[0] or graph.consumers(stream):
        raise UnsupportedPatternError(
            f"emit_stitched: the chain ends at {stream!r}, not at the graph output "
            f"{graph.outputs[0]!r}"
        )
    return order


def _check_link(a: Node, b: Node) -> None:
    out, inp = ports(a.config)[1], ports(b.config)[0]
    if out.lanes != inp.lanes:
        fold = "simd" if isinstance(b.config, XnorMVAU | IntMVAU) else "pe"
        raise FoldingError(
            f"{a.name} -> {b.name}: {a.name} writes {out.lanes} lanes per word (PE={out.lanes}) "
            f"but {b.name} reads {inp.lanes} ({fold.upper()}={inp.lanes}); set {b.name}.{fold} = "
            f"{out.lanes} or {a.name}.pe = {inp.lanes} (a stream width converter is future work)"
        )
    if out.dtype != inp.dtype:
        raise ConfigError(
            f"{a.name} -> {b.name}: {a.name} produces {out.dtype} but {b.name} reads "
            f"{inp.dtype}; the element types of a link must be equal"
        )
    produced = getattr(a.config, "out_vectors", a.config.num_vectors)  # windows, pools
    if (out.channels, produced) != (inp.channels, b.config.num_vectors):
        raise ConfigError(
            f"{a.name} -> {b.name}: {a.name} produces {produced} x {out.channels} "
            f"per frame but {b.name} expects {b.config.num_vectors} x {inp.channels}"
        )


def emit_stitched(graph: DataflowGraph, outdir: Path, fifo_depth: int = DEFAULT_FIFO_DEPTH) -> Path:
    """Write every layer plus `accel_top.v`, the chain joined by `fifo_depth`-word FIFOs.

    Returns the path of accel_top.v; the layer files and memory init files sit next to it and
    `lib_sources()` completes the source list.
    """
    if not 2 <= fifo_depth <= MAX_FIFO_DEPTH:
        raise ConfigError(
            f"fifo_depth={fifo_depth} must be in 2..{MAX_FIFO_DEPTH}: a one-word FIFO cannot "
            "accept and deliver in the same cycle (half throughput)"
        )
    graph.hardware_ready()
    chain = _linear_chain(graph)
    names = [n.name for n in chain]
    if len(set(names)) != len(names):
        raise ConfigError(f"emit_stitched: node names must be unique, got {names}")
    for a, b in zip(chain, chain[1:], strict=False):
        _check_link(a, b)
    outdir = Path(outdir)
    for n in chain:
        emit_layer(n, outdir)
    layers = []
    for n in chain:
        in_w, out_w = stream_widths(n.config)
        layers.append({"name": n.name, "kind": n.kind, "in_w": in_w, "out_w": out_w})
    return _render(
        "accel_top.v.j2", outdir / "accel_top.v", {"layers": layers, "fifo_depth": fifo_depth}
    )
