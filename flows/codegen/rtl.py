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
DEFAULT_FIFO_DEPTH = 8) from its producer's port to its consumer's port (port names of
`rtl_streams.stream_ports` for DuplicateStreams/AddStreams). The shortcut link of a residual
fork/join pair is deeper, per the deadlock rule (`shortcut_words`). Width converters are future
work (FoldingError); several graph inputs/outputs are refused (UnsupportedPatternError).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2

from flows.codegen import (
    rtl_insta,
    rtl_insta_prelu,
    rtl_kinds,
    rtl_residual,
    rtl_streams,
    rtl_window,
)
from flows.codegen.rtl_kinds import LayerRTL, Port
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

# Words a layer can hold besides its input buffer: its pipeline registers plus its 2-word output
# skid FIFO ("a few words"; an MVAU adds its popcount stages).
NODE_WORDS = 8

__all__ = [
    "EMITTERS",
    "Link",
    "Port",
    "emit_layer",
    "emit_stitched",
    "lib_sources",
    "plan_links",
    "ports",
    "shortcut_words",
]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Library modules, the top level and (System)Verilog keywords a node must not be named after.
_RESERVED = set(
    "accel_top stream_fifo always assign begin case else end endcase endfunction endgenerate "
    "endmodule for function generate genvar if initial inout input integer localparam module "
    "output parameter reg signed wire logic bit byte int always_ff always_comb interface fork join "
    "table task event".split()
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
    rtl_insta_prelu.InstaPReLU: functools.partial(_emit, rtl_insta_prelu.insta_prelu),
    rtl_streams.DuplicateStreams: functools.partial(_emit, rtl_streams.duplicate_streams),
    rtl_streams.AddStreams: functools.partial(_emit, rtl_streams.add_streams),
    SlidingWindow: functools.partial(_emit, rtl_window.sliding_window),
    MaxPool: functools.partial(_emit, rtl_window.max_pool),
    rtl_residual.RPReLU: functools.partial(_emit, rtl_residual.rprelu),
    rtl_residual.AvgPool: functools.partial(_emit, rtl_residual.avg_pool),
    rtl_residual.GlobalAvgPool: functools.partial(_emit, rtl_residual.global_avg_pool),
}


def ports(config: object) -> tuple[Port, Port]:
    """(input, output) Port of a layer config; for DuplicateStreams/AddStreams the first input
    and the first output port of `rtl_streams.stream_ports`. ConfigError for other kinds."""
    if isinstance(config, rtl_streams.DuplicateStreams | rtl_streams.AddStreams):
        ins, outs = rtl_streams.stream_ports(config)
        return next(iter(ins.values())), next(iter(outs.values()))
    return rtl_kinds.ports(config)


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
_STREAM_KINDS = (rtl_streams.DuplicateStreams, rtl_streams.AddStreams)


def _node_ports(n: Node) -> tuple[list[tuple[str, str, Port]], list[tuple[str, str, Port]]]:
    """([(stream, port prefix, Port)] of the inputs, same of the outputs) in the node's order."""
    if isinstance(n.config, _STREAM_KINDS):
        ins, outs = rtl_streams.stream_ports(n.config)
    else:
        i, o = rtl_kinds.ports(n.config)
        ins, outs = {"s_axis": i}, {"m_axis": o}
    for what, streams, named in (("input", n.inputs, ins), ("output", n.outputs, outs)):
        if len(streams) != len(named):
            raise ConfigError(
                f"{n.name} ({n.kind}) has {len(streams)} {what} stream(s) {streams} but its RTL "
                f"has {len(named)} {what} port(s) {list(named)}"
            )
    return (
        [(s, k, p) for s, (k, p) in zip(n.inputs, ins.items(), strict=True)],
        [(s, k, p) for s, (k, p) in zip(n.outputs, outs.items(), strict=True)],
    )


def _signal(n: Node, port: str) -> str:
    """Wire-bundle prefix of a node port: `<node>_in`, `<node>_out`, `<node>_in_a`, `<node>_out_0`."""
    return f"{n.name}_{port.replace('s_axis', 'in').replace('m_axis', 'out')}"


def _check_link(a: Node, out: Port, b: Node, inp: Port) -> None:
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


def _pow2(n: int) -> int:
    return 1 << max(1, (n - 1).bit_length())


def _held(words: int, per_vector: int, fork_per_vector: int) -> int:
    """Fork words a buffer of `words` words (vectors of `per_vector` words, each standing for
    `fork_per_vector` fork words) can stand for: every vector it touches, partial ones included."""
    return (math.ceil(words / per_vector) + 1) * fork_per_vector


