"""What every model of the zoo shares: its input contract and its rebuildable configuration."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from flows.errors import FlowError


class InputShapeError(FlowError):
    """A model received an input of another shape than its `input_shape`."""


def check_input_shape(model: nn.Module, x: Tensor) -> None:
    """Raise InputShapeError unless x is (N, *model.input_shape[1:])."""
    expected = tuple(model.input_shape[1:])
    got = tuple(x.shape)
    if got[1:] != expected or len(got) != len(expected) + 1:
        name = type(model).__name__
        want = ", ".join(["N", *map(str, expected)])
        raise InputShapeError(
            f"{name} expects input of shape ({want}) (UINT8 pixels, batch first); got {got}; "
            "resize the images or build the model with a matching input_size"
        )


def _pre_hook(module: nn.Module, args: tuple) -> None:
    check_input_shape(module, args[0])


def add_input_check(model: nn.Module) -> nn.Module:
    """Make `model` check its input shape on every call (idempotent)."""
    if not getattr(model, "_checks_input", False):
        model.register_forward_pre_hook(_pre_hook)
        model._checks_input = True
    return model


class ZooModel(nn.Module):
    """Base of the zoo's models: `input_shape` (batch 1), `num_classes`, `config()`, and an
    input-shape check on every call."""

    input_shape: tuple[int, ...]
    num_classes: int

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self._config = dict(config)
        add_input_check(self)

    def config(self) -> dict:
        """The keyword arguments that rebuild this model through `sw.models.build`."""
        return dict(self._config)
