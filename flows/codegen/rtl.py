"""Verilog RTL emitters for the hardware layer kinds and the stitched top level (DESIGN.md 2, 3).

Every Verilog body lives in a Jinja2 template under `hw/templates/` (rendered with StrictUndefined);
hand-written reusable modules live in `hw/lib/` (`lib_sources()`). Generated code is plain
Verilog-2005, lint-clean under Verilator's default warnings, and also read by Icarus and Yosys.

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
cocotb benches in tests/hw do); Yosys also resolves a relative `$readmemh` next to the source file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from flows.datatypes import DataType, Kind, pack_words
from flows.errors import ConfigError, FoldingError, UnsupportedPatternError
from flows.graph import DataflowGraph, Node
from flows.layers.affine import Affine
from flows.layers.label_select import LabelSelect
from flows.layers.mvau import IntMVAU, XnorMVAU
from flows.layers.threshold import Threshold, check_thresholds

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = REPO_ROOT / "hw" / "templates"
LIB_DIR = REPO_ROOT / "hw" / "lib"
LIB_MODULES = ("stream_fifo.v",)

# IntMVAU has no pipeline knob in its config: one register after the products, the natural
# pipeline register of a multiplier (DSP M register, or a LUT multiplier's output).
INT_MVAU_TREE_STAGES = 1
# Words of FIFO between two stitched layers: absorbs an MVAU's bursts (it reads SF words, then
# replays them for NF - 1 groups) at the price of a few LUT RAM words per link.
DEFAULT_FIFO_DEPTH = 8
MAX_FIFO_DEPTH = 4096

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = {
    "accel_top", "stream_fifo", "always", "assign", "begin", "case", "else", "end", "endcase",
    "endfunction", "endgenerate", "endmodule", "for", "function", "generate", "genvar", "if",
    "initial", "inout", "input", "integer", "localparam", "module", "output", "parameter", "reg",
    "signed", "wire", "logic", "bit", "byte", "int", "always_ff", "always_comb", "interface",
}


@dataclass(frozen=True)
class Port:
    """One side of a layer's stream: lanes per word, element type, channels per vector."""

    lanes: int
    dtype: DataType
    channels: int

    @property
    def bits(self) -> int:
        return max(1, self.lanes * self.dtype.bits)


# --- small helpers used by the templates (one-line fragments) ----------------------------------
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
    """Address expression of a memory of `depth` words (a 1-word memory takes the constant 0)."""
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


def _clog2(n: int) -> int:
    """Bits of a counter over 0..n-1 (at least 1)."""
    return max(1, (n - 1).bit_length())


def _width(lo: int, hi: int, signed: bool) -> int:
    """Bits holding every integer in [lo, hi]: two's complement if `signed`, else unsigned."""
    if not signed:
        return max(1, hi.bit_length())
    return max((-lo - 1).bit_length() if lo < 0 else 0, hi.bit_length()) + 1


def _write_mem(path: Path, words: list[int], width: int) -> Path:
    digits = (width + 3) // 4
    path.write_text("".join(f"{w:0{digits}x}\n" for w in words))
    return path


def _param(node: Node, key: str, shape: tuple[int, ...], dtype: DataType) -> np.ndarray:
    if key not in node.params:
        raise ConfigError(f"{node.name}: parameter {key!r} is missing; the emitter needs it")
    a = np.asarray(node.params[key])
    if a.shape != shape:
        raise ConfigError(f"{node.name}: {key} has shape {a.shape}, expected {shape}")
    dtype.check(a, f"{node.name}: {key}")
    return a.astype(np.int64)


def _common(cfg, in_port: Port, out_port: Port) -> dict:
    return {
        "name": cfg.name, "kind": type(cfg).__name__, "nv": cfg.num_vectors,
        "cycles": cfg.cycles_per_frame, "in_w": in_port.bits, "out_w": out_port.bits,
        "in_type": in_port.dtype.name, "out_type": out_port.dtype.name,
    }


# --- ports -------------------------------------------------------------------------------------
def ports(config: object) -> tuple[Port, Port]:
    """(input, output) stream ports of a hardware layer config."""
    c = config
    if isinstance(c, XnorMVAU | IntMVAU):
        return Port(c.simd, c.input_type, c.mw), Port(c.pe, c.output_type, c.mh)
    if isinstance(c, Threshold | Affine):
        return Port(c.pe, c.input_type, c.channels), Port(c.pe, c.output_type, c.channels)
    if isinstance(c, LabelSelect):
        return Port(c.pe, c.input_type, c.channels), Port(1, c.output_type, 1)
    raise ConfigError(
        f"{type(c).__name__} has no RTL emitter; supported kinds: "
        + ", ".join(k.__name__ for k in EMITTERS)
    )


def stream_widths(config: object) -> tuple[int, int]:
    """tdata widths (input, output) in bits: lanes x element bits, at least 1, never byte-padded."""
    i, o = ports(config)
    return i.bits, o.bits


