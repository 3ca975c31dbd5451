"""What the multi-port cocotb benches (insta_bench, streams_bench) share: per-port stream
packing for the checker and the random-rate settings drawn independently per port."""

from __future__ import annotations

import numpy as np

from flows.datatypes import pack_words, unpack_words

# Drawn independently per port every RATE_PERIOD cycles: tready probabilities of each output
# (0.0: a stall longer than the period) and tvalid-gap probabilities of each input.
READY_RATES = [1.0, 0.9, 0.6, 0.3, 0.1, 0.0]
GAP_RATES = [0.0, 0.3, 0.5, 0.7]
RATE_PERIOD = 37
PERF_FRAMES = 12
SIGNALS = ("tdata", "tvalid", "tready")


class PortModel:
    """The stream packing of one port (and what `layer_bench.check` needs of a model)."""

    def __init__(self, port) -> None:
        self.port, self.out_per_frame = port, port.words

    def words(self, values: np.ndarray) -> list[int]:
        t = self.port.dtype
        return pack_words(t.encode(values).reshape(-1), t.bits, self.port.lanes)

    def lanes(self, word: int) -> list[int]:
        t = self.port.dtype
        return t.decode(unpack_words([word], t.bits, self.port.lanes)).tolist()
