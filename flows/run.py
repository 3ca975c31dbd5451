"""`python -m flows.run`: run images through a board over its UART and report accuracy and speed.

    python -m flows.run --port /dev/ttyUSB0 --baud 115200 --images 360 [--model digits_bnn]
                        [--images-file images.npz] [--weights build/.../weights.bin]
                        [--batch 16 --clock-mhz 50]

The protocol (docs/ulx3s.md, constants in flows.boards) is spoken by `BoardLink`, which takes any
object with pyserial's `read(n)` / `write(data)` (a `serial.Serial`, or a fake board in the tests).
Images default to the project's digits test split (sklearn `load_digits`, the split of
sw/data.py: 20 % test, stratified, seed 0); `--images-file` reads an .npz with `x` (N, frame bytes,
uint8) and `y` (N,) labels instead. A design with weights in DRAM waits for its weight image
(`weights.bin` of its build, docs/dram.md): `--weights` sends it when the board says it is not
loaded yet (status bit STATUS_WEIGHTS_LOADED).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from flows import boards
from flows.errors import ConfigError, FlowError

DIGITS_SPLIT_SEED = 0  # must equal sw.data.DIGITS_SPLIT_SEED (tests/flows/test_run.py checks)


class BoardProtocolError(FlowError):
    """The board did not answer as the protocol says (no reply, wrong design, bad ID reply)."""


class Port(Protocol):
    """The part of pyserial's `Serial` that BoardLink uses."""

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...


@dataclass(frozen=True)
class BoardInfo:
    """The fields of the board's identification reply."""

    version: int
    status: int
    frame_bytes: int
    out_bits: int
    lanes: int
    tag: int


