"""HLS kernels of INSTA-Th+ and INSTA-PReLU+ (with their SE) vs the golden functions, bit for
bit, on frames that reach every edge of the SE (the cases: tests/hls/insta_cases.py)."""

from __future__ import annotations

import numpy as np
import pytest

from flows.fixedpoint import rne_shift
from flows.layers import kind_of
from flows.layers.insta_se import se_v
from flows.layers.insta_statistics import statistic
from flows.layers.insta_threshold import InstaThreshold
from flows.layers.insta_threshold.golden import thresholds
from tests.hls.insta_cases import FRAMES, _threshold_statistic, assert_csim_matches, assert_ties
from tests.hls.insta_se_cases import FRAME_A, SE_SPECS, se_case, se_golden
from tests.hw.test_insta_se import _ties, internals


@pytest.mark.parametrize("name", [s.name for s in SE_SPECS])
def test_insta_se_csim_matches_golden(name, tmp_path):
    """INSTA-Th+ (all outputs, the S port included) and INSTA-PReLU+ vs the golden functions."""
    assert_csim_matches(se_case(name), se_golden(name), tmp_path)


def _se_reached(cfg, params: dict, x: np.ndarray) -> dict[str, int]:
    """How often the SE of the frames x saturates and ties, per rescaler (before the clamp)."""
    se = cfg.se
    s = statistic(x << cfg.mu_frac_bits, params["mu"])
    it = internals(se, params, s)
    assert np.array_equal(it["v"], se_v(cfg.name, se, params, s, cfg.acc_type.bits))
    m3 = rne_shift(it["pm"], se.m3_shift)
    h = rne_shift(it["ph"], se.hidden_shift)
    v = rne_shift(it["pv"], se.v_shift)
    vt = se.v_type
    return {
        "m3_below": int(np.sum(m3 < -128)), "m3_above": int(np.sum(m3 > 127)),
        "h_above": int(np.sum(h > 255)),
        "v_below": int(np.sum(v < vt.min)), "v_above": int(np.sum(v > vt.max)),
        "m3_ties": _ties(it["pm"], se.m3_shift, -128, 127),
        "h_ties": _ties(it["ph"], se.hidden_shift, 0, 255),
        "v_ties": _ties(it["pv"], se.v_shift, vt.min, vt.max),
    }  # fmt: skip


@pytest.mark.parametrize("name", [s.name for s in SE_SPECS])
def test_insta_se_data_reaches_the_edges(name):
    """m3 saturates at both ends, h at 255, v at both ends of INT(v_bits) (the extremes), and
    every rescaler rounds ties inside its range (m3 on frame A, h on frame B, v where w2 was
    placed); the SE matters: with w2 = 0 (v = 0) outputs of the random frames change."""
    case = se_case(name)
    cfg, params, x = case.node.config, case.node.params, case.inputs[0]
    reached = _se_reached(cfg, params, x)
    assert all(n > 0 for n in reached.values()), reached
    on_a = _se_reached(cfg, params, x[FRAME_A : FRAME_A + 1])
    assert on_a["m3_ties"] == (cfg.channels + 1) // 2 and on_a["v_ties"] > 0  # even channels
    got = se_golden(name)[0]  # equal to the C-simulation (test_insta_se_csim_matches_golden)
    flat = dict(params, se_w2=np.zeros_like(params["se_w2"]))
    without = kind_of(cfg).execute(cfg, flat, case.inputs)[0]
    assert np.mean(without[:FRAMES] != got[:FRAMES]) > 0.05
    if isinstance(cfg, InstaThreshold):  # the permutations of frame A hit T exactly
        th = thresholds(cfg, params, _threshold_statistic(cfg, x, params["mu"]))
        ties = x[-3:] == th[-3:, None, :]
        assert ties.sum() >= 3 and np.all(got[-3:][ties] == 1)
    else:  # y rounds ties (frame 0, _tie_adds), saturates at both ends, both slopes occur
        s = statistic(x << cfg.mu_frac_bits, params["mu"])
        v = se_v(cfg.name, cfg.se, params, s, cfg.acc_type.bits)
        d = (x << cfg.gamma_frac_bits) - params["table"][v - cfg.se.v_type.min][:, None, :]
        y = np.where(d >= 0, params["mul_pos"] * d, params["mul_neg"] * d) + params["add"]
        shift, ot = cfg.shift + cfg.gamma_frac_bits, cfg.output_type
        assert_ties(y, shift, ot)
        q = rne_shift(y, shift)
        assert (q < ot.min).any() and (q > ot.max).any()
        assert (d < 0).any() and (d > 0).any()  # both slopes
