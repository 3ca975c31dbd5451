"""The RTL parameters of XnorMVAU and IntMVAU (hw/templates/mvau.v.j2): one template, differing in
the per-lane product only. Every width is exact (docs/numerics.md section 2): level l of the adder
tree holds partial sums of at most 2**l products."""

from __future__ import annotations

from flows.datatypes import Kind, pack_words
from flows.hwmodel.memory import buffer_style
from flows.hwmodel.ranges import product_range, width
from flows.hwmodel.structure import clog2, tree_nodes, tree_registers
from flows.layers.backends import LayerRTL
from flows.layers.mvau.config import IntMVAU, XnorMVAU
from flows.layers.mvau.golden import weights


def product(cfg: XnorMVAU | IntMVAU) -> tuple[str, int, int, bool]:
    """Per-lane product: (kind, lo, hi, signed) with [lo, hi] the exact range of one product."""
    if isinstance(cfg, XnorMVAU):
        return "xnor", 0, 1, False
    xt, wt = cfg.input_type, cfg.weight_type
    lo, hi = product_range(xt.bounds, wt.bounds)
    if wt.kind == Kind.BIPOLAR:
        kind = "wbip"  # +x or -x: a conditional negate, no multiplier
    elif xt.kind == Kind.BIPOLAR:
        kind = "xbip"
    else:
        kind = "mul"
    return kind, lo, hi, True


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


def rtl(cfg: XnorMVAU | IntMVAU, params: dict) -> LayerRTL:
    """The weights as one ROM of PE*SIMD lanes, word nf*SF + sf."""
    xt, wt = cfg.input_type, cfg.weight_type
    w = weights(cfg, params)
    kind, lo, hi, signed = product(cfg)
    nodes = tree_nodes(cfg.simd)
    # Level l holds partial sums of at most 2**l products: exact widths, no wrap.
    widths = [
        width(min(2**lv, cfg.simd) * lo, min(2**lv, cfg.simd) * hi, signed)
        for lv in range(len(nodes))
    ]
    if isinstance(cfg, XnorMVAU):
        stages, regs = cfg.popcount_stages, tree_registers(cfg.popcount_stages, len(nodes) - 1)
    else:  # after the products, then spread over the adder levels (IntMVAU.tree_stages)
        levels = len(nodes) - 1
        regs = [1] + (tree_registers(cfg.tree_stages - 1, levels - 1) if levels else [])
        stages = sum(regs)
    ww, depth = cfg.weight_memory
    ctx = dict(
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
        product=kind,
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
        rom_style=cfg.weight_rom_style,
        **_mult_style(cfg),
    )
    # Word at address nf*SF + sf holds W[nf*PE + p, sf*SIMD + s] in lane p*SIMD + s.
    f = wt.encode(w).reshape(cfg.nf, cfg.pe, cfg.sf, cfg.simd).transpose(0, 2, 1, 3)
    words = pack_words(f.reshape(-1), wt.bits, cfg.pe * cfg.simd)
    memories = {ctx["weight_file"]: (words, ww)}
    if cfg.weights == "chip":
        return LayerRTL(ctx, memories)
    # Weights in DRAM: the same words stream in on s_axis_w (the image is the DRAM region's).
    g, out_w = cfg.vectors_per_pass, cfg.pe * cfg.output_type.bits
    ctx |= dict(
        g=g,
        gw=clog2(g),
        taw=clog2(2 * cfg.sf),
        xaw=clog2(g * cfg.sf),
        rw=clog2(g * cfg.nf),
        raw=clog2(2 * g * cfg.nf),
        tile_style=buffer_style(ww, 2 * cfg.sf),
        x_style=buffer_style(cfg.simd * cfg.input_type.bits, g * cfg.sf),
        r_style=buffer_style(out_w, 2 * g * cfg.nf),
    )
    return LayerRTL(ctx, memories, template="mvau_dram.v.j2")