# --- MVAU --------------------------------------------------------------------------------------
def _tree_registers(stages: int, depth: int) -> list[int]:
    """Registers after each adder-tree level 0..depth (level 0 = the products), spread evenly."""
    regs = [0] * (depth + 1)
    for i in range(stages):
        regs[min(depth, (i + 1) * (depth + 1) // (stages + 1))] += 1
    return regs


def _mvau_context(cfg: XnorMVAU | IntMVAU) -> dict:
    xnor = isinstance(cfg, XnorMVAU)
    xt, wt = cfg.input_type, cfg.weight_type
    if xnor:
        lo, hi, signed, product = 0, 1, False, "xnor"
    else:
        prods = [a * b for a in (xt.min, xt.max) for b in (wt.min, wt.max)]
        lo, hi, signed = min(prods), max(prods), True
        product = {Kind.BIPOLAR: "wbip"}.get(wt.kind, "xbip" if xt.kind == Kind.BIPOLAR else "mul")
    nodes = [cfg.simd]
    while nodes[-1] > 1:
        nodes.append((nodes[-1] + 1) // 2)
    # Level l holds partial sums of at most 2**l products: exact widths, no wrap (numerics.md 2).
    widths = [_width(min(2**lv, cfg.simd) * lo, min(2**lv, cfg.simd) * hi, signed)
              for lv in range(len(nodes))]
    stages = cfg.popcount_stages if xnor else INT_MVAU_TREE_STAGES
    in_port, out_port = ports(cfg)
    depth = cfg.sf * cfg.nf
    return _common(cfg, in_port, out_port) | {
        "mw": cfg.mw, "mh": cfg.mh, "simd": cfg.simd, "pe": cfg.pe, "sf": cfg.sf, "nf": cfg.nf,
        "xb": xt.bits, "wb": wt.bits, "x_signed": xt.signed, "w_signed": wt.signed,
        "w_type": wt.name, "product": product, "signed": signed, "nodes": nodes,
        "widths": widths, "regs": _tree_registers(stages, len(nodes) - 1), "stages": stages,
        "acc_w": _width(cfg.mw * lo, cfg.mw * hi, signed), "ob": out_port.dtype.bits,
        "ww": cfg.pe * cfg.simd * wt.bits, "depth": depth, "sfw": _clog2(cfg.sf),
        "nfw": _clog2(cfg.nf), "aw": _clog2(depth), "weight_file": f"{cfg.name}_w.mem",
    }


def _emit_mvau(node: Node, outdir: Path) -> list[Path]:
    cfg = node.config
    w = _param(node, "weights", (cfg.mh, cfg.mw), cfg.weight_type)
    ctx = _mvau_context(cfg)
    # Word at address nf*SF + sf holds W[nf*PE + p, sf*SIMD + s] in lane p*SIMD + s.
    f = cfg.weight_type.encode(w).reshape(cfg.nf, cfg.pe, cfg.sf, cfg.simd).transpose(0, 2, 1, 3)
    words = pack_words(f.reshape(-1), cfg.weight_type.bits, cfg.pe * cfg.simd)
    return [
        _render("mvau.v.j2", outdir / f"{cfg.name}.v", ctx),
        _write_mem(outdir / ctx["weight_file"], words, ctx["ww"]),
    ]


# --- Threshold, Affine, LabelSelect ------------------------------------------------------------
def _emit_threshold(node: Node, outdir: Path) -> list[Path]:
    cfg = node.config
    if "thresholds" not in node.params:
        raise ConfigError(f"{node.name}: parameter 'thresholds' is missing; the emitter needs it")
    t = check_thresholds(cfg, node.params["thresholds"])
    nf, tt = cfg.channels // cfg.pe, cfg.threshold_type
    in_port, out_port = ports(cfg)
    ctx = _common(cfg, in_port, out_port) | {
        "channels": cfg.channels, "pe": cfg.pe, "nf": nf, "nt": cfg.num_thresholds,
        "xb": in_port.dtype.bits, "tb": tt.bits, "ob": out_port.dtype.bits,
        "signed": cfg.input_type.signed, "t_type": tt.name, "tw": cfg.pe * cfg.num_thresholds * tt.bits,
        "nfw": _clog2(nf), "threshold_file": f"{cfg.name}_t.mem",
    }
    words = pack_words(tt.encode(t).reshape(-1), tt.bits, cfg.pe * cfg.num_thresholds)
    return [
        _render("threshold.v.j2", outdir / f"{cfg.name}.v", ctx),
        _write_mem(outdir / ctx["threshold_file"], words, ctx["tw"]),
    ]


def _emit_affine(node: Node, outdir: Path) -> list[Path]:
    cfg = node.config
    mul = _param(node, "mul", (cfg.channels,), cfg.mul_type)
    add = _param(node, "add", (cfg.channels,), cfg.add_type)
    nf, mt, at = cfg.channels // cfg.pe, cfg.mul_type, cfg.add_type
    in_port, out_port = ports(cfg)
    ctx = _common(cfg, in_port, out_port) | {
        "channels": cfg.channels, "pe": cfg.pe, "nf": nf, "xb": in_port.dtype.bits,
        "x_kind": cfg.input_type.kind.value, "x_signed": cfg.input_type.signed,
        "mb": mt.bits, "m_signed": mt.signed, "ab": at.bits, "a_signed": at.signed,
        "m_type": mt.name, "a_type": at.name, "ob": out_port.dtype.bits, "nfw": _clog2(nf),
        "frac_bits": cfg.frac_bits, "mul_file": f"{cfg.name}_mul.mem",
        "add_file": f"{cfg.name}_add.mem",
    }
    return [
        _render("affine.v.j2", outdir / f"{cfg.name}.v", ctx),
        _write_mem(outdir / ctx["mul_file"], pack_words(mt.encode(mul), mt.bits, cfg.pe),
                   cfg.pe * mt.bits),
        _write_mem(outdir / ctx["add_file"], pack_words(at.encode(add), at.bits, cfg.pe),
                   cfg.pe * at.bits),
    ]


def _emit_label_select(node: Node, outdir: Path) -> list[Path]:
    cfg = node.config
    nf = cfg.channels // cfg.pe
    nodes = [cfg.pe]
    while nodes[-1] > 1:
        nodes.append((nodes[-1] + 1) // 2)
    in_port, out_port = ports(cfg)
    ctx = _common(cfg, in_port, out_port) | {
        "channels": cfg.channels, "pe": cfg.pe, "nf": nf, "xb": in_port.dtype.bits,
        "signed": cfg.input_type.signed, "iw": out_port.dtype.bits, "liw": _clog2(cfg.pe),
        "nfw": _clog2(nf), "nodes": nodes,
    }
    return [_render("label_select.v.j2", outdir / f"{cfg.name}.v", ctx)]


EMITTERS: dict[type, Callable[[Node, Path], list[Path]]] = {
    XnorMVAU: _emit_mvau,
    IntMVAU: _emit_mvau,
    Threshold: _emit_threshold,
    Affine: _emit_affine,
    LabelSelect: _emit_label_select,
}


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
        ports(node.config)  # raises the ConfigError naming the supported kinds
    _check_name(node.name)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    return emitter(node, outdir)


def lib_sources() -> list[Path]:
    """The hand-written library modules (hw/lib) that generated code instantiates."""
    return [LIB_DIR / m for m in LIB_MODULES]


# --- stitching ---------------------------------------------------------------------------------
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
        raise UnsupportedPatternError(f"emit_stitched: the chain ends at {stream!r}, not at the "
                                      f"graph output {graph.outputs[0]!r}")
    return order


def _fold_name(cfg: object, side: str) -> str:
    return "SIMD" if side == "in" and isinstance(cfg, XnorMVAU | IntMVAU) else "PE"


def _check_link(a: Node, b: Node) -> None:
    out, inp = ports(a.config)[1], ports(b.config)[0]
    if out.lanes != inp.lanes:
        fb = _fold_name(b.config, "in")
        raise FoldingError(
            f"{a.name} -> {b.name}: {a.name} writes {out.lanes} lanes per word (PE={out.lanes}) "
            f"but {b.name} reads {inp.lanes} ({fb}={inp.lanes}); set {b.name}.{fb.lower()} = "
            f"{out.lanes} or {a.name}.pe = {inp.lanes} (a stream width converter is future work)"
        )
    if out.dtype != inp.dtype:
        raise ConfigError(f"{a.name} -> {b.name}: {a.name} produces {out.dtype} but {b.name} "
                          f"reads {inp.dtype}; the element types of a link must be equal")
    if (out.channels, a.config.num_vectors) != (inp.channels, b.config.num_vectors):
        raise ConfigError(
            f"{a.name} -> {b.name}: {a.name} produces {a.config.num_vectors} x {out.channels} "
            f"per frame but {b.name} expects {b.config.num_vectors} x {inp.channels}"
        )


def emit_stitched(
    graph: DataflowGraph, outdir: Path, fifo_depth: int = DEFAULT_FIFO_DEPTH
) -> Path:
    """Write every layer plus `accel_top.v`, the chain joined by `fifo_depth`-word FIFOs.

    Returns the path of accel_top.v; the layer files and memory init files sit next to it and
    `lib_sources()` completes the source list.
    """
    if not 2 <= fifo_depth <= MAX_FIFO_DEPTH:
        raise ConfigError(f"fifo_depth={fifo_depth} must be in 2..{MAX_FIFO_DEPTH}: a one-word "
                          "FIFO cannot accept and deliver in the same cycle (half throughput)")
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
    layers = [{"name": n.name, "in_w": stream_widths(n.config)[0],
               "out_w": stream_widths(n.config)[1], "kind": n.kind} for n in chain]
    ctx = {"layers": layers, "fifo_depth": fifo_depth}
    return _render("accel_top.v.j2", outdir / "accel_top.v", ctx)
