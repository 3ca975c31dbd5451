"""Quantisers and residual blocks: residual stream grid, -1 padding, RSign/RPReLU, LSQ, units."""

from __future__ import annotations

import pytest
import torch

from flows.errors import ConfigError
from sw.blocks import BinaryUnit, RPReLU, RSign, pad_bipolar
from sw.lsq import Q_N, Q_P, LsqLinear, SqueezeExcite8
from sw.quant import binary_conv, binary_weight_layers, residual_quant, set_binary_weights


def test_residual_quant_is_pow2_saturating_round_half_even():
    q = residual_quant(8, max_val=8.0).eval()
    scale = float(q.act_quant.scale())
    assert scale == 2.0**-4  # +-8 over 128 levels
    x = torch.tensor([0.5, 1.5, 2.5, -0.5, 1000.0, -1000.0]) * scale
    got = (q(x) / scale).tolist()
    assert got == [0.0, 2.0, 2.0, -0.0, 127.0, -128.0]  # half to even, saturate to INT8


def test_residual_quant_bits_are_configurable():
    q = residual_quant(6, max_val=4.0).eval()
    assert float(q.act_quant.bit_width()) == 6
    assert float(q(torch.tensor([1e6]))) == 31 * float(q.act_quant.scale())


def test_binary_conv_pads_with_minus_one_at_the_border():
    # All-(+1) input, all-(+1) weights: an interior output sums 9 agreeing taps; a corner output
    # sees 4 inputs and 5 padding taps of -1: 4 - 5 = -1; an edge output 6 - 3 = 3.
    conv = binary_conv(1, 1, 3)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    scale = float(conv.quant_weight().scale.flatten()[0])
    y = conv(pad_bipolar(torch.ones(1, 1, 4, 4)))[0, 0] / scale
    assert y[1, 1] == 9 and y[0, 0] == -1 and y[0, 1] == 3 and y[3, 3] == -1
    zero_padded = conv(torch.nn.functional.pad(torch.ones(1, 1, 4, 4), (1, 1, 1, 1)))[0, 0]
    assert zero_padded[0, 0] / scale == 4  # what -1 padding is not


def test_rsign_and_rprelu():
    rs = RSign(2, ste="approx_sign")
    with torch.no_grad():
        rs.shift.copy_(torch.tensor([1.0, -1.0]).reshape(1, 2, 1, 1))
    x = torch.tensor([1.0, -1.0]).reshape(1, 2, 1, 1)
    y, m3 = rs(x)
    assert y.flatten().tolist() == [1.0, 1.0] and m3 is None  # x - b = 0 on both: sign(0) = +1
    rp = RPReLU(1)
    with torch.no_grad():
        rp.gamma.fill_(1.0)
        rp.zeta.fill_(0.5)
    out = rp(torch.tensor([-3.0, 1.0, 3.0]).reshape(1, 1, 1, 3)).flatten().tolist()
    assert out == [0.25 * -4.0 + 0.5, 0.5, 2.5]


def test_lsq_weights_use_the_full_int8_range():
    fc = LsqLinear(4, 2)
    with torch.no_grad():
        fc.weight.copy_(torch.tensor([[-10.0, 10.0, 0.3, -0.3], [1.0, 2.0, 3.0, 4.0]]))
        fc.step.copy_(torch.tensor([0.05, 1.0]))
    w_int = fc.int_weight()
    assert w_int[0].tolist() == [-Q_N, Q_P, 6.0, -6.0]  # -128 and 127, not Brevitas' -127
    w, s = fc.int_and_step()
    assert torch.equal(w, w_int) and torch.equal(s, fc.step)


def test_lsq_gradients_reach_weights_and_step_sizes():
    fc = LsqLinear(8, 4)
    x = torch.randn(3, 8)
    w, s = fc.int_and_step()
    (x @ (w * s[:, None]).t()).pow(2).sum().backward()
    assert fc.weight.grad.abs().sum() > 0 and fc.step.grad.abs().sum() > 0
    torch.testing.assert_close(w.detach(), fc.int_weight())  # STE terms add exactly zero


def test_se_ratio_must_divide_the_width():
    with pytest.raises(ConfigError, match="reduction ratio 16 does not divide 24 channels"):
        SqueezeExcite8(24, 16)


def test_set_binary_weights_switches_every_binary_layer():
    unit = BinaryUnit(4, 8, stride=2)
    names = [n for n, _ in binary_weight_layers(unit)]
    assert names == ["conv"]  # the downsample 1x1 conv is int8, not binary
    set_binary_weights(unit, False)
    assert not unit.conv.weight_quant.is_quant_enabled
    set_binary_weights(unit, True)
    assert unit.conv.weight_quant.is_quant_enabled


def test_reuse_needs_an_insta_threshold():
    with pytest.raises(ConfigError, match="'insta_reuse' needs an INSTA-Th activation"):
        BinaryUnit(4, 4, act="rsign", post="insta_reuse")
    with pytest.raises(ConfigError, match="unknown post-add kind 'relu'"):
        BinaryUnit(4, 4, post="relu")


@pytest.mark.parametrize(
    ("act", "post"), [("rsign", "rprelu"), ("insta", "insta_reuse"), ("insta_se", "insta_se")]
)
def test_unit_output_is_on_the_residual_grid(act, post):
    torch.manual_seed(0)
    unit = BinaryUnit(16, 32, stride=2, act=act, post=post, reduction=4)
    x = torch.round(torch.randn(2, 16, 8, 8) * 16) / 16
    unit.train()
    y = unit(x)
    assert y.shape == (2, 32, 4, 4)
    y.sum().backward()
    assert unit.conv.weight.grad.abs().sum() > 0
    unit.eval()
    scale = float(unit.q_out.act_quant.scale())
    levels = unit(x) / scale
    assert torch.equal(levels, torch.round(levels)) and levels.abs().max() <= 128
