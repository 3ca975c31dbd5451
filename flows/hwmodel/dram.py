"""The external-memory tier's hardware model: a board's DRAM, what a buffer in it costs in traffic,
and the frames per second that traffic allows (docs/dram.md).

A buffer placed in DRAM (an INSTA frame buffer with `buffer="dram"`) is a ring of the tier's
stream engine: every word the layer writes into its buffer goes to DRAM once and comes back
once. A word of `w` bits takes `fifo_word_bits(w)` bits there (the chip's width times a power of
two, or packed several to a chip word when frames fill whole chip words). Traffic per frame
is therefore `2 * words * fifo_word_bits / 8` bytes, and the DRAM's sustained bytes per clock
(`Dram.sustained_bytes_per_cycle`, measured in simulation against LiteDRAM's model of the chip,
`make bench-dram`) bound the design at `dram_cycles` clocks per frame. A region (an MVAU's weights
in DRAM) is loaded once and read `reads_per_frame` times: `region_traffic`. A tap (a second reader
of a buffer's ring) reads each word once more.
"""

from __future__ import annotations

import math

from flows.targets import Dram

__all__ = [
    "Dram", "buffer_traffic", "dram_cycles", "fifo_word_bits", "region_traffic", "side_traffic",
    "slow_stream",
]  # fmt: skip

# A stream that moves at most one chip word per SLOW_CYCLES clocks on each side stages one burst
# instead of two in the tier's stream engine (half the LUT RAM): with one burst in flight it can
# still move a burst per round trip (up to about 100 clocks with the other streams' bursts),
# several times what it needs.
SLOW_CYCLES = 16


def fifo_word_bits(width: int, dram: Dram, per_frame: int = 0) -> int:
    """Bits one buffer word occupies in DRAM (`Dram.word_bits`: packed when frames fill whole
    port words)."""
    return dram.word_bits(width, per_frame)


def buffer_traffic(width: int, words_per_frame: int, dram: Dram, taps: int = 0) -> int:
    """Bytes per frame of one DRAM buffer: each word written once and read once, and once more
    by each of its `taps`."""
    return (2 + taps) * words_per_frame * fifo_word_bits(width, dram, words_per_frame) // 8


def side_traffic(width: int, words_per_frame: int, dram: Dram) -> int:
    """Bytes per frame one side of a DRAM buffer moves (its writes, or one reader's reads): what
    decides whether its stream is slow (`slow_stream`)."""
    return words_per_frame * fifo_word_bits(width, dram, words_per_frame) // 8


def region_traffic(width: int, words: int, reads_per_frame: int, dram: Dram) -> int:
    """Bytes per frame of one region (an MVAU's weights): its words read `reads_per_frame` times
    (packed like a buffer's when the region fills whole port words); the one load is not counted."""
    return reads_per_frame * words * fifo_word_bits(width, dram, words) // 8


def dram_cycles(bytes_per_frame: int, dram: Dram) -> int:
    """Clocks per frame the DRAM needs for `bytes_per_frame` at its sustained rate."""
    if bytes_per_frame <= 0:
        return 0
    return math.ceil(bytes_per_frame / dram.sustained_bytes_per_cycle)


def slow_stream(side_bytes_per_frame: int, cycles_per_frame: int, dram: Dram) -> bool:
    """Whether a stream moving `side_bytes_per_frame` bytes per frame each way (a buffer: half its
    traffic; a region: all of it) at `cycles_per_frame` is slow (SLOW_CYCLES)."""
    chip_words = side_bytes_per_frame * 8 / dram.data_bits
    return chip_words * SLOW_CYCLES <= cycles_per_frame
