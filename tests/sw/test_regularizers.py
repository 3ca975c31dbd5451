"""BNN+ regularisers R1 / R2 (bnn_plus eq. 4-9): values and gradients on hand-computed examples."""

from __future__ import annotations

import pytest
import torch
from brevitas.nn import QuantLinear
from torch import nn

from flows.errors import ConfigError
from sw import models
from sw.quant import BinaryWeightPerChannel, binary_weight_layers
from sw.regularizers import BinaryRegularizer, initial_scale, penalty

# Two output channels; |W| rows: (0.5, 1.5, 2) and (1, 3, 0.25).
W = [[0.5, -1.5, 2.0], [1.0, -3.0, 0.25]]
LAM = 0.1


def layer_with(weights: list[list[float]]) -> nn.Module:
    model = nn.Sequential(QuantLinear(3, 2, bias=False, weight_quant=BinaryWeightPerChannel))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor(weights))
    return model


def test_r1_value_and_gradients_by_hand():
    model = layer_with(W)
    reg = BinaryRegularizer(model, kind="r1", lam=LAM)
    # eq. 8: alpha = median |W| per output channel = 1.5 and 1.0
    assert reg.scales[0].tolist() == [1.5, 1.0]
    # R1 = |1.5-0.5| + |1.5-1.5| + |1.5-2| = 1.5 ; |1-1| + |1-3| + |1-0.25| = 2.75
    value = reg()
    assert value.item() == pytest.approx(LAM * (1.5 + 2.75))
    value.backward()
    # d|alpha - |w||/dw = sign(alpha - |w|) * (-sign(w)); sign(0) = 0 (torch's abs subgradient)
    # row 0: w=0.5: +1*-1 = -1; w=-1.5: 0; w=2: -1*-1 = +1
    # row 1: w=1: 0; w=-3: -1*+1 = -1; w=0.25: +1*-1 = -1
    expected = LAM * torch.tensor([[-1.0, 0.0, 1.0], [0.0, -1.0, -1.0]])
    assert torch.allclose(model[0].weight.grad, expected)
    # d/dalpha = sum sign(alpha - |w|): 1 + 0 - 1 = 0 and 0 - 1 + 1 = 0 (the median minimises)
    assert reg.scales[0].grad.tolist() == [0.0, 0.0]


def test_r2_value_and_gradients_by_hand():
    model = layer_with(W)
    reg = BinaryRegularizer(model, kind="r2", lam=LAM)
    # eq. 9: alpha = mean |W| = 4/3 and 17/12
    assert torch.allclose(reg.scales[0], torch.tensor([4 / 3, 17 / 12]))
    # row 0 gaps alpha - |w|: 5/6, -1/6, -2/3 -> (25 + 1 + 16) / 36 = 7/6
    # row 1 gaps: 5/12, -19/12, 7/6 -> (25 + 361 + 196) / 144 = 97/24
    value = reg()
    assert value.item() == pytest.approx(LAM * (7 / 6 + 97 / 24))
    value.backward()
    # dR2/dw = -2 (alpha - |w|) sign(w)
    expected = LAM * torch.tensor([[-5 / 3, -1 / 3, 4 / 3], [-5 / 6, -19 / 6, -7 / 3]])
    assert torch.allclose(model[0].weight.grad, expected)
    # dR2/dalpha = 2 sum (alpha - |w|) = 0 at the mean
    assert torch.allclose(reg.scales[0].grad, torch.zeros(2), atol=1e-7)


def test_scale_gradient_away_from_the_optimum():
    weight = torch.tensor(W)
    alpha = torch.tensor([1.0, 1.0], requires_grad=True)
    # row 0 with alpha 1: R1 = 0.5 + 0.5 + 1 = 2, R2 = 0.25 + 0.25 + 1 = 1.5; row 1 as above
    r1 = penalty(weight, alpha, "r1")
    assert r1.item() == pytest.approx(2.0 + 2.75)
    r1.backward()
    assert alpha.grad.tolist() == [-1.0, 0.0]  # sign(0.5) + sign(-0.5) + sign(-1) = -1
    alpha.grad = None
    penalty(weight, alpha, "r2").backward()
    # 2 * (0.5 - 0.5 - 1) = -2 ; 2 * (0 - 2 + 0.75) = -2.5
    assert alpha.grad.tolist() == pytest.approx([-2.0, -2.5])


def test_scales_cover_every_binary_layer_per_output_channel_and_train():
    torch.manual_seed(0)
    model = models.build("digits_bnn", hidden=16)
    reg = BinaryRegularizer(model, kind="r1")
    layers = binary_weight_layers(model)
    assert reg.names == [name for name, _ in layers]
    for (_, layer), alpha in zip(layers, reg.scales, strict=True):
        assert alpha.shape == (layer.weight.shape[0],) and alpha.requires_grad
        assert torch.equal(alpha, initial_scale(layer.weight, "r1"))
    assert {id(p) for p in reg.parameters()} == {id(a) for a in reg.scales}


def test_even_count_median_is_the_lower_middle_value():
    assert initial_scale(torch.tensor([[1.0, -2.0, 3.0, -4.0]]), "r1").tolist() == [2.0]


def test_unknown_kind_and_model_without_binary_layers():
    with pytest.raises(ConfigError, match="unknown BNN\\+ regulariser 'r3'; choose one of r1, r2"):
        BinaryRegularizer(layer_with(W), kind="r3")
    with pytest.raises(ConfigError, match="needs a model with binary-weight layers"):
        BinaryRegularizer(nn.Linear(2, 2))
