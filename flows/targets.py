"""Targets: part, family and available resources (datasheet figures)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from flows.errors import UnknownTargetError


@dataclass(frozen=True)
class Dram:
    """One board's external memory as the tier uses it.

    `chip` names the LiteDRAM module class (`litedram.modules`), `data_bits` its data bus, `bytes`
    its capacity. The controller runs at the accelerator's clock with a full-rate ("1:1") PHY, so a
    clock moves at most `data_bits / 8` bytes; `sustained` is the share of that the tier measured
    with every buffer stream busy (`make bench-dram`: reads and writes interleaved, refresh and
    bank conflicts included). `lut`/`ff` are the controller, `fifo_lut`/`fifo_ff` one DRAM FIFO
    (two crossbar ports) at the chip's width, `fifo_*_per_bit` per bit of a wider port word,
    `reader_*` one weight region's reader, `loader_*` the regions' loader, `crossbar_lut` the
    crossbar's arbitration per port^1.5 (`tier_cost`); fitted to Yosys synth_ecp5 of the
    generated tier (docs/dram.md, `make bench-dram`)."""

    chip: str
    data_bits: int
    bytes: int
    sustained: float
    lut: int = 0
    ff: int = 0
    fifo_lut: int = 0
    fifo_ff: int = 0
    fifo_lut_per_bit: float = 0.0
    fifo_ff_per_bit: float = 0.0
    reader_lut: int = 0
    reader_ff: int = 0
    loader_lut: int = 0
    loader_ff: int = 0
    crossbar_lut: float = 0.0
    boards: str = ""

    @property
    def sustained_bytes_per_cycle(self) -> float:
        return self.sustained * self.data_bits / 8

    def fifo_cost(self, width: int) -> tuple[int, int]:
        """(LUT, FF) of one DRAM FIFO for `width`-bit words: the cost at the chip's width plus
        the per-bit cost of a wider port word (its converters and FIFOs)."""
        extra = self.word_bits(width) - self.data_bits
        return (round(self.fifo_lut + self.fifo_lut_per_bit * extra),
                round(self.fifo_ff + self.fifo_ff_per_bit * extra))  # fmt: skip

    def reader_cost(self, width: int) -> tuple[int, int]:
        """(LUT, FF) of one weight region's reader (a DMA reader on one crossbar port, its burst
        counters and unpacking), at `width`-bit words."""
        extra = self.word_bits(width) - self.data_bits
        return (round(self.reader_lut + self.fifo_lut_per_bit / 2 * extra),
                round(self.reader_ff + self.fifo_ff_per_bit / 2 * extra))  # fmt: skip

    def tier_cost(self, fifo_widths: list[int], region_widths: list[int]) -> tuple[int, int]:
        """(LUT, FF) of a tier: the controller, each DRAM FIFO (two crossbar ports), each weight
        region's reader (one port) and, with regions, their loader (one port), plus the
        crossbar's arbitration, which grows as ports^1.5 (every bank's arbiter sees every port):
        `crossbar_lut * ports ** 1.5`."""
        parts = [self.fifo_cost(w) for w in fifo_widths] + [
            self.reader_cost(w) for w in region_widths
        ]
        ports = 2 * len(fifo_widths) + len(region_widths)
        if region_widths:
            parts.append((self.loader_lut, self.loader_ff))
            ports += 1
        lut = self.lut + sum(c[0] for c in parts) + self.crossbar_lut * ports**1.5
        return round(lut), self.ff + sum(c[1] for c in parts)

    def word_bits(self, width: int, per_frame: int = 0) -> int:
        """Bits one `width`-bit buffer word occupies in DRAM. A word wider than the chip takes
        the chip's width times the smallest power of two that holds it. A narrower one is packed,
        `data_bits / w` to a port word (w: the next power of two), when a frame of `per_frame`
        words fills whole port words (so no frame ends inside one); else it takes a port word."""
        if width < self.data_bits and per_frame:
            packed = 1 << max(0, math.ceil(math.log2(max(width, 1))))
            if per_frame % (self.data_bits // packed) == 0:
                return packed
        ratio = max(1, math.ceil(width / self.data_bits))
        return self.data_bits * (1 << math.ceil(math.log2(ratio)))


@dataclass(frozen=True)
class Target:
    name: str
    part: str
    family: str  # "ecp5" | "xc7" | "xcup" (UltraScale+)
    resources: dict[str, int] = field(default_factory=dict)
    open_bitstream: bool = False  # a bitstream can be made here with open tools
    board_clock_mhz: float = 0.0
    dram: Dram | None = None  # the external-memory tier's DRAM (docs/dram.md); None: none yet


# LFE5U-85F: 83,640 LUT4 / FF, 208 DP16KD (18 kbit), 156 MULT18X18D (Lattice FPGA-DS-02012).
# xc7z020: 53,200 LUT6, 106,400 FF, 140 RAMB36 (= 280 RAMB18), 220 DSP48E1 (DS190).
# xczu7ev: 230,400 LUT, 460,800 FF, 312 RAMB36, 96 URAM288, 1,728 DSP48E2 (DS891).
# ULX3S SDRAM: 16-bit SDR, MT48LC16M16A2 (32 MB) by default; boards with the 64 MB AS4C32M16SB
# take ULX3S_SDRAM (docs/dram.md). `sustained` and the LUT/FF figures are measured (make bench-dram).
# Logic fitted to Yosys 0.70 synth_ecp5 of the tier with GENSDRPHY: 1 x 8-bit, 2 x 8, 3 x 8,
# 1 x 64-bit and 16 x 8-bit FIFOs (1061, 1596, 2062, 1199, 10768 LUT; 473, 577, 681, 581 FF), 4 and
# 16 64-bit weight regions (1925, 5781 LUT; 943, 2479 FF). The crossbar's ports^1.5 term was chosen
# over ports^2 by a 32 x 8 + 16-region tier (30069 LUT; ports^2 predicted 1.18x of it).
_SDR_TIER = dict(lut=560, ff=370, fifo_lut=470, fifo_ff=104, fifo_lut_per_bit=2.9,
                 fifo_ff_per_bit=2.25, reader_lut=190, reader_ff=65, loader_lut=220,
                 loader_ff=120, crossbar_lut=12.4)  # fmt: skip
ULX3S_SDRAM = {
    "MT48LC16M16": Dram(
        "MT48LC16M16", 16, 32 << 20, 0.78, **_SDR_TIER, boards="ULX3S v3.0.x (32 MB)"
    ),  # fmt: skip
    "AS4C32M16": Dram("AS4C32M16", 16, 64 << 20, 0.78, **_SDR_TIER, boards="ULX3S with 64 MB"),
}
# U250 (xcu250): 1,728,000 LUT, 3,456,000 FF, 2,688 RAMB36, 1,280 URAM288, 12,288 DSP (DS962).
TARGETS = {
    "ulx3s": Target(
        "ulx3s",
        "LFE5U-85F-6BG381C",
        "ecp5",
        {"LUT": 83640, "FF": 83640, "BRAM": 208, "DSP": 156},
        True,
        25.0,
        ULX3S_SDRAM["MT48LC16M16"],
    ),
    "pynq-z2": Target(
        "pynq-z2", "xc7z020clg400-1", "xc7", {"LUT": 53200, "FF": 106400, "BRAM": 280, "DSP": 220}
    ),
    "zcu104": Target(
        "zcu104",
        "xczu7ev-ffvc1156-2-e",
        "xcup",
        {"LUT": 230400, "FF": 460800, "BRAM": 624, "URAM": 96, "DSP": 1728},
    ),
    "u250": Target(
        "u250",
        "xcu250-figd2104-2L-e",
        "xcup",
        {"LUT": 1728000, "FF": 3456000, "BRAM": 5376, "URAM": 1280, "DSP": 12288},
    ),
}


def get(name: str | Target) -> Target:
    """The target of that name (a Target is returned as it is)."""
    if isinstance(name, Target):
        return name
    try:
        return TARGETS[name]
    except KeyError:
        known = ", ".join(sorted(TARGETS))
        raise UnknownTargetError(f"unknown target {name!r}; known targets: {known}") from None
