"""cocotb testbench of `ulx3s_top` with weights in DRAM (the stand-in accel_dram_top of
standin_accel_dram.v): the weight image goes in after CMD_LOAD, the ID reply's status says when it
is in place, and every result depends on every weight word (the stand-in's checksum)."""

from __future__ import annotations

import random

import cocotb

from flows import boards
from tests.hw.boards.ulx3s_tb import infer, model, setup


def checksum(image: bytes) -> int:
    """The stand-in's checksum of the image's 16-bit words (first byte low): c = rotl(c) ^ w."""
    c = 0
    for i in range(0, len(image), 2):
        c = (((c << 1) | (c >> 15)) & 0xFFFF) ^ (image[i] | image[i + 1] << 8)
    return c


def fold(c: int) -> int:
    return (c ^ c >> 4 ^ c >> 8 ^ c >> 12) & 0xF


async def status(uart) -> int:
    await uart.send(bytes([boards.CMD_ID]))
    return (await uart.receive(boards.ID_LEN))[boards.STATUS_BYTE]


@cocotb.test()
async def weights_then_frames(dut):
    """Before the load the status lacks STATUS_WEIGHTS_LOADED; CMD_LOAD and the image's bytes
    (command bytes among them) set it; then frames come back right, with the image's checksum."""
    cfg, uart = await setup(dut)
    load_bytes = int(cocotb.plusargs["load_bytes"])
    rng = random.Random(5)
    image = bytes([boards.CMD_LOAD, boards.CMD_INFER, boards.CMD_ID, 0]) + bytes(
        rng.randint(0, 255) for _ in range(load_bytes - 4)
    )
    assert await status(uart) == 0, "weights reported loaded before the image was sent"
    await uart.send(bytes([boards.CMD_LOAD]) + image)
    await uart.idle(2)
    assert await status(uart) == boards.STATUS_WEIGHTS_LOADED
    frames = [bytes(rng.randint(0, 255) for _ in range(cfg.frame_bytes)) for _ in range(3)]
    got = await infer(uart, cfg, frames)
    assert got == [model(f) ^ fold(checksum(image)) for f in frames]


@cocotb.test()
async def batch_stored_then_run(dut):
    """CMD_BATCH stores frames in the SDRAM region, CMD_RUN streams them through the accelerator:
    one result per frame, in order, then the run's cycle count (u32 LE), at least the cycles the
    stand-in needs to consume the frames' bytes (one per cycle) and far below the UART's time."""
    cfg, uart = await setup(dut)
    load_bytes = int(cocotb.plusargs["load_bytes"])
    rng = random.Random(6)
    image = bytes(rng.randint(0, 255) for _ in range(load_bytes))
    await uart.send(bytes([boards.CMD_LOAD]) + image)
    await uart.idle(2)
    assert await status(uart) == boards.STATUS_WEIGHTS_LOADED
    frames = [bytes(rng.randint(0, 255) for _ in range(cfg.frame_bytes)) for _ in range(3)]
    frames[1] = bytes([boards.CMD_RUN, boards.CMD_BATCH] * (cfg.frame_bytes // 2))  # as pixels
    await uart.send(bytes([boards.CMD_BATCH, 3, 0]) + b"".join(frames))
    await uart.idle(2)
    assert uart.received.empty(), "a reply to a stored batch before it runs"
    await uart.send(bytes([boards.CMD_RUN]))
    n = boards.result_bytes(cfg.out_bits)
    reply = await uart.receive(3 * n + boards.CYCLES_BYTES)
    got = [int.from_bytes(reply[i * n : (i + 1) * n], "little") for i in range(3)]
    assert got == [model(f) ^ fold(checksum(image)) for f in frames]
    cycles = int.from_bytes(reply[3 * n :], "little")
    assert 3 * cfg.frame_bytes <= cycles < 3 * cfg.frame_bytes * 10 * cfg.clks_per_bit, cycles
    # the same batch again, and an ordinary frame in between still works
    single = frames[0]
    assert await infer(uart, cfg, [single]) == [model(single) ^ fold(checksum(image))]
    await uart.send(bytes([boards.CMD_RUN]))
    again = await uart.receive(3 * n + boards.CYCLES_BYTES)
    assert again[: 3 * n] == reply[: 3 * n]
