"""Shared fixtures and the per-suite time table printed at the end of every run."""

from __future__ import annotations

import collections
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_durations: dict[str, float] = collections.defaultdict(float)
_counts: dict[str, int] = collections.defaultdict(int)
_start = time.time()


def _suite(nodeid: str) -> str:
    parts = nodeid.split("::")[0].split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def pytest_runtest_logreport(report) -> None:
    _durations[_suite(report.nodeid)] += report.duration
    if report.when == "call":
        _counts[_suite(report.nodeid)] += 1


def pytest_terminal_summary(terminalreporter) -> None:
    if not _durations:
        return
    tr = terminalreporter
    tr.write_sep("=", "time per suite (summed test time; wall time below)")
    for suite in sorted(_durations):
        tr.write_line(f"  {suite:32s} {_counts[suite]:4d} tests  {_durations[suite]:8.1f} s")
    tr.write_line(f"  {'wall time':32s}             {time.time() - _start:8.1f} s")


@pytest.fixture(scope="session")
def digits_checkpoint(tmp_path_factory) -> Path:
    """A digits_bnn trained once per test worker with the default recipe and seed 0."""
    import torch

    from sw import checkpoint, models
    from sw.train import train_digits

    torch.set_num_threads(1)  # one per xdist worker: 2 workers share 2 cores
    path = tmp_path_factory.mktemp("digits") / "checkpoint.pt"
    torch.manual_seed(0)  # the initial weights too: one model on every run
    model = models.build("digits_bnn")
    result = train_digits(model, epochs=60, seed=0, log=lambda *_: None)
    checkpoint.save(path, "digits_bnn", model, seed=0, **result)
    return path


@pytest.fixture(scope="session")
def digits_onnx(digits_checkpoint, tmp_path_factory) -> Path:
    from sw import checkpoint
    from sw.export import export

    model, _ = checkpoint.load(digits_checkpoint, "digits_bnn")
    return export(model, tmp_path_factory.mktemp("digits_onnx") / "digits_bnn.onnx")
