"""cocotb testbench of `ulx3s_top` (PLL bypassed with SIM) around the stand-in accelerator.

Driver: a UART transmitter on ftdi_txd. Monitor: a UART receiver on ftdi_rxd that also checks the
stop bit. Model: the stand-in's position-weighted sum mod 10 (see standin_accel.v). Checker: each test compares the bytes
the board returns with the model. The configuration arrives as plusargs from test_ulx3s_sim.py.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.clock import Clock
from cocotb.queue import Queue
from cocotb.triggers import ClockCycles, FallingEdge, with_timeout

from flows import boards


class Config:
    """Shell parameters passed by the pytest runner as plusargs."""

    def __init__(self) -> None:
        args = cocotb.plusargs
        self.clks_per_bit = int(args["clks_per_bit"])
        self.frame_bytes = int(args["frame_bytes"])
        self.lanes = int(args["lanes"])
        self.out_bits = int(args["out_bits"])
        self.design_id = str(args["design_id"])


def model(frame: bytes) -> int:
    """Golden result of the stand-in accelerator: Fletcher's second sum mod 10."""
    n = len(frame)
    return sum((n - i) * b for i, b in enumerate(frame)) % 10


class Uart:
    """Host side of the serial line: a byte driver and a byte monitor with a receive queue."""

    def __init__(self, dut, cfg: Config) -> None:
        self.dut = dut
        self.cpb = cfg.clks_per_bit
        self.received: Queue[int] = Queue()
        dut.ftdi_txd.value = 1

    def start(self) -> None:
        cocotb.start_soon(self._monitor())

    async def send(self, data: bytes, *, stop_bit: int = 1) -> None:
        for byte in data:
            for bit in [0, *[(byte >> i) & 1 for i in range(8)], stop_bit]:
                self.dut.ftdi_txd.value = bit
                await ClockCycles(self.dut.clk_25mhz, self.cpb)
            self.dut.ftdi_txd.value = 1

    async def _monitor(self) -> None:
        clk, line = self.dut.clk_25mhz, self.dut.ftdi_rxd
        while True:
            await FallingEdge(line)
            await ClockCycles(clk, self.cpb // 2)
            assert int(line.value) == 0, "start bit shorter than half a bit"
            value = 0
            for i in range(8):
                await ClockCycles(clk, self.cpb)
                value |= int(line.value) << i
            await ClockCycles(clk, self.cpb)
            assert int(line.value) == 1, "stop bit of a byte sent by the board is low"
            self.received.put_nowait(value)

    async def receive(self, n: int) -> bytes:
        timeout = 40 * self.cpb * (n + 2)  # 10 bits per byte, generous margin, in 40 ns cycles
        out = [await with_timeout(self.received.get(), timeout * 40, "ns") for _ in range(n)]
        return bytes(out)

    async def idle(self, n_bytes: int) -> None:
        await ClockCycles(self.dut.clk_25mhz, 10 * self.cpb * n_bytes)


async def setup(dut) -> tuple[Config, Uart]:
    """Clock, UART and a button reset (btn[0] is active low)."""
    cfg = Config()
    cocotb.start_soon(Clock(dut.clk_25mhz, 40, unit="ns").start())
    uart = Uart(dut, cfg)
    dut.btn.value = 0
    await ClockCycles(dut.clk_25mhz, 40)
    dut.btn.value = 1
    await ClockCycles(dut.clk_25mhz, 40)
    uart.start()
    return cfg, uart


def frame_bytes(rng: random.Random, cfg: Config, high: int = 255) -> bytes:
    return bytes(rng.randint(0, high) for _ in range(cfg.frame_bytes))


async def infer(uart: Uart, cfg: Config, frames: list[bytes]) -> list[int]:
    """Send frames back to back (no waiting for replies) and collect one reply per frame."""
    n = boards.result_bytes(cfg.out_bits)
    for frame in frames:
        await uart.send(bytes([boards.CMD_INFER]) + frame)
    replies = await uart.receive(n * len(frames))
    return [int.from_bytes(replies[i * n : (i + 1) * n], "little") for i in range(len(frames))]


@cocotb.test()
async def identification(dut):
    """CMD_ID returns the identification reply with a clean status byte (no error flag)."""
    cfg, uart = await setup(dut)
    await uart.send(bytes([boards.CMD_ID]))
    got = await uart.receive(boards.ID_LEN)
    want = boards.id_reply(
        frame_bytes=cfg.frame_bytes,
        out_bits=cfg.out_bits,
        lanes=cfg.lanes,
        design_id=cfg.design_id,
        status=boards.STATUS_WEIGHTS_LOADED,  # no weights in DRAM: always in place
    )
    assert got == want, f"ID reply {got.hex()} != {want.hex()}"


@cocotb.test()
async def frames_back_to_back(dut):
    """Frames sent without waiting (pixel values include the command bytes) all come back right."""
    cfg, uart = await setup(dut)
    rng = random.Random(1)
    frames = [frame_bytes(rng, cfg) for _ in range(3)] + [frame_bytes(rng, cfg, high=16)]
    frames.append(bytes([boards.CMD_INFER, boards.CMD_ID] * (cfg.frame_bytes // 2)))
    got = await infer(uart, cfg, frames)
    assert got == [model(f) for f in frames]


@cocotb.test()
async def garbage_and_resync(dut):
    """Garbage between frames is ignored; a cut frame is flushed by the host's resync sequence."""
    cfg, uart = await setup(dut)
    rng = random.Random(2)
    await uart.send(bytes([0x00, 0xFF, 0x13, 0x42]))
    frame = frame_bytes(rng, cfg)
    assert await infer(uart, cfg, [frame]) == [model(frame)]

    partial = frame_bytes(rng, cfg)[: cfg.frame_bytes // 3]
    await uart.send(bytes([boards.CMD_INFER]) + partial)  # the host gives up mid-frame
    await uart.send(bytes(cfg.frame_bytes))  # resync: a frame's worth of zeros
    n = boards.result_bytes(cfg.out_bits)
    flushed = await uart.receive(n)  # the cut frame, completed with zeros, is answered once
    completed = partial + bytes(cfg.frame_bytes - len(partial))
    assert int.from_bytes(flushed, "little") == model(completed)
    await uart.idle(4)
    assert uart.received.empty(), "more than one reply while resynchronising"

    await uart.send(bytes([boards.CMD_ID]))
    assert (await uart.receive(boards.ID_LEN))[:2] == boards.ID_MAGIC
    frame = frame_bytes(rng, cfg)
    assert await infer(uart, cfg, [frame]) == [model(frame)]


@cocotb.test()
async def reset_mid_frame(dut):
    """The button resets the shell and the accelerator in the middle of a frame."""
    cfg, uart = await setup(dut)
    rng = random.Random(3)
    await uart.send(bytes([boards.CMD_INFER]) + frame_bytes(rng, cfg)[: cfg.frame_bytes // 2])
    dut.btn.value = 0
    await ClockCycles(dut.clk_25mhz, 20)
    dut.btn.value = 1
    await ClockCycles(dut.clk_25mhz, 20)
    frame = frame_bytes(rng, cfg)
    assert await infer(uart, cfg, [frame]) == [model(frame)]
    await uart.idle(4)
    assert uart.received.empty(), "a reply to the frame cut by the reset"


@cocotb.test()
async def framing_error_status(dut):
    """A byte with a low stop bit is dropped and flagged in the ID reply's status byte."""
    cfg, uart = await setup(dut)
    await uart.send(bytes([boards.CMD_INFER]), stop_bit=0)
    await uart.idle(2)
    await uart.send(bytes([boards.CMD_ID]))
    reply = await uart.receive(boards.ID_LEN)
    assert reply[boards.STATUS_BYTE] & boards.STATUS_ERRORS == boards.STATUS_FRAMING_ERROR
    frame = frame_bytes(random.Random(4), cfg)
    assert await infer(uart, cfg, [frame]) == [model(frame)]
