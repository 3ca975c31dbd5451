"""The simulation runner reports a failing bench outside pytest too (the build's parity step).

cocotb's runner checks its results file only when PYTEST_CURRENT_TEST is set; flows.sim.runner
reads the verdict itself. Here the RTL is built with one set of thresholds and checked against a
golden model with another, with PYTEST_CURRENT_TEST removed: the mismatch must still raise.
"""

from __future__ import annotations

import numpy as np
import pytest

from flows.codegen import rtl
from flows.datatypes import INT
from flows.graph import Node
from flows.layers import Threshold
from flows.sim import runner


def test_mismatch_is_reported_without_pytest_env(monkeypatch):
    cfg = Threshold("thr_runner", channels=4, num_thresholds=1, input_type=INT(6), pe=2)
    t = np.array([[0], [3], [-5], [10]])
    hw = Node(cfg, [], [], {"thresholds": t})
    wrong = Node(cfg, [], [], {"thresholds": t + 1})
    frames = np.arange(-16, 16).reshape(8, 1, 4)  # hits t and t+1 on every channel
    build = runner.build(cfg.name, lambda d: rtl.emit_layer(hw, d))
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    with pytest.raises(AssertionError, match="cocotb bench failed on thr_runner"):
        runner.run_bench(build, wrong, frames, label="runner-mismatch-outside-pytest")
    # and the right golden model passes under the same conditions
    runner.run_bench(build, hw, frames, label="runner-match-outside-pytest")
