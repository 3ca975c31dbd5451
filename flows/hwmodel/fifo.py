"""What a `stream_fifo` (hw/lib/stream_fifo.v) costs: the links of accel_top (flows.codegen.stitch).

A stitched design has a FIFO on every stream between two layers (DEFAULT_FIFO_DEPTH words, deeper
where a deadlock or burst rule asks) and a 2-word skid on each DRAM port; insta_resnet18 on the
ULX3S has 332 of them, 11.0k LUT + 953 LUT RAM cells + 21 block RAMs in Yosys before the skid form
(about a sixth of the chip), and none of it was in the estimate. `stream_fifo(width, depth,
family)` is the Estimate of one; `links_estimate` in flows.memtier adds them up.

Three forms, as Yosys 0.70 maps them (`make bench-fifo`, benchmarks/fifo.py: widths 1, 8, 12, 59
fitted, 20 and 68 held out; depths 2 to 4,096):

* **DEPTH 2: a skid buffer** (two registers): W LUT for the output register's input multiplexer
  and a few for the control, 2W + 2 flip-flops.
* **Distributed RAM** (ECP5: up to 32 words, or up to 128 words and 1,024 bits; Xilinx: up to
  2,560 bits): ECP5 TRELLIS_DPR16X4 cells of 16 x 4 bits, Xilinx RAM32M (32 x 6) or RAM64M
  (64 x 3, four LUTs each); LUT for the pointers, the count and, past 16 words on ECP5, the read
  multiplexer between the cells.
* **Block RAM**: `bram_blocks`; LUT for the control and the read bypass Yosys adds to make the
  asynchronous read synchronous (about one LUT per bit), flip-flops for that bypass register and
  the pointers.

Held-out LUT ratios (estimate / Yosys): ECP5 0.86-1.14, Xilinx 0.83-1.17; FF within two of Yosys
except one-bit FIFOs of 8 words (registers, 21 against 13).
"""

from __future__ import annotations

import math

from flows.hwmodel.memory import bram_blocks, dpr_cells
from flows.hwmodel.resources import Estimate

# (constant, per log2(depth), per bit x extra 16-word bank (ECP5) or 64-word bank (Xilinx))
DIST_LUT = {"ecp5": (10.3, 11.8, 0.99), "xc7": (-2.3, 4.1, 1.25)}
# (constant, per log2(depth), per bit)
BLOCK_LUT = {"ecp5": (-58.0, 21.8, 1.23), "xc7": (30.0, 1.3, 0.95)}
SKID_LUT = {"ecp5": 6, "xc7": 4}  # beyond one LUT per bit


def _family(family: str) -> str:
    return "ecp5" if family == "ecp5" else "xc7"


def distributed(width: int, depth: int, family: str) -> bool:
    """Whether Yosys keeps a `depth`-word ring in distributed RAM (else block RAM)."""
    if _family(family) == "ecp5":
        return depth <= 32 or (depth <= 128 and width * depth <= 1024)
    return width * depth <= 2560


def stream_fifo(width: int, depth: int, family: str) -> Estimate:
    """The Estimate of one `stream_fifo` of `width` bits and `depth` words (cycles 0)."""
    fam = _family(family)
    lg = math.log2(max(depth, 2))
    if depth <= 2:
        return Estimate(0, width + SKID_LUT[fam], 2 * width + 2, 0, 0)
    if distributed(width, depth, family):
        a, b, c = DIST_LUT[fam]
        bank = 16 if fam == "ecp5" else 64
        lut = a + b * lg + c * width * max(0, math.ceil(depth / bank) - 1)
        if fam == "ecp5":
            lutram = dpr_cells(width, depth)
        elif depth <= 32:
            lutram = 4 * math.ceil(width / 6)  # RAM32M: 32 x 6 bits in four LUTs
        else:
            lutram = 4 * math.ceil(width / 3) * math.ceil(depth / 64)  # RAM64M
        return Estimate(0, round(lut), round(4 * lg + 1), 0, 0, lutram=lutram)
    a, b, c = BLOCK_LUT[fam]
    return Estimate(0, round(a + b * lg + c * width), round(width + 3 * lg + 2),
                    bram_blocks(width, depth), 0)  # fmt: skip


def fifos_estimate(sizes: list[tuple[int, int]], family: str) -> Estimate:
    """The sum over (width, depth) pairs."""
    parts = [stream_fifo(w, d, family) for w, d in sizes]
    return Estimate(
        0, sum(p.lut for p in parts), sum(p.ff for p in parts), sum(p.bram for p in parts), 0,
        lutram=sum(p.lutram for p in parts),
    )  # fmt: skip
