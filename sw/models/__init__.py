"""The model registry: name -> builder. Unknown names raise UnknownModelError."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from flows.errors import UnknownModelError
from sw.models.digits_bnn import DigitsBNN

MODELS: dict[str, Callable[..., nn.Module]] = {
    "digits_bnn": DigitsBNN,
}


def build(name: str, **kwargs) -> nn.Module:
    """Instantiate model `name` with its keyword configuration."""
    try:
        factory = MODELS[name]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise UnknownModelError(f"unknown model {name!r}; known models: {known}") from None
    return factory(**kwargs)