class BoardLink:
    """Host side of the UART protocol: identify the design, resynchronise, run frames.

    `port.read(n)` may return fewer than n bytes (pyserial does on its timeout); replies are awaited
    up to `reply_timeout_s` seconds. `window` frames may be in flight at once: the board answers in
    order, and keeping a few queued hides the turnaround between frames.
    """

    def __init__(self, port: Port, *, reply_timeout_s: float = 2.0, window: int = 4) -> None:
        self.port = port
        self.reply_timeout_s = reply_timeout_s
        self.window = window
        self.info: BoardInfo | None = None

    def _read_exact(self, n: int, what: str) -> bytes:
        data = b""
        deadline = time.monotonic() + self.reply_timeout_s
        while len(data) < n:
            chunk = self.port.read(n - len(data))
            if chunk:
                data += chunk
            elif time.monotonic() > deadline:
                raise BoardProtocolError(
                    f"no {what} from the board within {self.reply_timeout_s:g} s "
                    f"({len(data)} of {n} bytes); check the port, the baud rate and that the "
                    f"board is programmed"
                )
        return data

    def drain(self, quiet_s: float = 0.1) -> bytes:
        """Read and return whatever the board still sends, until it is quiet for `quiet_s`."""
        got = b""
        deadline = time.monotonic() + quiet_s
        while time.monotonic() < deadline:
            chunk = self.port.read(256)
            if chunk:
                got += chunk
                deadline = time.monotonic() + quiet_s
        return got

    def resync(self, frame_bytes: int) -> None:
        """Bring the board back to "between frames" from any state.

        A frame's worth of zero bytes completes a frame the board may be in the middle of (its reply
        is discarded) and is ignored otherwise (0x00 is no command); then stale replies are drained.
        """
        self.port.write(bytes(frame_bytes))
        self.drain()

    def identify(self) -> BoardInfo:
        """Ask for the identification reply and parse it."""
        self.port.write(bytes([boards.CMD_ID]))
        reply = self._read_exact(boards.ID_LEN, "identification reply")
        if reply[:2] != boards.ID_MAGIC or reply[2] != boards.PROTOCOL_VERSION:
            raise BoardProtocolError(
                f"unexpected identification reply {reply.hex()} (want magic "
                f"{boards.ID_MAGIC.hex()} and version {boards.PROTOCOL_VERSION}); is this a "
                f"bitstream of this toolkit, at this baud rate?"
            )
        self.info = BoardInfo(
            version=reply[2],
            status=reply[boards.STATUS_BYTE],
            frame_bytes=int.from_bytes(reply[4:7], "little"),
            out_bits=reply[7],
            lanes=reply[8],
            tag=int.from_bytes(reply[9:11], "little"),
        )
        return self.info

    def check(self, design_id: str) -> BoardInfo:
        """Identify the board and check it runs `design_id`."""
        info = self.identify()
        want = boards.design_tag(design_id)
        if info.tag != want:
            raise BoardProtocolError(
                f"the board runs a design with tag 0x{info.tag:04x}, not {design_id!r} "
                f"(tag 0x{want:04x}); program the bitstream built for {design_id}"
            )
        return info

    def _check_frames(self, frames: Sequence[bytes]) -> None:
        """The board is identified and every frame has its frame size."""
        if self.info is None:
            raise BoardProtocolError("identify() the board before sending frames")
        for f in frames:
            if len(f) != self.info.frame_bytes:
                raise ConfigError(
                    f"a frame has {len(f)} bytes but the board takes {self.info.frame_bytes}; "
                    f"the images do not fit this design"
                )

    def load_weights(self, image: bytes, poll_s: float = 0.2) -> BoardInfo:
        """Send the weight image after CMD_LOAD and wait until the board reports it in place."""
        if len(image) % 2:
            raise ConfigError(f"a weight image is 16-bit words; {len(image)} bytes is not one")
        self.port.write(bytes([boards.CMD_LOAD]) + bytes(image))
        deadline = time.monotonic() + self.reply_timeout_s
        while True:
            try:
                info = self.identify()
            except BoardProtocolError:
                raise BoardProtocolError(
                    f"no reply after the {len(image):,}-byte weight image: the board still takes "
                    "image bytes, so the image is shorter than its bitstream expects; send the "
                    "weights.bin built with this bitstream (press the reset button first)"
                ) from None
            if info.status & boards.STATUS_WEIGHTS_LOADED:
                return info
            if time.monotonic() > deadline:
                raise BoardProtocolError(
                    f"the board did not report its weights loaded within {self.reply_timeout_s:g} s "
                    f"after {len(image)} bytes; is the image the one built with this bitstream "
                    "(its length must match), and the baud rate right?"
                )
            time.sleep(poll_s)

    def run_batch(self, frames: Sequence[bytes]) -> tuple[list[int], int]:
        """Store `frames` in the board's SDRAM (CMD_BATCH), run them (CMD_RUN) and return their
        results and the run's cycle count, measured on the board from the run's start to its
        last result: the accelerator's time, without the UART's."""
        self._check_frames(frames)
        if not 0 < len(frames) <= 0xFFFF:
            raise ConfigError(f"a batch holds 1 to 65535 frames, not {len(frames)}")
        n = len(frames)
        self.port.write(bytes([boards.CMD_BATCH, n & 0xFF, n >> 8]) + b"".join(map(bytes, frames)))
        self.port.write(bytes([boards.CMD_RUN]))
        n_reply = boards.result_bytes(self.info.out_bits)
        try:
            reply = self._read_exact(n * n_reply + boards.CYCLES_BYTES, "batch results")
        except BoardProtocolError:
            raise BoardProtocolError(
                f"no results for a batch of {n} frames: the board stores at most the batch its "
                "bitstream was built for (summary.json shell.batch_frames), and only designs "
                "with the DRAM tier have batch mode; use fewer frames per batch"
            ) from None
        results = [int.from_bytes(reply[i * n_reply : (i + 1) * n_reply], "little")
                   for i in range(n)]  # fmt: skip
        return results, int.from_bytes(reply[n * n_reply :], "little")

    def infer(self, frames: Sequence[bytes]) -> list[int]:
        """Send frames (at most `window` outstanding) and return one result per frame."""
        self._check_frames(frames)
        n_reply = boards.result_bytes(self.info.out_bits)
        results: list[int] = []
        sent = 0
        while len(results) < len(frames):
            while sent < len(frames) and sent - len(results) < self.window:
                self.port.write(bytes([boards.CMD_INFER]) + bytes(frames[sent]))
                sent += 1
            reply = self._read_exact(n_reply, f"result for frame {len(results)}")
            results.append(int.from_bytes(reply, "little"))
        return results


def digits_test_set() -> tuple[np.ndarray, np.ndarray]:
    """The project's digits test split: (360, 64) uint8 grey levels 0..16 and labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    _, x_test, _, y_test = train_test_split(
        d.data.astype(np.uint8), d.target, test_size=0.2, random_state=DIGITS_SPLIT_SEED,
        stratify=d.target,
    )  # fmt: skip
    return x_test, y_test.astype(np.int64)


IMAGE_SETS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {"digits_bnn": digits_test_set}


def load_images(model: str, images_file: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, frame bytes) uint8 and labels from `images_file`, or the model's test set."""
    if images_file is not None:
        try:
            with np.load(images_file) as f:
                x, y = f["x"], f["y"]
        except (OSError, KeyError, ValueError) as e:
            raise ConfigError(
                f"cannot read images from {images_file} ({e}); give an .npz with arrays "
                f"'x' (N, frame bytes, uint8) and 'y' (N,)"
            ) from None
    elif model in IMAGE_SETS:
        x, y = IMAGE_SETS[model]()
    else:
        raise ConfigError(f"no built-in images for model {model!r}; pass --images-file")
    x = np.asarray(x).reshape(len(x), -1)
    if x.min(initial=0) < 0 or x.max(initial=0) > 255 or len(x) != len(y):
        raise ConfigError("images must be UINT8 pixels (0..255) with one label per image")
    return x.astype(np.uint8), np.asarray(y).astype(np.int64)


