"""Verilog of a layer: render its kind's template with the parameters its record builds.

Every Verilog body lives in a Jinja2 template under `hw/templates/` (rendered with StrictUndefined,
flows/codegen/render.py); the parameters, memory images and sub-blocks come from the kind's
`rtl(cfg, params)` (flows/layers); hand-written reusable modules live in `hw/lib/`
(`lib_sources()`). Generated code is plain Verilog-2005, lint-clean under Verilator -Wall (unused
bits excepted), and compiles in Icarus and Yosys.

Every generated layer is one module named after its node, with `clk`, `rst` (synchronous, active
high) and its stream ports (`LayerKind.ports`): `s_axis_*` in and `m_axis_*` out for the
single-stream kinds, named ports for the others. Words carry lanes per docs/numerics.md section 1
(lane 0 in the least significant bits); `stream_widths(config)` gives the tdata widths of the
first input and output (never padded to bytes).

Pipeline scheme (all kinds): one input-or-replay step per clock; every register of the datapath
advances on a global enable `en`, which is the `s_tready` of a 2-word output FIFO (`stream_fifo`).
That ready is a function of the FIFO's fill count only, so `m_axis_tready` never reaches the
datapath combinationally, and the block sustains one word per clock without back-pressure.

Memory init files: weights, thresholds and constants are `$readmemh` files written next to the
module (`<name>_w.mem`, `<name>_t.mem`, ...). The generated code names them **relative** (bare
file name), so a generated directory can be moved or copied into a Vivado project. Run simulators
with the generated directory as their working directory (the cocotb benches do); Yosys resolves
a relative `$readmemh` next to the source file.
"""

from __future__ import annotations

import re
from pathlib import Path

from flows.codegen.render import REPO_ROOT, render, write_mem
from flows.errors import ConfigError
from flows.graph import Node
from flows.hwmodel.ports import Port
from flows.layers import all_kinds, kind_of
from flows.layers.backends import LayerRTL, Memories, SubBlock

LIB_DIR = REPO_ROOT / "hw" / "lib"
LIB_MODULES = ("stream_fifo.v", "mul_pipe.v", "mul_seq.v", "cube_seq.v", "eval_serial.v")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# The top level, the library modules and (System)Verilog keywords a node must not be named after.
_RESERVED = {"accel_top", *(m.removesuffix(".v") for m in LIB_MODULES)} | set(
    "always assign begin case else end endcase endfunction endgenerate endmodule for function "
    "generate genvar if initial inout input integer localparam module output parameter reg signed "
    "wire logic bit byte int always_ff always_comb interface fork join table task event".split()
)


def main_ports(config: object) -> tuple[Port, Port]:
    """(first input, first output) port of a hardware layer config; ConfigError for a kind
    without hardware."""
    kind = kind_of(config)
    if kind.ports is None:
        have = ", ".join(k.name for k in all_kinds() if k.hardware)
        raise ConfigError(f"{kind.name} has no RTL emitter; supported kinds: {have}")
    ins, outs = kind.ports(config)
    return next(iter(ins.values())), next(iter(outs.values()))


def stream_widths(config: object) -> tuple[int, int]:
    """tdata widths (first input, first output) in bits: lanes x element bits, never byte-padded."""
    i, o = main_ports(config)
    return i.bits, o.bits


def _base_context(cfg) -> dict:
    """What every layer template may use: names, frame timing and the first ports' widths and
    types (the kind's parameters override them where its template means something else)."""
    i, o = main_ports(cfg)
    return dict(
        name=cfg.name, kind=kind_of(cfg).name, nv=cfg.num_vectors, cycles=cfg.cycles_per_frame,
        in_w=i.bits, out_w=o.bits, in_type=i.dtype.name, out_type=o.dtype.name,
        in_bits=i.dtype.bits, out_bits=o.dtype.bits,
    )  # fmt: skip


def layer_rtl(node: Node) -> LayerRTL:
    """The kind's RTL parameters of a node (ConfigError for a kind without RTL)."""
    main_ports(node.config)
    return kind_of(node.config).rtl(node.config, node.params)


def _write(template: str, path: Path, context: dict, memories: Memories) -> list[Path]:
    files = [render(template, path, context)]
    files += [write_mem(path.parent / name, words, w) for name, (words, w) in memories.items()]
    return files


def emit_block(block: SubBlock, outdir: Path) -> list[Path]:
    """Write a sub-block's `<module>.v` and its memory images; return the paths."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    return _write(block.template, outdir / f"{block.module}.v", block.context, block.memories)


def _check_name(name: str) -> None:
    if not _IDENT.match(name) or name in _RESERVED:
        raise ConfigError(
            f"layer name {name!r} is not usable as a Verilog module name; rename the node to "
            "letters, digits and '_' (not starting with a digit, not a keyword or a library module)"
        )


def emit_layer(node: Node, outdir: Path) -> list[Path]:
    """Write `<node.name>.v` (module `node.name`), its memory init files and its sub-blocks'
    files; return the paths."""
    layer = layer_rtl(node)  # a kind without hardware: the error that names the kinds with it
    _check_name(node.name)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    ctx = _base_context(node.config) | layer.context
    template = layer.template or kind_of(node.config).template
    files = _write(template, outdir / f"{node.name}.v", ctx, layer.memories)
    for block in layer.sub_blocks:
        files += emit_block(block, outdir)
    return files


def module_files(node: Node) -> list[str]:
    """The Verilog files `emit_layer` writes for a node: `<name>.v` and its sub-blocks'."""
    return [f"{node.name}.v"] + [f"{b.module}.v" for b in layer_rtl(node).sub_blocks]


def lib_sources() -> list[Path]:
    """The hand-written library modules (hw/lib) that generated code instantiates."""
    return [LIB_DIR / m for m in LIB_MODULES]
