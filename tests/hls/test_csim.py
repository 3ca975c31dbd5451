"""HLS C-simulation vs the golden layer functions, bit for bit (docs/architecture.md section 6,
the verification ladder, rung 3).

Each case (tests/hls/conftest.py) is compiled once and all its frames run in one process; the
frames include the edge cases, and each test also checks that those edges were really reached
(so a test data generator that lost its extremes fails here instead of passing vacuously).
"""

from __future__ import annotations

import numpy as np

from flows.codegen.csim import csim
from flows.datatypes import INT
from flows.graph import Node
from flows.layers import IntMVAU, Threshold, XnorMVAU, kind_of


def _golden(node, x: np.ndarray) -> np.ndarray:
    return kind_of(node.config).execute(node.config, node.params, [x])[0]


def test_csim_matches_golden(hls_case, tmp_path):
    node, x = hls_case.node, hls_case.inputs
    expected = _golden(node, x)
    got = csim(node, x, tmp_path)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)

    cfg = node.config
    if isinstance(cfg, XnorMVAU):
        # popcount 0 (x = -w) and mw (x = w) both occur
        assert got.min() == 0 and got.max() == cfg.mw
    elif isinstance(cfg, IntMVAU):
        # the exact ends of the accumulator range occur: nothing wrapped or saturated
        products = [a * b for a in (cfg.input_type.min, cfg.input_type.max)
                    for b in (cfg.weight_type.min, cfg.weight_type.max)]  # fmt: skip
        assert got.min() == cfg.mw * min(products) and got.max() == cfg.mw * max(products)
    elif isinstance(cfg, Threshold):
        # every output count occurs (0 .. N, or -1/+1 for a bipolar output)
        counts = np.arange(cfg.num_thresholds + 1)
        levels = 2 * counts - 1 if cfg.bipolar_output else counts
        np.testing.assert_array_equal(np.unique(got), levels)


def test_csim_ties_pass_threshold(tmp_path):
    """x == T gives +1 (sign(0) = +1) and x == T - 1 gives -1, channel by channel."""
    cfg = Threshold(name="thr_ties", channels=4, num_thresholds=1, input_type=INT(6), pe=2)
    t = np.array([[-32], [-5], [0], [31]])
    x = np.stack([t.T, t.T - 1]).clip(-32, 31)  # (2 frames, 1 vector, 4 channels)
    node = Node(cfg, ["x"], ["y"], {"thresholds": t})
    got = csim(node, x, tmp_path)
    np.testing.assert_array_equal(got[0], [[1, 1, 1, 1]])
    np.testing.assert_array_equal(got[1], [[1, -1, -1, -1]])  # -33 clipped to -32 still passes
    np.testing.assert_array_equal(got, _golden(node, x))
