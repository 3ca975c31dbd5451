"""The model registry: name -> builder. Unknown names raise UnknownModelError.

Every model has `input_shape` (batch 1), `num_classes` and `config()` (the keyword arguments that
rebuild it), and checks the shape of its input (`sw.models.base.InputShapeError`).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from flows.errors import UnknownModelError
from sw.models.base import add_input_check
from sw.models.cnv import CNV
from sw.models.digits_bnn import DigitsBNN
from sw.models.resnet import (
    InstaResNet18,
    InstaResNet18Lat,
    InstaResNet18Plus,
    InstaResNet20,
    ReActNetResNet18,
)

MODELS: dict[str, Callable[..., nn.Module]] = {
    "digits_bnn": DigitsBNN,
    "cnv_w1a1": CNV,
    "reactnet_resnet18": ReActNetResNet18,
    "insta_resnet18": InstaResNet18,
    "insta_resnet18_plus": InstaResNet18Plus,
    "insta_resnet18_lat": InstaResNet18Lat,
    "insta_resnet20": InstaResNet20,
}


def build(name: str, **kwargs) -> nn.Module:
    """Instantiate model `name` with its keyword configuration."""
    try:
        factory = MODELS[name]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise UnknownModelError(f"unknown model {name!r}; known models: {known}") from None
    return add_input_check(factory(**kwargs))
