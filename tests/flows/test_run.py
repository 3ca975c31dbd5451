"""The host runner against a fake board that speaks the UART protocol (flows/run.py)."""

from __future__ import annotations

import numpy as np
import pytest

from flows import boards
from flows.errors import ConfigError
from flows.run import BoardLink, BoardProtocolError, digits_test_set, load_images, main, run_images


def label_model(frame: bytes) -> int:
    """The fake board's 'network': the class index is the sum of the pixels mod 10."""
    return sum(frame) % 10


class FakeBoard:
    """A loopback port that emulates the board's protocol with a Python model."""

    def __init__(self, *, frame_bytes=64, out_bits=4, design_id="digits_bnn", mute=False,
                 load_bytes=0, batch_frames=0):  # fmt: skip
        self.frame_bytes, self.out_bits, self.design_id = frame_bytes, out_bits, design_id
        self.mute = mute
        self.load_bytes = load_bytes  # > 0: weights in DRAM, taken after CMD_LOAD
        self.weights: bytearray | None = None if load_bytes else bytearray()
        self.loading: bytearray | None = None
        self.frame: bytearray | None = None
        self.batch_frames = batch_frames  # > 0: batch mode (CMD_BATCH, CMD_RUN)
        self.batch_header: bytearray | None = None
        self.batch: list[bytes] = []
        self.storing = 0  # frames of a batch still to come
        self.out = bytearray()
        self.max_outstanding = 0

    def write(self, data: bytes) -> int:
        for b in data:
            self._byte(b)
        return len(data)

    def _byte(self, b: int) -> None:
        if self.loading is not None:
            self.loading.append(b)
            if len(self.loading) == self.load_bytes:
                self.weights, self.loading = self.loading, None
        elif self.frame is not None:
            self.frame.append(b)
            if len(self.frame) == self.frame_bytes:
                if self.storing:
                    self.batch.append(bytes(self.frame))
                    self.storing -= 1
                    self.frame = bytearray() if self.storing else None
                    return
                result = label_model(bytes(self.frame))
                self._reply(result.to_bytes(boards.result_bytes(self.out_bits), "little"))
                self.frame = None
        elif self.batch_header is not None:
            self.batch_header.append(b)
            if len(self.batch_header) == 2:
                n = int.from_bytes(self.batch_header, "little")
                self.batch_header = None
                self.batch = []  # a refused count leaves no batch to run, as on the board
                if 0 < n <= self.batch_frames:
                    self.storing, self.frame = n, bytearray()
        elif b == boards.CMD_BATCH and self.batch_frames:
            self.batch_header = bytearray()
        elif b == boards.CMD_RUN and self.batch_frames and self.batch:
            for f in self.batch:
                self._reply(label_model(f).to_bytes(boards.result_bytes(self.out_bits), "little"))
            self._reply((1000 * len(self.batch)).to_bytes(boards.CYCLES_BYTES, "little"))
        elif b == boards.CMD_INFER and self.weights is not None:  # held in reset before
            self.frame = bytearray()
        elif b == boards.CMD_LOAD and self.load_bytes:
            self.loading = bytearray()
        elif b == boards.CMD_ID:
            self._reply(
                boards.id_reply(
                    frame_bytes=self.frame_bytes,
                    out_bits=self.out_bits,
                    lanes=1,
                    design_id=self.design_id,
                    status=boards.STATUS_WEIGHTS_LOADED if self.weights is not None else 0,
                )
            )

    def _reply(self, data: bytes) -> None:
        if not self.mute:
            self.out += data
            self.max_outstanding = max(self.max_outstanding, len(self.out))

    def read(self, size: int = 1) -> bytes:
        data, self.out = bytes(self.out[:size]), self.out[size:]
        return data


def test_identify_and_check() -> None:
    link = BoardLink(FakeBoard())
    info = link.check("digits_bnn")
    assert (info.frame_bytes, info.out_bits) == (64, 4)


def test_identify_reads_a_224x224x3_frame_size() -> None:
    """Protocol 3: the frame size is a u24, so an ImageNet frame (150,528 bytes) is reported."""
    info = BoardLink(FakeBoard(frame_bytes=224 * 224 * 3)).identify()
    assert info.frame_bytes == 150_528 and info.out_bits == 4
    assert info.status == boards.STATUS_WEIGHTS_LOADED  # no weights in DRAM: nothing to load
    assert info.tag == boards.design_tag("digits_bnn")


def test_wrong_design_is_reported() -> None:
    link = BoardLink(FakeBoard(design_id="cifar_cnv"))
    with pytest.raises(BoardProtocolError, match="program the bitstream built for digits_bnn"):
        link.check("digits_bnn")