def shortcut_words(fork: Node, branch: list[Node], fifo_depth: int = DEFAULT_FIFO_DEPTH) -> int:
    """Deadlock rule: fork words the long `branch` (its nodes in order from `fork` to the join)
    can absorb before its first word reaches the join, computed conservatively.

    The fork pushes a word into both branches at once and the join pops both at once, so the
    shortcut holds exactly the long branch's backlog, measured in fork words; that backlog is at
    most what the branch's buffers can hold. Buffers (each with words per vector `v` at its
    place, counted as `(ceil(words / v) + 1) * r * F` fork words, where F = fork channels / PE
    words per fork vector and r = ceil(fork vectors / vectors per frame at that place)):

    * the fork's SKID_WORDS skid FIFO of the branch, and a `fifo_depth` link FIFO in front of
      every branch node and in front of the join;
    * per node, NODE_WORDS of pipeline and output skid (an MVAU adds its popcount stages), plus
      its input buffer: a SlidingWindow max(its line buffer, (k + 1) rows of
      (in_w + 2 * pad) * channels / pe words); a MaxPool max(stride, kernel - pad) + 1 rows of
      scan_w * channels / pe words; an MVAU one input vector (mw / simd words).

    The link into the join on the other branch gets `max(fifo_depth, _pow2(this))` words.
    """
    fcfg = fork.config
    fork_nv, fork_v = fcfg.num_vectors, fcfg.channels // fcfg.pe

    def held(words: int, port: Port, vectors: int) -> int:
        r = math.ceil(fork_nv / vectors)
        return _held(words, port.channels // port.lanes, r * fork_v)

    fport = Port(fcfg.pe, fcfg.input_type, fcfg.channels)
    total = held(rtl_streams.SKID_WORDS, fport, fork_nv)
    for n in branch:
        c = n.config
        inp, out = ports(c)
        nv_in = c.num_vectors
        nv_out = getattr(c, "out_vectors", c.num_vectors)
        total += held(fifo_depth, inp, nv_in)  # the link FIFO in front of n
        if isinstance(c, SlidingWindow):
            nf = c.channels // c.pe
            line = rtl_window.sliding_window(n).context["depth"]
            total += held(max(line, (c.kernel + 1) * (c.in_w + 2 * c.pad) * nf), inp, nv_in)
        elif isinstance(c, MaxPool):
            rows = max(c.stride, c.kernel - c.pad) + 1  # line memories + the row being scanned
            total += held(rows * c.scan_w * (c.channels // c.pe), inp, nv_in)
        elif isinstance(c, XnorMVAU | IntMVAU):
            total += held(c.sf, inp, nv_in)
        stages = getattr(c, "popcount_stages", 0)
        total += held(NODE_WORDS + stages, out, nv_out)
    last_out, nv_last = (
        (ports(branch[-1].config)[1], branch[-1].config) if branch else (fport, fcfg)
    )
    total += held(fifo_depth, last_out, getattr(nv_last, "out_vectors", nv_last.num_vectors))
    return total


@dataclass(frozen=True)
class Link:
    """One stream of the stitched graph: producer port -> consumer port, FIFO depth in words.

    `src`/`dst` are None at the graph input/output (wired straight to the top-level port, no
    FIFO); `shortcut_words` is the deadlock-rule requirement of a shortcut link, else 0."""

    stream: str
    src: Node | None
    src_port: str
    dst: Node | None
    dst_port: str
    width: int
    depth: int
    shortcut_words: int = 0


def _trace_branch(graph: DataflowGraph, join: Node, stream: str) -> tuple[Node, list[Node], str]:
    """(fork, branch nodes in order from the fork, the join's input stream) behind `stream`."""
    branch, cur = [], stream
    while True:
        p = graph.producer(cur)
        if p is None or (len(p.inputs) != 1 and not isinstance(p.config, _STREAM_KINDS)):
            raise UnsupportedPatternError(
                f"emit_stitched: input {stream!r} of the join {join.name} does not come from a "
                "DuplicateStreams fork (it reaches the graph input); add the fork explicitly"
            )
        if isinstance(p.config, rtl_streams.DuplicateStreams):
            return p, branch[::-1], stream
        if isinstance(p.config, rtl_streams.AddStreams):
            raise UnsupportedPatternError(
                f"emit_stitched: the branch into {join.name} through {stream!r} contains the join "
                f"{p.name}; nested residual blocks are not supported yet"
            )
        branch.append(p)
        cur = p.inputs[0]


def plan_links(graph: DataflowGraph, fifo_depth: int = DEFAULT_FIFO_DEPTH) -> list[Link]:
    """Every stream of a single-input, single-output DAG as a Link, in topological order of the
    consumers; checks fan-out (a fork needs DuplicateStreams), widths and types."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise UnsupportedPatternError(
            f"emit_stitched needs one graph input and one output, got {len(graph.inputs)} and "
            f"{len(graph.outputs)}; multi-stream top levels are future work"
        )
    order = graph.topological()
    if not order:
        raise UnsupportedPatternError("emit_stitched: the graph has no nodes")
    names = [n.name for n in order]
    if len(set(names)) != len(names):
        raise ConfigError(f"emit_stitched: node names must be unique, got {names}")
    producers = {s: (n, k, p) for n in order for s, k, p in _node_ports(n)[1]}
    (gin,), (gout,) = graph.inputs, graph.outputs
    users = {s: [] for s in [gin, *producers]}
    for n in order:
        for s, k, p in _node_ports(n)[0]:
            users[s].append((n, k, p))
    for s, us in users.items():
        if s == gout:
            if us:
                raise UnsupportedPatternError(
                    f"emit_stitched: the graph output {s!r} is also read by "
                    f"{', '.join(u[0].name for u in us)}; fork it with a DuplicateStreams"
                )
            if s == gin:
                raise UnsupportedPatternError("emit_stitched: the graph input is its output")
        elif len(us) != 1:
            who = f"read by {', '.join(u[0].name for u in us)}" if us else "read by no node"
            raise UnsupportedPatternError(
                f"emit_stitched: stream {s!r} is {who}; every stream but the graph output needs "
                "exactly one consumer (a fork needs a DuplicateStreams node, every copy consumed)"
            )
    if gout not in producers:
        raise UnsupportedPatternError(f"emit_stitched: no node produces the output {gout!r}")

    # deadlock rule: per join, the link into it on the short branch is deepened
    deep: dict[str, int] = {}
    for j in order:
        if not isinstance(j.config, rtl_streams.AddStreams):
            continue
        (fa, ba, sa), (fb, bb, sb) = (_trace_branch(graph, j, s) for s in j.inputs)
        if fa is not fb:
            raise UnsupportedPatternError(
                f"emit_stitched: the inputs of the join {j.name} come from different forks "
                f"({fa.name}, {fb.name}); only fork/join pairs are supported"
            )
        wa, wb = shortcut_words(fa, ba, fifo_depth), shortcut_words(fa, bb, fifo_depth)
        # the shorter branch's link into the join must hold the longer branch's backlog
        deep[sb if wa >= wb else sa] = max(wa, wb)

    links = []
    for s, us in users.items():
        if not us:
            continue
        (dst, dport, dp), src = us[0], producers.get(s)
        if src is None:
            links.append(Link(s, None, "s_axis", dst, dport, dp.bits, 0))
            continue
        a, aport, ap = src
        _check_link(a, ap, dst, dp)
        need = deep.get(s, 0)
        depth = max(fifo_depth, _pow2(need)) if need else fifo_depth
        if depth > MAX_FIFO_DEPTH:
            raise ConfigError(
                f"emit_stitched: the shortcut {s!r} into {dst.name} needs {need} words "
                f"(> {MAX_FIFO_DEPTH}); reduce the long branch's buffering"
            )
        links.append(Link(s, a, aport, dst, dport, dp.bits, depth, need))
    a, aport, ap = producers[gout]
    links.append(Link(gout, a, aport, None, "m_axis", ap.bits, 0))
    return links


def emit_stitched(graph: DataflowGraph, outdir: Path, fifo_depth: int = DEFAULT_FIFO_DEPTH) -> Path:
    """Write every layer plus `accel_top.v`: each stream a wire bundle and a `fifo_depth`-word
    FIFO (the shortcut of a fork/join pair deeper, see `shortcut_words`) between its ports.

    Returns the path of accel_top.v; the layer files and memory init files sit next to it and
    `lib_sources()` completes the source list.
    """
    if not 2 <= fifo_depth <= MAX_FIFO_DEPTH:
        raise ConfigError(
            f"fifo_depth={fifo_depth} must be in 2..{MAX_FIFO_DEPTH}: a one-word FIFO cannot "
            "accept and deliver in the same cycle (half throughput)"
        )
    graph.hardware_ready()
    links = plan_links(graph, fifo_depth)
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
        ins, outs = _node_ports(n)
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
    return _render("accel_top.v.j2", outdir / "accel_top.v", ctx)
