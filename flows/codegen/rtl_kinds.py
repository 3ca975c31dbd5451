"""What the RTL of each layer kind is made of: stream ports, exact widths, memory images (no I/O).

`flows.codegen.rtl` renders these into `hw/templates/*.v.j2` and writes the files. Every width is
derived from the exact value range (docs/numerics.md section 2: no accumulator wraps or
saturates). Memory images are lists of words, lane 0 in the least significant bits, one word per
channel group (`nf`), or per `nf*SF + sf` for MVAU weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flows.datatypes import DataType, Kind, pack_words
from flows.errors import ConfigError
from flows.graph import Node
from flows.hwmodel.memory import rom_style
from flows.hwmodel.ports import Port
from flows.hwmodel.ranges import affine_range, width
from flows.hwmodel.requant import requant as requantisation
from flows.hwmodel.structure import clog2, tree_nodes, tree_registers
from flows.layers.affine import Affine
from flows.layers.avg_pool import AvgPool, GlobalAvgPool
from flows.layers.label_select import LabelSelect
from flows.layers.mvau import IntMVAU, XnorMVAU
from flows.layers.pool import MaxPool
from flows.layers.registry import checked_param
from flows.layers.rprelu import RPReLU
from flows.layers.sliding_window import SlidingWindow
from flows.layers.threshold import Threshold, check_thresholds

# IntMVAU has no pipeline knob in its config: one register after the products, the natural
# pipeline register of a multiplier (DSP M register, or a LUT multiplier's output).
INT_MVAU_TREE_STAGES = 1
SUPPORTED = (XnorMVAU, IntMVAU, Threshold, Affine, LabelSelect, SlidingWindow, MaxPool, RPReLU,
             AvgPool, GlobalAvgPool)  # fmt: skip


@dataclass(frozen=True)
class LayerRTL:
    """A layer's template, its render context, its memory images {file: (words, width)} and its
    sub-blocks: (module name, writer of `<module>.v` and its memories, called with the directory)."""

    template: str
    context: dict
    memories: dict[str, tuple[list[int], int]] = field(default_factory=dict)
    submodules: tuple[tuple[str, Callable[[Path], list[Path]]], ...] = ()


def ports(config: object) -> tuple[Port, Port]:
    """(input, output) stream ports of a hardware layer config; ConfigError for other kinds."""
    c = config
    if isinstance(c, XnorMVAU | IntMVAU):
        nv = c.num_vectors
        return Port(c.simd, c.input_type, c.mw, nv), Port(c.pe, c.output_type, c.mh, nv)
    if isinstance(c, Threshold | Affine | RPReLU):
        nv = c.num_vectors
        return Port(c.pe, c.input_type, c.channels, nv), Port(c.pe, c.output_type, c.channels, nv)
    if isinstance(c, LabelSelect):
        nv = c.num_vectors
        return Port(c.pe, c.input_type, c.channels, nv), Port(1, c.output_type, 1, nv)
    if isinstance(c, SlidingWindow | MaxPool | AvgPool | GlobalAvgPool):
        if c.input_type is None:
            raise ConfigError(f"{c.name}: input_type is not set; the RTL needs the stream's type")
        inp = Port(c.pe, c.input_type, c.channels, c.num_vectors)
        if isinstance(c, AvgPool | GlobalAvgPool):  # sums: the output type is wider
            return inp, Port(c.pe, c.output_type, c.channels, c.out_vectors)
        out = c.out_channels if isinstance(c, SlidingWindow) else c.channels
        return inp, Port(c.pe, c.input_type, out, c.out_vectors)
    names = ", ".join(k.__name__ for k in SUPPORTED)
    raise ConfigError(f"{type(c).__name__} has no RTL emitter; supported kinds: {names}")


def _param(node: Node, key: str, shape: tuple[int, ...], dtype: DataType) -> np.ndarray:
    return checked_param(node.name, node.params, key, shape, dtype)


def _common(cfg) -> dict:
    i, o = ports(cfg)
    return dict(
        name=cfg.name,
        kind=type(cfg).__name__,
        nv=cfg.num_vectors,
        cycles=cfg.cycles_per_frame,
        in_w=i.bits,
        out_w=o.bits,
        in_type=i.dtype.name,
        out_type=o.dtype.name,
        ob=o.dtype.bits,
        xb=i.dtype.bits,
    )


def _product(cfg: XnorMVAU | IntMVAU) -> tuple[str, int, int, bool]:
    """Per-lane product: (kind, lo, hi, signed) with [lo, hi] the exact range of one product."""
    if isinstance(cfg, XnorMVAU):
        return "xnor", 0, 1, False
    xt, wt = cfg.input_type, cfg.weight_type
    prods = [a * b for a in (xt.min, xt.max) for b in (wt.min, wt.max)]
    if wt.kind == Kind.BIPOLAR:
        kind = "wbip"  # +x or -x: a conditional negate, no multiplier
    elif xt.kind == Kind.BIPOLAR:
        kind = "xbip"
    else:
        kind = "mul"
    return kind, min(prods), max(prods), True


def _mult_style(cfg: XnorMVAU | IntMVAU) -> dict:
    """IntMVAU multiplier style; for "lut", the shift-and-add selects on the narrower operand's
    bits (`sel`) and shifts the other, both already extended to the product width."""
    style = getattr(cfg, "mult_style", "auto")
    xt, wt = cfg.input_type, cfg.weight_type
    x_narrow = xt.bits < wt.bits
    return dict(
        mult_style=style,
        sel="xe" if x_narrow else "we",
        sel_bits=xt.bits if x_narrow else wt.bits,
        sel_signed=xt.signed if x_narrow else wt.signed,
        other="ws" if x_narrow else "xs",
    )


def mvau(node: Node) -> LayerRTL:
    """XnorMVAU and IntMVAU: one template, differing in the per-lane product only."""
    cfg = node.config
    xt, wt = cfg.input_type, cfg.weight_type
    w = _param(node, "weights", (cfg.mh, cfg.mw), wt)
    product, lo, hi, signed = _product(cfg)
    nodes = tree_nodes(cfg.simd)
    # Level l holds partial sums of at most 2**l products: exact widths, no wrap.
    widths = [
        width(min(2**lv, cfg.simd) * lo, min(2**lv, cfg.simd) * hi, signed)
        for lv in range(len(nodes))
    ]
    if isinstance(cfg, XnorMVAU):
        stages, regs = cfg.popcount_stages, tree_registers(cfg.popcount_stages, len(nodes) - 1)
    else:
        stages, regs = INT_MVAU_TREE_STAGES, [INT_MVAU_TREE_STAGES] + [0] * (len(nodes) - 1)
    depth, ww = cfg.sf * cfg.nf, cfg.pe * cfg.simd * wt.bits
    ctx = _common(cfg) | dict(
        mw=cfg.mw,
        mh=cfg.mh,
        simd=cfg.simd,
        pe=cfg.pe,
        sf=cfg.sf,
        nf=cfg.nf,
        wb=wt.bits,
        x_signed=xt.signed,
        w_signed=wt.signed,
        w_type=wt.name,
        product=product,
        signed=signed,
        nodes=nodes,
        widths=widths,
        regs=regs,
        stages=stages,
        ww=ww,
        depth=depth,
        acc_w=width(cfg.mw * lo, cfg.mw * hi, signed),
        sfw=clog2(cfg.sf),
        nfw=clog2(cfg.nf),
        aw=clog2(depth),
        weight_file=f"{cfg.name}_w.mem",
        rom_style=rom_style(ww, depth),
        **_mult_style(cfg),
    )
    # Word at address nf*SF + sf holds W[nf*PE + p, sf*SIMD + s] in lane p*SIMD + s.
    f = wt.encode(w).reshape(cfg.nf, cfg.pe, cfg.sf, cfg.simd).transpose(0, 2, 1, 3)
    words = pack_words(f.reshape(-1), wt.bits, cfg.pe * cfg.simd)
    return LayerRTL("mvau.v.j2", ctx, {ctx["weight_file"]: (words, ww)})


def threshold(node: Node) -> LayerRTL:
    """Threshold: thresholds (C, N) as one memory word of PE*N lanes per channel group."""
    cfg = node.config
    if "thresholds" not in node.params:
        raise ConfigError(f"{node.name}: parameter 'thresholds' is missing; the emitter needs it")
    t = check_thresholds(cfg, node.params["thresholds"])
    nf, tt = cfg.channels // cfg.pe, cfg.threshold_type
    tw = cfg.pe * cfg.num_thresholds * tt.bits
    ctx = _common(cfg) | dict(
        channels=cfg.channels,
        pe=cfg.pe,
        nf=nf,
        nt=cfg.num_thresholds,
        tb=tt.bits,
        tw=tw,
        signed=cfg.input_type.signed,
        t_type=tt.name,
        nfw=clog2(nf),
        threshold_file=f"{cfg.name}_t.mem",
    )
    words = pack_words(tt.encode(t).reshape(-1), tt.bits, cfg.pe * cfg.num_thresholds)
    return LayerRTL("threshold.v.j2", ctx, {ctx["threshold_file"]: (words, tw)})


def affine(node: Node) -> LayerRTL:
    """Affine: mul and add as two memories of PE lanes per channel group. With `shift` or
    `saturate_type` the exact sum is registered, then rounded half to even and saturated
    (`rtl_residual.requant_context`); without, the template's text is the exact form's."""
    cfg = node.config
    requant = bool(cfg.shift) or cfg.saturate_type is not None
    mt, at = cfg.mul_type, cfg.add_type
    mul = _param(node, "mul", (cfg.channels,), mt)
    add = _param(node, "add", (cfg.channels,), at)
    nf = cfg.channels // cfg.pe
    ctx = _common(cfg) | dict(
        channels=cfg.channels,
        pe=cfg.pe,
        nf=nf,
        x_kind=cfg.input_type.kind.value,
        x_signed=cfg.input_type.signed,
        mb=mt.bits,
        m_signed=mt.signed,
        ab=at.bits,
        a_signed=at.signed,
        m_type=mt.name,
        a_type=at.name,
        nfw=clog2(nf),
        frac_bits=cfg.frac_bits,
        mul_file=f"{cfg.name}_mul.mem",
        add_file=f"{cfg.name}_add.mem",
        requant=requant,
    )
    if requant:
        lo, hi = affine_range(cfg.input_type, mt, at)
        ctx["rq"] = requantisation(lo, hi, cfg.shift, cfg.saturate_type, cfg.output_type)
        ctx["xsw"] = cfg.input_type.bits + (not cfg.input_type.signed)
        ctx["msw"] = mt.bits + (not mt.signed)
    memories = {
        ctx["mul_file"]: (pack_words(mt.encode(mul), mt.bits, cfg.pe), cfg.pe * mt.bits),
        ctx["add_file"]: (pack_words(at.encode(add), at.bits, cfg.pe), cfg.pe * at.bits),
    }
    return LayerRTL("affine.v.j2", ctx, memories)


def label_select(node: Node) -> LayerRTL:
    """LabelSelect: no memory; an argmax tree over the PE lanes plus a running maximum."""
    cfg = node.config
    nf = cfg.channels // cfg.pe
    ctx = _common(cfg) | dict(
        channels=cfg.channels,
        pe=cfg.pe,
        nf=nf,
        signed=cfg.input_type.signed,
        iw=cfg.output_type.bits,
        liw=clog2(cfg.pe),
        nfw=clog2(nf),
        nodes=tree_nodes(cfg.pe),
    )
    return LayerRTL("label_select.v.j2", ctx)
