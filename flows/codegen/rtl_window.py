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
* MaxPool (any stride, padding with the type minimum): a separable maximum. The scan walks
  `(vy, vx, f)` over `scan_h x scan_w` positions (the map, plus right/bottom padding columns and
  rows where a window ends), taking an input word at real positions and the pad word elsewhere.
  Row pass: k-1 chained NF-word memories give the same channel group 1..k-1 columns back; where a
  window's last column is reached, the row maximum (taps in the left padding masked) goes on.
  Column pass: k-1 chained `out_w * nf`-word memories of row maxima give the same window column
  1..k-1 rows back; where a window's last row is reached the output word is emitted. One
  position per clock: `cycles_per_frame` = `scan_h * scan_w * nf`.
"""

from __future__ import annotations

from flows.codegen.rtl_kinds import LayerRTL, _common, ports
from flows.datatypes import Kind, pack_words
from flows.graph import Node
from flows.hwmodel.structure import clog2


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
    nf = cfg.channels // cfg.pe
    real_terms = []  # positions past the map (right/bottom padding) take the pad word
    if cfg.scan_w > cfg.in_w:
        real_terms.append(f"(vx < {clog2(max(cfg.scan_w, cfg.kernel))}'d{cfg.in_w})")
    if cfg.scan_h > cfg.in_h:
        real_terms.append(f"(vy < {clog2(max(cfg.scan_h, cfg.kernel))}'d{cfg.in_h})")
    ctx = _common(cfg) | dict(
        channels=cfg.channels,
        pe=cfg.pe,
        nf=nf,
        k=cfg.kernel,
        s=cfg.stride,
        pad=cfg.pad,
        pad_word=pack_words(t.encode([t.min] * cfg.pe), t.bits, cfg.pe)[0],
        real_terms=real_terms,
        in_h=cfg.in_h,
        in_wd=cfg.in_w,
        out_h=cfg.out_h,
        out_wd=cfg.out_w,
        scan_h=cfg.scan_h,
        scan_w=cfg.scan_w,
        first_end=cfg.kernel - 1 - cfg.pad,  # first column/row where a window ends
        signed=t.kind == Kind.INT,  # BIPOLAR: 1 bit, unsigned max = OR (1 means +1)
        fw=clog2(nf),
        vxw=clog2(max(cfg.scan_w, cfg.kernel)),
        vyw=clog2(max(cfg.scan_h, cfg.kernel)),
        cw=clog2(max(cfg.kernel - cfg.pad, cfg.stride)),
        oxw=clog2(cfg.out_w + 1),
        oyw=clog2(cfg.out_h + 1),
        aw=clog2(cfg.out_w * nf),
        paw=clog2((cfg.out_w + 1) * nf) + 1,
    )
    return LayerRTL("max_pool.v.j2", ctx)