@dataclass(frozen=True)
class RunResult:
    """Outcome of a run: predictions, accuracy and wall time."""

    predictions: list[int]
    correct: int
    seconds: float

    @property
    def accuracy(self) -> float:
        return self.correct / max(1, len(self.predictions))


def run_images(link: BoardLink, x: np.ndarray, y: np.ndarray) -> RunResult:
    """Run every image through the board and compare with the labels."""
    start = time.perf_counter()
    preds = link.infer([bytes(row) for row in x])
    seconds = time.perf_counter() - start
    return RunResult(preds, int(np.sum(np.asarray(preds) == y)), seconds)


def run_batches(link: BoardLink, x: np.ndarray, y: np.ndarray, batch: int) -> tuple[RunResult, int]:
    """Run every image in stored batches of `batch`; the result and the summed on-chip cycles."""
    start, preds, cycles = time.perf_counter(), [], 0
    for i in range(0, len(x), batch):
        got, c = link.run_batch([bytes(row) for row in x[i : i + batch]])
        preds += got
        cycles += c
    seconds = time.perf_counter() - start
    return RunResult(preds, int(np.sum(np.asarray(preds) == y)), seconds), cycles


def _report(result: RunResult, baud: int, frame_bytes: int) -> str:
    n = len(result.predictions)
    rate = n / result.seconds if result.seconds > 0 else float("inf")
    link_bound = baud / (10 * (frame_bytes + 1))  # 8N1: 10 bits per byte, command + pixels
    return (
        f"{n} images: accuracy {100 * result.accuracy:.2f} % ({result.correct}/{n}); "
        f"{rate:.1f} images/s ({1000 / rate:.2f} ms per image); "
        f"the {baud}-baud link allows at most {link_bound:.1f} images/s"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m flows.run", description=__doc__.splitlines()[0])
    p.add_argument("--port", required=True, help="serial port of the board, e.g. /dev/ttyUSB0")
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--images", type=int, default=None, help="number of images (default: all)")
    p.add_argument("--model", default="digits_bnn", help="the design the board must be running")
    p.add_argument("--images-file", type=Path, default=None)
    p.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for a reply")
    p.add_argument(
        "--batch",
        type=int,
        default=0,
        help="store this many images at a time in the board's SDRAM and run them there "
        "(batch mode: the board's own cycle count gives the accelerator's frames/s)",
    )
    p.add_argument("--clock-mhz", type=float, default=None,
                   help="the design's clock (summary.json shell.clock_mhz), for --batch")  # fmt: skip
    p.add_argument("--weights", type=Path, default=None,
                   help="the build's weights.bin, for a design with weights in DRAM")  # fmt: skip
    args = p.parse_args(argv)
    try:
        import serial

        x, y = load_images(args.model, args.images_file)
        if args.images is not None:
            x, y = x[: args.images], y[: args.images]
        if len(x) == 0:
            raise ConfigError("no images to run; --images must be at least 1")
        try:
            port = serial.Serial(args.port, args.baud, timeout=0.05)
        except serial.SerialException as e:
            raise BoardProtocolError(
                f"cannot open serial port {args.port}: {e}; is the board plugged in, and may "
                f"you use the port (group dialout)?"
            ) from None
        with port:
            link = BoardLink(port, reply_timeout_s=args.timeout)
            link.resync(x.shape[1])
            info = link.check(args.model)
            if not info.status & boards.STATUS_WEIGHTS_LOADED:
                if args.weights is None:
                    raise ConfigError(
                        "the board waits for its weight image (weights in DRAM): pass --weights "
                        "with the weights.bin of its build"
                    )
                t0 = time.perf_counter()
                info = link.load_weights(args.weights.read_bytes())
                print(f"weights loaded: {args.weights.stat().st_size:,} bytes in "
                      f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
            if info.status & boards.STATUS_ERRORS:
                print(f"warning: board status 0x{info.status:02x} (errors since its reset)")
            if args.batch:
                if not args.clock_mhz:
                    raise ConfigError("--batch needs --clock-mhz (summary.json shell.clock_mhz)")
                result, cycles = run_batches(link, x, y, args.batch)
                seconds = cycles / (args.clock_mhz * 1e6)
                print(f"accelerator: {len(x)} images in {cycles:,} cycles at {args.clock_mhz:g} "
                      f"MHz: {len(x) / seconds:.1f} images/s (on-chip count)")  # fmt: skip
            else:
                result = run_images(link, x, y)
        print(_report(result, args.baud, info.frame_bytes))
        return 0
    except FlowError as e:
        print(f"error: {str(e).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
