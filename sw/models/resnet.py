"""Binary ResNets: ReActNet / Bi-Real ResNet-18, the INSTA-BNN ResNet-18 variants and ResNet-20.

    pixels (UINT8) -> int8 stem conv -> BN -> q [-> maxpool] -> stages of `BinaryUnit`s
                   -> global avgpool -> int8 FC (+ bias) -> logits

Each stage has `blocks[i]` basic blocks of two units (one binary conv + shortcut each, Bi-Real);
the first unit of stages 1.. halves the map (stride-2 conv; shortcut avgpool + int8 1x1 + BN).
Which activation / post-add module a unit uses is decided per stage index (`unit_kinds`), so a
small test model (narrow, small input) keeps the structure of the full one.

* `reactnet_resnet18`: RSign + RPReLU everywhere (ImageNet stem: 7x7/2 conv, 3x3/2 maxpool).
* `insta_resnet18`: INSTA-Th + INSTA-PReLU in every unit.
* `insta_resnet18_plus`: INSTA-Th+ + INSTA-PReLU+ (SE with reduction ratio r).
* `insta_resnet18_lat`: latency-optimised (supplementary D): RSign + RPReLU in stages before
  `insta_from_stage` (default 1: the stage whose map has been halved three times, 28x28 at 224
  input), INSTA-Th + statistics-reuse INSTA-PReLU from there on (every unit of those stages,
  including the downsampling unit whose INSTA-Th sees the 56x56 input).
* `insta_resnet20`: CIFAR-10 (supplementary A.1): ResNet-20 (3 stages x 3 basic blocks, 16-32-64)
  with a shortcut per conv and INSTA-PReLU after each add; 3x3 stem without maxpool.
"""

from __future__ import annotations

from collections.abc import Sequence

from brevitas.nn import QuantIdentity
from torch import Tensor, nn

from flows.errors import ConfigError
from sw.blocks import BinaryUnit
from sw.models.base import ZooModel
from sw.quant import PixelQuant, int8_conv, int8_linear, residual_quant


def _stem(kind: str, width: int, res_bits: int) -> nn.Sequential:
    pixels = QuantIdentity(act_quant=PixelQuant, return_quant_tensor=False)
    if kind == "imagenet":
        conv, tail = int8_conv(3, width, 7, stride=2, padding=3), [nn.MaxPool2d(3, 2, 1)]
    else:
        conv, tail = int8_conv(3, width, 3, padding=1), []
    return nn.Sequential(pixels, conv, nn.BatchNorm2d(width), residual_quant(res_bits), *tail)


class BinaryResNet(ZooModel):
    """Shared body of the zoo's ResNets; subclasses choose the stem and the unit kinds.

    Keyword configuration: `width` (stage i has width * 2^i channels), `blocks` (basic blocks
    per stage), `input_size`, `num_classes`, `ste` / `ste_beta` / `trainable_beta` (sw.ste),
    `res_bits` (residual stream width), `reduction` (SE ratio, + variants only).
    """

    stem_kind = "imagenet"

    def __init__(
        self,
        *,
        width: int,
        blocks: Sequence[int],
        input_size: int,
        num_classes: int,
        ste: str = "approx_sign",
        ste_beta: float = 5.0,
        trainable_beta: bool = False,
        res_bits: int = 8,
        **extra,
    ) -> None:
        ste_kw = {"ste": ste, "ste_beta": ste_beta, "trainable_beta": trainable_beta}
        super().__init__(
            width=width, blocks=list(blocks), input_size=input_size, num_classes=num_classes,
            res_bits=res_bits, **ste_kw, **extra,
        )  # fmt: skip
        self.input_shape = (1, 3, input_size, input_size)
        self.num_classes = num_classes
        self._check_size(input_size, len(blocks))
        self.stem = _stem(self.stem_kind, width, res_bits)
        units, c_in = [], width
        for stage, n_blocks in enumerate(blocks):
            c_out = width * 2**stage
            act, post = self.unit_kinds(stage)
            for i in range(2 * n_blocks):
                stride = 2 if stage > 0 and i == 0 else 1
                unit = BinaryUnit(
                    c_in, c_out, stride=stride, act=act, post=post, res_bits=res_bits,
                    reduction=extra.get("reduction", 16), **ste_kw,
                )  # fmt: skip
                units.append(unit)
                c_in = c_out
        self.units = nn.Sequential(*units)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = int8_linear(c_in, num_classes)

    def unit_kinds(self, stage: int) -> tuple[str, str]:
        """(activation kind, post-add kind) of the units of `stage` (sw.blocks)."""
        raise NotImplementedError

    def _check_size(self, input_size: int, stages: int) -> None:
        step = (4 if self.stem_kind == "imagenet" else 1) * 2 ** (stages - 1)
        if input_size % step:
            raise ConfigError(
                f"input_size {input_size} does not survive the stem and {stages - 1} halvings; "
                f"use a multiple of {step}"
            )

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.pool(self.units(self.stem(x))).flatten(1))


class _ResNet18(BinaryResNet):
    def __init__(
        self,
        *,
        width: int = 64,
        blocks: Sequence[int] = (2, 2, 2, 2),
        input_size: int = 224,
        num_classes: int = 1000,
        **kw,
    ) -> None:
        super().__init__(
            width=width, blocks=blocks, input_size=input_size, num_classes=num_classes, **kw
        )


class ReActNetResNet18(_ResNet18):
    """`reactnet_resnet18`: RSign -> binary conv -> BN -> + shortcut -> RPReLU."""

    def unit_kinds(self, stage: int) -> tuple[str, str]:
        return "rsign", "rprelu"


class InstaResNet18(_ResNet18):
    """`insta_resnet18`: INSTA-Th replaces RSign, INSTA-PReLU replaces RPReLU."""

    def unit_kinds(self, stage: int) -> tuple[str, str]:
        return "insta", "insta"


class InstaResNet18Plus(_ResNet18):
    """`insta_resnet18_plus`: INSTA-Th+ and INSTA-PReLU+ (SE, reduction ratio `reduction`)."""

    def __init__(self, *, reduction: int = 16, **kw) -> None:
        super().__init__(reduction=reduction, **kw)

    def unit_kinds(self, stage: int) -> tuple[str, str]:
        return "insta_se", "insta_se"


class InstaResNet18Lat(_ResNet18):
    """`insta_resnet18_lat`: INSTA-Th + reuse INSTA-PReLU from stage `insta_from_stage` on."""

    def __init__(self, *, insta_from_stage: int = 1, **kw) -> None:
        self._from = insta_from_stage
        super().__init__(insta_from_stage=insta_from_stage, **kw)

    def unit_kinds(self, stage: int) -> tuple[str, str]:
        return ("insta", "insta_reuse") if stage >= self._from else ("rsign", "rprelu")


class InstaResNet20(BinaryResNet):
    """`insta_resnet20`: CIFAR-10 ResNet-20 with Bi-Real shortcuts and INSTA modules."""

    stem_kind = "cifar"

    def __init__(
        self,
        *,
        width: int = 16,
        blocks: Sequence[int] = (3, 3, 3),
        input_size: int = 32,
        num_classes: int = 10,
        **kw,
    ) -> None:
        super().__init__(
            width=width, blocks=blocks, input_size=input_size, num_classes=num_classes, **kw
        )

    def unit_kinds(self, stage: int) -> tuple[str, str]:
        return "insta", "insta"
