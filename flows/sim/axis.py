"""AXI-Stream verification components for the cocotb benches: driver, back-pressure, monitor.

Timing convention (works the same in Verilator and Icarus): signals are driven right after a
rising edge and sampled in the ReadOnly phase of the same cycle; a transfer sampled there takes
effect at the next rising edge. Each monitor is also the protocol checker of its interface.
"""

from __future__ import annotations

import random
from collections import deque

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import ReadOnly, RisingEdge

CLOCK_NS = 10


class ProtocolError(AssertionError):
    """An AXI-Stream rule was broken on a monitored interface."""


def cycle() -> int:
    """Current clock cycle (sim time / clock period)."""
    return int(get_sim_time("ns")) // CLOCK_NS


class AxisDriver:
    """Source of words with random gaps: tvalid drops with probability `gap` between words.

    While a word is offered it is held until accepted (tvalid/tdata stable while !tready); in a
    gap tdata carries random garbage, so a design that reads tdata without tvalid fails.
    """

    def __init__(self, clk, tdata, tvalid, tready, rng: random.Random, width: int) -> None:
        self.clk, self.tdata, self.tvalid, self.tready = clk, tdata, tvalid, tready
        self.rng, self.width = rng, width
        self.queue: deque[int] = deque()
        self.gap = 0.0
        self._task = None

    def send(self, words: list[int]) -> None:
        self.queue.extend(words)

    def start(self) -> None:
        self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        """Cancel the driver, drop queued words and release tvalid."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.queue.clear()
        self.tvalid.value = 0

    async def _run(self) -> None:
        valid, accepted = False, False
        while True:
            if valid and accepted:
                valid = False
            if not valid:
                if self.queue and self.rng.random() >= self.gap:
                    self.tdata.value = self.queue.popleft()
                    valid = True
                else:
                    self.tdata.value = self.rng.getrandbits(self.width)
            self.tvalid.value = int(valid)
            await ReadOnly()
            accepted = valid and self.tready.value == 1
            await RisingEdge(self.clk)


class ReadyDriver:
    """Random back-pressure: tready is high with probability `ready` in each cycle."""

    def __init__(self, clk, tready, rng: random.Random) -> None:
        self.clk, self.tready, self.rng = clk, tready, rng
        self.ready = 1.0
        self._task = None

    def start(self) -> None:
        self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.tready.value = 0

    async def _run(self) -> None:
        while True:
            self.tready.value = int(self.rng.random() < self.ready)
            await RisingEdge(self.clk)


class AxisMonitor:
    """Records every transfer (word, cycle) and checks the AXI-Stream rules in every cycle.

    Rules: tvalid is 0 or 1 (never X); tdata has no X/Z bit while tvalid; tvalid and tdata hold
    while tvalid && !tready. Checks pause while rst is high (a reset may drop a stalled word).
    """

    def __init__(self, name: str, clk, rst, tdata, tvalid, tready) -> None:
        self.name, self.clk, self.rst = name, clk, rst
        self.tdata, self.tvalid, self.tready = tdata, tvalid, tready
        self.words: list[int] = []
        self.cycles: list[int] = []
        self._task = None

    def start(self) -> None:
        self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def clear(self) -> None:
        self.words.clear()
        self.cycles.clear()

    async def _run(self) -> None:
        stalled: int | None = None
        while True:
            await ReadOnly()
            if self.rst.value != 0:
                stalled = None
            else:
                stalled = self._sample(stalled)
            await RisingEdge(self.clk)

    def _sample(self, stalled: int | None) -> int | None:
        v = self.tvalid.value
        if not v.is_resolvable:
            raise ProtocolError(f"{self.name}: tvalid is {v} at cycle {cycle()}")
        valid = v == 1
        data = None
        if valid:
            d = self.tdata.value
            if not d.is_resolvable:
                raise ProtocolError(f"{self.name}: tdata is {d} while tvalid at cycle {cycle()}")
            data = int(d)
        if stalled is not None and data != stalled:
            what = "tvalid dropped" if not valid else f"tdata changed {stalled:#x} -> {data:#x}"
            raise ProtocolError(f"{self.name}: {what} while stalled (!tready) at cycle {cycle()}")
        ready = self.tready.value == 1
        if valid and ready:
            self.words.append(data)
            self.cycles.append(cycle())
        return data if valid and not ready else None
