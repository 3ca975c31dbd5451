"""Generated C++ of one small configuration per kernel vs the stored snapshots.

A change to the HLS templates or emitters shows up here as a diff in review. After an intended
change, regenerate the snapshots and commit them with the change:

    .venv/bin/python -m tests.hls.test_snapshots --update

(run from the repository root). The weights and thresholds are closed-form patterns, not random
numbers, so the snapshots do not depend on numpy's generators.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from flows.codegen.hls import render_hls
from flows.datatypes import INT, UINT
from flows.graph import Node
from flows.layers import IntMVAU, Threshold, XnorMVAU

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"
REGENERATE = ".venv/bin/python -m tests.hls.test_snapshots --update"


def _pattern(shape: tuple[int, int], period: int) -> np.ndarray:
    rows, cols = np.indices(shape)
    return (3 * rows + 5 * cols) % period


def snapshot_nodes() -> list[Node]:
    xnor = XnorMVAU(name="snap_xnor", mw=8, mh=4, simd=4, pe=2, num_vectors=2)
    intm = IntMVAU(name="snap_int", mw=4, mh=2, simd=2, pe=1, num_vectors=1,
                   input_type=INT(4), weight_type=INT(4))  # fmt: skip
    thr = Threshold(name="snap_threshold", channels=4, num_thresholds=3, input_type=UINT(4),
                    bipolar_output=False, pe=2)  # fmt: skip
    return [
        Node(xnor, ["x"], ["y"], {"weights": 2 * (_pattern((4, 8), 2)) - 1}),
        Node(intm, ["x"], ["y"], {"weights": _pattern((2, 4), 16) - 8}),
        Node(thr, ["x"], ["y"], {"thresholds": np.sort(_pattern((4, 3), 17), axis=1)}),
    ]


def _rendered() -> dict[str, str]:
    return {name: text for node in snapshot_nodes() for name, text in render_hls(node).items()}


@pytest.mark.parametrize("name", sorted(_rendered()))
def test_generated_code_matches_snapshot(name):
    stored = SNAPSHOT_DIR / name
    assert stored.is_file(), f"missing snapshot {stored}; run {REGENERATE}"
    assert _rendered()[name] == stored.read_text(), (
        f"generated {name} differs from {stored}; if the change is intended, run {REGENERATE}"
    )


def update() -> None:
    """Rewrite every snapshot from the current templates."""
    SNAPSHOT_DIR.mkdir(exist_ok=True)
    for name, text in _rendered().items():
        (SNAPSHOT_DIR / name).write_text(text)
        print(f"wrote {SNAPSHOT_DIR / name}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(f"usage: {REGENERATE}")
    update()
