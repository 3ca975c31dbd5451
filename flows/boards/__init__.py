"""Board shells, and the UART host protocol they share with the host runner (`flows.run`).

The protocol (docs/ulx3s.md): the host sends CMD_INFER and then exactly one frame of pixel bytes;
the board answers with the result in `result_bytes(out_bits)` bytes, least significant first.
CMD_ID asks for the ID_LEN-byte identification reply laid out by `id_reply`. CMD_LOAD starts the
weight image of a design with weights in DRAM (its bytes, a fixed count); STATUS_WEIGHTS_LOADED
says it is in place. Any other byte between frames is ignored, which is how a host resynchronises
(`flows.run.BoardLink.resync`).
"""

from __future__ import annotations

import zlib

CMD_INFER = 0xA5
CMD_ID = 0x5A
CMD_LOAD = 0xB1  # then the weight image's bytes (designs with weights in DRAM)
CMD_BATCH = 0xB2  # then a frame count n (u16 LE) and n frames: stored in the SDRAM
CMD_RUN = 0xB3  # run the stored batch: n results, then the run's cycle count (u32 LE)
CYCLES_BYTES = 4
ID_MAGIC = b"BN"
PROTOCOL_VERSION = 3  # 3: frame bytes u24 (224x224x3 ImageNet frames); 2 had u16
ID_LEN = 11
FRAME_BYTES_MAX = 0xFFFFFF
STATUS_BYTE = 3  # index of the status byte in the identification reply
STATUS_RX_OVERFLOW = 0x01  # a received byte found the board's FIFO full and was dropped
STATUS_FRAMING_ERROR = 0x02  # a received byte had a low stop bit (wrong baud rate or noise)
STATUS_WEIGHTS_LOADED = 0x04  # the weights are in the board's DRAM (always set without any)
STATUS_ERRORS = STATUS_RX_OVERFLOW | STATUS_FRAMING_ERROR


def design_tag(design_id: str) -> int:
    """16-bit tag of a design name, sent in the ID reply so the host can check the bitstream."""
    return zlib.crc32(design_id.encode()) & 0xFFFF


def result_bytes(out_bits: int) -> int:
    """Bytes per result reply: the result word zero-extended to whole bytes."""
    return (out_bits + 7) // 8


def id_reply(
    *, frame_bytes: int, out_bits: int, lanes: int, design_id: str, status: int = 0
) -> bytes:
    """The identification reply: magic "BN", version, status, frame bytes (u24 LE), result bits,
    lanes, design tag (u16 LE)."""
    tag = design_tag(design_id)
    return bytes(
        [
            *ID_MAGIC,
            PROTOCOL_VERSION,
            status,
            *frame_bytes.to_bytes(3, "little"),
            out_bits,
            lanes,
            tag & 0xFF,
            tag >> 8,
        ]
    )