def test_infer_matches_model_with_window() -> None:
    board = FakeBoard()
    link = BoardLink(board, window=3)
    link.identify()
    board.max_outstanding = 0
    rng = np.random.default_rng(0)
    frames = [bytes(rng.integers(0, 256, 64, dtype=np.uint8)) for _ in range(10)]
    assert link.infer(frames) == [label_model(f) for f in frames]
    assert board.max_outstanding == 3  # three frames in flight, one reply byte each


def test_resync_after_a_cut_frame() -> None:
    board = FakeBoard()
    board.write(bytes([boards.CMD_INFER]) + bytes(range(20)))  # a previous run died mid-frame
    link = BoardLink(board)
    link.resync(64)
    assert board.frame is None and not board.out
    x, y = digits_test_set()
    link.identify()
    result = run_images(link, x[:5], np.array([label_model(bytes(r)) for r in x[:5]]))
    assert result.accuracy == 1.0


def test_silent_board_times_out() -> None:
    link = BoardLink(FakeBoard(mute=True), reply_timeout_s=0.05)
    with pytest.raises(BoardProtocolError, match="no identification reply"):
        link.identify()


def test_frames_of_the_wrong_size_are_refused() -> None:
    link = BoardLink(FakeBoard(frame_bytes=64))
    link.identify()
    with pytest.raises(ConfigError, match="the board takes 64"):
        link.infer([bytes(63)])


def test_digits_split_is_the_projects() -> None:
    from sw.data import digits

    x, y = digits_test_set()
    split = digits()
    assert np.array_equal(x, split.x_test) and np.array_equal(y, split.y_test)


def test_images_file(tmp_path) -> None:
    path = tmp_path / "imgs.npz"
    np.savez(path, x=np.zeros((3, 8, 8), np.uint8), y=np.array([1, 2, 3]))
    x, y = load_images("any", path)
    assert x.shape == (3, 64) and list(y) == [1, 2, 3]
    with pytest.raises(ConfigError, match="cannot read images"):
        load_images("any", tmp_path / "missing.npz")


def test_missing_port_is_one_line_and_nonzero(capsys) -> None:
    code = main(["--port", "/dev/does-not-exist", "--images", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1
    assert err[0].startswith("error: cannot open serial port /dev/does-not-exist")


def test_weights_are_loaded_before_frames() -> None:
    """A design with weights in DRAM: the status says they are missing until the image is sent."""
    board = FakeBoard(load_bytes=8)
    link = BoardLink(board, reply_timeout_s=0.5)
    assert not link.check("digits_bnn").status & boards.STATUS_WEIGHTS_LOADED
    image = bytes([boards.CMD_INFER, 1, 2, 3, 4, 5, 6, 7])  # a command byte inside the image
    info = link.load_weights(image, poll_s=0.01)
    assert info.status & boards.STATUS_WEIGHTS_LOADED and board.weights == image
    frame = bytes(range(64))
    assert link.infer([frame]) == [label_model(frame)]
    with pytest.raises(ConfigError, match="16-bit words"):
        link.load_weights(b"\x01\x02\x03")
    short = BoardLink(FakeBoard(load_bytes=8), reply_timeout_s=0.2)
    short.check("digits_bnn")
    with pytest.raises(BoardProtocolError, match="image is shorter than its bitstream expects"):
        short.load_weights(bytes(6), poll_s=0.01)  # two bytes short: the ID byte is taken too


def test_a_batch_is_stored_then_run_with_its_cycle_count() -> None:
    board = FakeBoard(batch_frames=4)
    link = BoardLink(board, reply_timeout_s=0.3)
    link.check("digits_bnn")
    frames = [bytes([i] * 64) for i in range(3)] + [bytes([boards.CMD_RUN] * 64)]
    results, cycles = link.run_batch(frames)
    assert results == [label_model(f) for f in frames] and cycles == 4000
    with pytest.raises(BoardProtocolError, match="stores at most the batch its bitstream"):
        link.run_batch([bytes(64)] * 5)  # over the board's capacity: no reply
    with pytest.raises(ConfigError, match="1 to 65535 frames"):
        link.run_batch([])


def test_batches_sum_their_cycles() -> None:
    from flows.run import run_batches

    link = BoardLink(FakeBoard(batch_frames=4), reply_timeout_s=0.3)
    link.check("digits_bnn")
    x = np.arange(10 * 64, dtype=np.uint8).reshape(10, 64)
    y = np.array([label_model(bytes(r)) for r in x])
    result, cycles = run_batches(link, x, y, 4)
    assert result.correct == 10 and cycles == 1000 * 10  # batches of 4, 4 and 2
