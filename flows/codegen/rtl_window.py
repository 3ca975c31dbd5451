"""RTL template contexts of the window kinds: SlidingWindow (im2col) and MaxPool (no memory files).

Both take the element type from `config.input_type` (the stream's type, set by the flow or the
test); `rtl_kinds.ports` refuses a config without it.

* SlidingWindow: a circular line buffer of `rows` input rows (rounded up to a power of two words),
  addressed by the global index of the input word modulo its depth. The writer accepts a word
  while the reader's current output row no longer needs the slot; the reader walks
  `(oy, ox, ky, kx, f)` (innermost last), one word per clock, once every input row of its output
  row is written; a padded position emits the pad word (all stream bits 0: -1 for BIPOLAR, 0 for
  integers). `rows` = k + s, or, if more, the rows from the last window of a frame to the first
  window of the next, so the writer can run ahead across frame boundaries and the frame interval
  is `max(input words, output words)` = `cycles_per_frame`.
* MaxPool (stride >= kernel, windows do not overlap): one accumulator word per output column and
  channel group (`out_w * nf` words of PE lanes); every input word is read-modified-written there
  and the last word of a window is emitted. One input word per clock: `cycles_per_frame`.
"""

from __future__ import annotations

from flows.codegen.rtl_kinds import LayerRTL, _common, clog2, ports
from flows.datatypes import Kind, pack_words
from flows.errors import UnsupportedPatternError
from flows.graph import Node


def sliding_window(node: Node) -> LayerRTL:
    cfg = node.config
    t = ports(cfg)[0].dtype
    nf = cfg.channels // cfg.pe
    nw = cfg.in_h * cfg.in_w * nf  # words of one frame bank
    big = max(2 * nw, (cfg.in_h + cfg.kernel) * cfg.in_w * nf + (cfg.in_w + cfg.kernel) * nf)
    row = cfg.in_w * nf
    # Rows held: the k rows of a window plus s being written, and at a frame's end the rest of
    # the frame from the last window's first row plus the first window of the next frame.
    rows = min(
        cfg.in_h + cfg.kernel,
        max(cfg.kernel + cfg.stride, cfg.in_h - (cfg.out_h - 1) * cfg.stride + cfg.kernel),
    )
    depth = 1 << max(1, (rows * row - 1).bit_length())
    gw = (4 * (nw + depth)).bit_length() + 1
    big = max(big, 1 << gw)
    pad_word = pack_words(t.encode([cfg.pad_value] * cfg.pe), t.bits, cfg.pe)[0]
    ctx = _common(cfg) | dict(
        channels=cfg.channels,
        pe=cfg.pe,
        nf=nf,
        k=cfg.kernel,
        s=cfg.stride,
        pad=cfg.pad,
        pad_value=cfg.pad_value,
        pad_word=pad_word,
        in_h=cfg.in_h,
        in_wd=cfg.in_w,
        out_h=cfg.out_h,
        out_wd=cfg.out_w,
        nw=nw,
        row=row,
        rows=rows,
        depth=depth,
        db=depth.bit_length() - 1,
        gw=gw,
        sw=big.bit_length() + 2,  # signed width of the window arithmetic
        fw=clog2(nf),
        kw=clog2(cfg.kernel),
        oxw=clog2(cfg.out_w),
        oyw=clog2(cfg.out_h),
        out_vectors=cfg.out_vectors,
    )
    return LayerRTL("sliding_window.v.j2", ctx)


def max_pool(node: Node) -> LayerRTL:
    cfg = node.config
    t = ports(cfg)[0].dtype
    if cfg.stride < cfg.kernel:
        raise UnsupportedPatternError(
            f"{node.name}: MaxPool RTL needs stride >= kernel (non-overlapping windows), got "
            f"kernel {cfg.kernel} stride {cfg.stride}"
        )
    nf = cfg.channels // cfg.pe
    cols = -(-cfg.in_w // cfg.stride)  # column groups of the input row (the last may be cut)
    rows = -(-cfg.in_h // cfg.stride)
    cw, oxw, oyw = clog2(cfg.stride), clog2(cols), clog2(rows)
    win_terms = []
    if cfg.kernel < cfg.stride:
        win_terms += [f"(cx <= {cw}'d{cfg.kernel - 1})", f"(cy <= {cw}'d{cfg.kernel - 1})"]
    if cfg.out_w < cols:
        win_terms.append(f"(ox <= {oxw}'d{cfg.out_w - 1})")
    if cfg.out_h < rows:
        win_terms.append(f"(oy <= {oyw}'d{cfg.out_h - 1})")
    ctx = _common(cfg) | dict(
        channels=cfg.channels,
        pe=cfg.pe,
        nf=nf,
        k=cfg.kernel,
        s=cfg.stride,
        win_terms=win_terms,
        in_h=cfg.in_h,
        in_wd=cfg.in_w,
        out_h=cfg.out_h,
        out_wd=cfg.out_w,
        out_vectors=cfg.out_vectors,
        signed=t.kind == Kind.INT,  # BIPOLAR: 1 bit, unsigned max = OR (1 means +1)
        fw=clog2(nf),
        ixw=clog2(cfg.in_w),
        iyw=clog2(cfg.in_h),
        cw=cw,
        oxw=oxw,
        oyw=oyw,
        depth=cfg.out_w * nf,
        dw=clog2(cfg.out_w * nf),
        paw=clog2(cols * nf) + 1,
    )
    return LayerRTL("max_pool.v.j2", ctx)
