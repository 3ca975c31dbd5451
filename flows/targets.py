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
    with several streams busy (`make bench-dram`: reads and writes interleaved, refresh and bank
    conflicts included).

    The tier's logic, each a (LUT, FF, LUTRAM) triple (`tier_cost`): `base` the controller, PHY,
    init sequencer and the stream engine's shared part; `fifo` one buffer's stream at the chip's
    width and `fifo_per_bit` per bit of a wider word (its converters); `reader` one weight
    region's stream (read side only; half the per-bit cost); `fifo_slow`, `reader_slow` the same
    for a slow stream (one burst of staging); `tap`, `tap_slow` a buffer's second reader (its
    read staging, pointer and count; half the per-bit cost; a slow region's per-bit cost is
    `reader_slow_per_bit`); `loader` the regions' loader. Fitted
    to Yosys synth_ecp5 of the generated tier (docs/dram.md, `make bench-dram`)."""

    chip: str
    data_bits: int
    bytes: int
    sustained: float
    base: tuple[float, float, float] = (0, 0, 0)
    fifo: tuple[float, float, float] = (0, 0, 0)
    fifo_per_bit: tuple[float, float, float] = (0, 0, 0)
    reader: tuple[float, float, float] = (0, 0, 0)
    fifo_slow: tuple[float, float, float] = (0, 0, 0)
    reader_slow: tuple[float, float, float] = (0, 0, 0)
    reader_slow_per_bit: tuple[float, float, float] = (0, 0, 0)
    tap: tuple[float, float, float] = (0, 0, 0)
    tap_slow: tuple[float, float, float] = (0, 0, 0)
    loader: tuple[float, float, float] = (0, 0, 0)
    boards: str = ""

    @property
    def sustained_bytes_per_cycle(self) -> float:
        return self.sustained * self.data_bits / 8

    def _stream(
        self, width: int, region: bool = False, slow: bool = False, tap: bool = False
    ) -> tuple[float, ...]:
        """`stream_cost` before rounding."""
        if tap:
            cost = self.tap_slow if slow else self.tap
        elif region:
            cost = self.reader_slow if slow else self.reader
        else:
            cost = self.fifo_slow if slow else self.fifo
        share = 0.5 if region or tap else 1.0
        per_bit = (
            self.reader_slow_per_bit if region and slow else [share * p for p in self.fifo_per_bit]
        )
        extra = self.word_bits(width) - self.data_bits
        return tuple(c + p * extra for c, p in zip(cost, per_bit, strict=True))

    def stream_cost(
        self, width: int, region: bool = False, slow: bool = False, tap: bool = False
    ) -> tuple:
        """(LUT, FF, LUTRAM) of one stream for `width`-bit words: a buffer's (both ways), a
        region's or a buffer's tap (read side only: half the per-bit cost; a slow region's is
        `reader_slow_per_bit`), slow (one burst of staging) or not; the cost at the chip's width
        plus the per-bit cost of a wider word (its converters)."""
        return tuple(round(x) for x in self._stream(width, region, slow, tap))

    def fifo_cost(self, width: int) -> tuple[int, int, int]:
        """(LUT, FF, LUTRAM) of one buffer's stream (`stream_cost`)."""
        return self.stream_cost(width)

    def reader_cost(self, width: int) -> tuple[int, int, int]:
        """(LUT, FF, LUTRAM) of one weight region's stream (`stream_cost`)."""
        return self.stream_cost(width, region=True)

    def tier_cost(
        self, fifo_widths: list[int], region_widths: list[int],
        slow_fifo_widths: list[int] = (), slow_region_widths: list[int] = (),
        tap_widths: list[int] = (), slow_tap_widths: list[int] = (),
    ) -> tuple[int, int, int]:  # fmt: skip
        """(LUT, FF, LUTRAM) of a tier: the controller and the stream engine's shared part
        (schedulers, pointer tables, its DMA ports: the crossbar has two to four ports whatever
        the design), each buffer's stream, each weight region's stream (the slow ones, staging one
        burst, `fifo_slow` and `reader_slow`) and, with regions, their loader. Every term is
        linear: the schedulers' round robins are linear in the streams."""
        kinds = [  # (widths, region, slow, tap)
            (fifo_widths, False, False, False), (region_widths, True, False, False),
            (slow_fifo_widths, False, True, False), (slow_region_widths, True, True, False),
            (tap_widths, False, False, True), (slow_tap_widths, False, True, True),
        ]  # fmt: skip
        parts = [self._stream(w, *kind) for widths, *kind in kinds for w in widths]
        if region_widths or slow_region_widths:
            parts.append(self.loader)
        return tuple(round(b + sum(p[k] for p in parts)) for k, b in enumerate(self.base))

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
# Logic fitted to Yosys 0.70 synth_ecp5 of the tier with GENSDRPHY (the stream engine): 8 and 24
# 16-bit buffers (2640, 5634 LUT; 864, 1606 FF; 174, 438 LUTRAM) give the per-stream and shared
# costs, 4 x 64-bit buffers (2133 LUT, 964 FF) the per-bit one, 8 regions x 32 bits (1684 LUT,
# 924 FF, 107 LUTRAM) and 4 x 16 + 4 regions x 64 (2344, 1075, 148) the regions' and the loader's.
# `sustained`: the lowest share any mix of `make bench-dram` measured with several streams (0.703
# at 4 x 16 bits, 0.707 at 16 x 8; one stream alone: 0.83-0.84).
# Slow streams (one burst of staging): 24 x 16-bit buffers 4835 LUT, 1510 FF, 246 LUTRAM; 8 regions
# x 32 bits 1504, 908, 75.
# Slow regions, refitted at scale (insta_resnet18's tier has 103 of them, and the 8-region fit
# gave 19.5 LUT each, 0.72 of Yosys on its whole tier): 16, 48 and 96 regions x 12 bits 1803,
# 3289, 5425 LUT (45 each, linear), 769, 1319, 2139 FF, 91, 193, 346 LUTRAM; 24 regions x 68 bits
# 2460, 2648, 146 give the per-bit cost (`reader_slow_per_bit`, 0.11 LUT a bit, not the fifos').
# Taps (a second reader of a buffer's ring), the difference of two tiers synthesised together:
# 8 x 16-bit buffers 2657 LUT, 864 FF, 174 LUTRAM, with a tap each 3553, 1122, 240; slow, 24 of
# them 4848, 1510, 246 and 6968, 2232, 345.
_SDR_TIER = dict(base=(1144, 493, 42), fifo=(187, 46, 16.5), fifo_per_bit=(1.25, 1.5, 0),
                 reader=(32, 21, 6), fifo_slow=(154, 42, 8.5), reader_slow=(45.5, 17.1, 3.2),
                 reader_slow_per_bit=(0.11, 0.65, 0.01),
                 tap=(112, 32, 8.25), tap_slow=(88, 30, 4.1),
                 loader=(204, 171, 15))  # fmt: skip
