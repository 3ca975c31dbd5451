"""HLS kernel of InstaThreshold (INSTA-Th) vs the golden function, bit for bit, on frames that
reach every edge (the cases: tests/hls/insta_cases.py)."""

from __future__ import annotations

import numpy as np
import pytest

from flows.datatypes import INT
from flows.layers import kind_of
from flows.layers.insta_threshold.golden import thresholds
from tests.hls.insta_cases import (
    FRAMES,
    THRESHOLD_CONFIGS,
    _threshold_statistic,
    assert_csim_matches,
    insta_case,
    insta_golden,
)


@pytest.mark.parametrize("name", [c.name for c in THRESHOLD_CONFIGS])
def test_insta_threshold_csim_matches_golden(name, tmp_path):
    """One compile and one process per configuration (the edge tests below need no compiler, so
    parallel workers never build the same binary twice)."""
    assert_csim_matches(insta_case(name), insta_golden(name), tmp_path)


@pytest.mark.parametrize("name", [c.name for c in THRESHOLD_CONFIGS])
def test_insta_threshold_data_reaches_the_edges(name):
    """The frames exercise what the kernel could get wrong: S at both ends of acc_type (which is
    the narrowest type), thresholds clamped at both ends, ties in both directions, and M
    matters (zeroing it changes bits)."""
    case = insta_case(name)
    cfg, params, (x,) = case.node.config, case.node.params, case.inputs
    t = cfg.input_type
    s = _threshold_statistic(cfg, x, params["mu"])
    bound = cfg.num_vectors * cfg.max_deviation**3
    assert s.min() == -bound and s.max() == bound
    assert not INT(cfg.acc_type.bits - 1).allowed(np.array([-bound, bound]))
    th = thresholds(cfg, params, s)
    assert th.min() == t.min - 1 and th.max() == t.max + 1  # clamped on both sides
    ties = x[-5:-2] == th[-5:-2, None, :]  # the permutations of the tie frame
    pos, neg = params["sign"] > 0, params["sign"] < 0
    assert ties[..., pos].sum() >= 3 and ties[..., neg].sum() >= 3
    got = insta_golden(name)[0]  # equal to the C-simulation (test_*_csim_matches_golden)
    assert np.all(got[-5:-2][ties] == 1)  # x == ceil(T) resp. floor(T) gives +1
    flat = dict(params, M=np.zeros_like(params["M"]))
    without_m = kind_of(cfg).execute(cfg, flat, [x])[0]
    assert np.mean(without_m[:FRAMES] != got[:FRAMES]) > 0.05
