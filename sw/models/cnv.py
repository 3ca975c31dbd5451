"""cnv_w1a1: the FINN / BNN-PYNQ CNV topology with binary weights and activations.

    pixels (UINT8, 3x32x32) -> [binary 3x3 conv (no padding) -> BN -> sign] x 6
        with a 2x2 maxpool after convs 2 and 4 (64-64-pool-128-128-pool-256-256)
    -> flatten -> [binary FC -> BN -> sign] x 2 (512-512) -> binary FC + bias (10)

The first conv meets integer pixels (8-bit input layer: binary weights x UINT8, an IntMVAU in
hardware); maxpools act on bipolar maps (an OR of the stream bits). Without padding the map
shrinks 32 -> 30 -> 28 -> 14 -> 12 -> 10 -> 5 -> 3 -> 1, as in BNN-PYNQ. The last layer keeps its
per-channel weight scale and its bias up to the argmax (numerics section 5).
"""

from __future__ import annotations

from collections.abc import Sequence

from brevitas.nn import QuantIdentity, QuantLinear
from torch import Tensor, nn

from flows.errors import ConfigError
from sw.models.base import ZooModel
from sw.quant import BinaryActivation, BinaryWeightPerChannel, PixelQuant, binary_conv

POOL_AFTER = (1, 3)  # conv indices followed by a 2x2 maxpool


class CNV(ZooModel):
    """`cnv_w1a1`; `channels` (6 convs), `fc` (hidden FC widths), `input_size` and the STE
    (`ste`, `ste_beta`, `trainable_beta`; sw.ste) configurable."""

    def __init__(
        self,
        *,
        channels: Sequence[int] = (64, 64, 128, 128, 256, 256),
        fc: Sequence[int] = (512, 512),
        num_classes: int = 10,
        input_size: int = 32,
        ste: str = "clipped",
        ste_beta: float = 5.0,
        trainable_beta: bool = False,
    ) -> None:
        ste_kw = {"ste": ste, "ste_beta": ste_beta, "trainable_beta": trainable_beta}
        super().__init__(
            channels=list(channels), fc=list(fc), num_classes=num_classes,
            input_size=input_size, **ste_kw,
        )  # fmt: skip
        if len(channels) != 6:
            raise ConfigError(f"CNV has 6 convolutions; got {len(channels)} channel counts")
        self.input_shape = (1, 3, input_size, input_size)
        self.num_classes = num_classes
        layers: list[nn.Module] = [QuantIdentity(act_quant=PixelQuant, return_quant_tensor=False)]
        c_in, size = 3, input_size
        for i, c in enumerate(channels):
            layers += [binary_conv(c_in, c, 3), nn.BatchNorm2d(c), BinaryActivation(**ste_kw)]
            size -= 2
            if i in POOL_AFTER:
                layers.append(nn.MaxPool2d(2))
                size //= 2
            if size < 1:
                raise ConfigError(f"input_size {input_size} is too small for CNV; use >= 32")
            c_in = c
        self.features = nn.Sequential(*layers)
        width = c_in * size * size
        dense: list[nn.Module] = []
        for f in fc:
            dense += [
                QuantLinear(width, f, bias=False, weight_quant=BinaryWeightPerChannel),
                nn.BatchNorm1d(f),
                BinaryActivation(**ste_kw),
            ]
            width = f
        self.dense = nn.Sequential(*dense)
        self.classifier = QuantLinear(
            width, num_classes, bias=True, weight_quant=BinaryWeightPerChannel
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.dense(self.features(x).flatten(1)))
