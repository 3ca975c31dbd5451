"""The external-memory tier's hardware model: a board's DRAM, what a buffer in it costs in traffic,
and the frames per second that traffic allows (docs/dram.md).

A buffer placed in DRAM (an INSTA frame buffer with `buffer="dram"`) is a LiteDRAM FIFO: every
word the layer writes into its buffer goes to DRAM once and comes back once. A word of `w` bits
travels as one port word of `fifo_word_bits(w)` bits (LiteDRAMFIFO moves whole port words; the
crossbar's converters make ports of the chip's width times a power of two). Traffic per frame
is therefore `2 * words * fifo_word_bits / 8` bytes, and the DRAM's sustained bytes per clock
(`Dram.sustained_bytes_per_cycle`, measured in simulation against LiteDRAM's model of the chip,
`make bench-dram`) bound the design at `dram_cycles` clocks per frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Dram:
    """One board's external memory as the tier uses it.

    `chip` names the LiteDRAM module class (`litedram.modules`), `data_bits` its data bus, `bytes`
    its capacity. The controller runs at the accelerator's clock with a full-rate ("1:1") PHY, so a
    clock moves at most `data_bits / 8` bytes; `sustained` is the share of that the tier measured
    with every buffer stream busy (`make bench-dram`: reads and writes interleaved, refresh and
    bank conflicts included). `lut`/`ff` are the controller and crossbar, `fifo_lut`/`fifo_ff` one
    DRAM FIFO (two crossbar ports) at the chip's width, `fifo_*_per_bit` per bit of a wider port
    word; fitted to Yosys synth_ecp5 of the generated tier (docs/dram.md)."""

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
    boards: str = ""

    @property
    def sustained_bytes_per_cycle(self) -> float:
        return self.sustained * self.data_bits / 8

    def fifo_cost(self, width: int) -> tuple[int, int]:
        """(LUT, FF) of one DRAM FIFO for `width`-bit words: the cost at the chip's width plus
        the per-bit cost of a wider port word (its converters and FIFOs)."""
        extra = fifo_word_bits(width, self) - self.data_bits
        return (round(self.fifo_lut + self.fifo_lut_per_bit * extra),
                round(self.fifo_ff + self.fifo_ff_per_bit * extra))  # fmt: skip


def fifo_word_bits(width: int, dram: Dram) -> int:
    """Bits one buffer word occupies in DRAM: the chip's width times the smallest power of two
    that holds the word (LiteDRAMFIFO stores one word per port word)."""
    ratio = max(1, math.ceil(width / dram.data_bits))
    return dram.data_bits * (1 << math.ceil(math.log2(ratio)))


def buffer_traffic(width: int, words_per_frame: int, dram: Dram) -> int:
    """Bytes per frame of one DRAM buffer: each word written once and read once."""
    return 2 * words_per_frame * fifo_word_bits(width, dram) // 8


def dram_cycles(bytes_per_frame: int, dram: Dram) -> int:
    """Clocks per frame the DRAM needs for `bytes_per_frame` at its sustained rate."""
    if bytes_per_frame <= 0:
        return 0
    return math.ceil(bytes_per_frame / dram.sustained_bytes_per_cycle)