ULX3S_SDRAM = {
    "MT48LC16M16": Dram(
        "MT48LC16M16", 16, 32 << 20, 0.70, **_SDR_TIER, boards="ULX3S v3.0.x (32 MB)"
    ),  # fmt: skip
    "AS4C32M16": Dram("AS4C32M16", 16, 64 << 20, 0.70, **_SDR_TIER, boards="ULX3S with 64 MB"),
}
# U250 (xcu250): 1,728,000 LUT, 3,456,000 FF, 2,688 RAMB36, 1,280 URAM288, 12,288 DSP (DS962).
# LUTRAM: distributed RAM cells the part holds, where it is a separate limit. The LFE5U-85F's
# RAM-capable LUTs are 10,455 (nextpnr-ecp5's "RAM LUTs" on this part), four to a
# TRELLIS_DPR16X4: 2,613 cells, whatever the LUTs left (docs/dram.md: insta_resnet18 reached
# 2,621). Not modelled for the Xilinx parts (their LUT RAM is SLICEM LUTs, far from the limit).
ECP5_85F_DPR16X4 = 10455 // 4
TARGETS = {
    "ulx3s": Target(
        "ulx3s",
        "LFE5U-85F-6BG381C",
        "ecp5",
        {"LUT": 83640, "FF": 83640, "BRAM": 208, "DSP": 156, "LUTRAM": ECP5_85F_DPR16X4},
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
