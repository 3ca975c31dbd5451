"""digits_bnn: a binary MLP for scikit-learn's 8x8 digits (64 grey levels 0..16 -> 10 classes).

    pixels (UINT8) -> [binary FC -> BN -> sign] -> 2 x [binary FC -> BN -> sign] -> binary FC + bias

The first layer meets integer pixels (binary weights x UINT8: an IntMVAU in hardware); the hidden
layers are XNOR-popcount; the last layer keeps its per-channel weight scale and its bias up to the
argmax (docs/numerics.md, section 5).
"""

from __future__ import annotations

import torch
from brevitas.nn import QuantIdentity, QuantLinear
from torch import nn

from sw.quant import BinaryAct, BinaryWeightPerChannel, PixelQuant


class DigitsBNN(nn.Module):
    """Binary MLP; `hidden` neurons in each of `layers` binary hidden layers."""

    input_shape = (1, 64)
    num_classes = 10

    def __init__(self, hidden: int = 128, layers: int = 3) -> None:
        super().__init__()
        self.hidden, self.layers = hidden, layers
        self.pixels = QuantIdentity(act_quant=PixelQuant, return_quant_tensor=False)
        blocks: list[nn.Module] = []
        width = 64
        for _ in range(layers):
            blocks += [
                QuantLinear(width, hidden, bias=False, weight_quant=BinaryWeightPerChannel),
                nn.BatchNorm1d(hidden),
                QuantIdentity(act_quant=BinaryAct, return_quant_tensor=False),
            ]
            width = hidden
        self.features = nn.Sequential(*blocks)
        self.classifier = QuantLinear(width, 10, bias=True, weight_quant=BinaryWeightPerChannel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(self.pixels(x)))

    def config(self) -> dict:
        return {"hidden": self.hidden, "layers": self.layers}
