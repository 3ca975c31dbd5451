"""The explicit registry of layer kinds: config class -> golden function, emitters, estimator.

A layer kind is a frozen config dataclass (shapes, widths, folding; validated on construction), a
pure numpy golden function `execute(cfg, params, inputs) -> outputs` over semantic integer values,
and optionally an RTL emitter, an HLS emitter and an estimator. Composition, not inheritance: the
registry maps the config class to a `LayerKind` record of plain functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from flows.errors import ConfigError, FoldingError

Golden = Callable[[Any, dict[str, np.ndarray], list[np.ndarray]], list[np.ndarray]]


@dataclass(frozen=True)
class LayerKind:
    """Everything the flow knows about one kind of layer."""

    name: str
    config: type
    execute: Golden
    hardware: bool = True  # False: a transient kind that streamlining must remove


_KINDS: dict[type, LayerKind] = {}


def register(kind: LayerKind) -> LayerKind:
    if kind.config in _KINDS:
        raise ConfigError(f"layer kind {kind.name} registered twice")
    _KINDS[kind.config] = kind
    return kind


def kind_of(cfg: object) -> LayerKind:
    try:
        return _KINDS[type(cfg)]
    except KeyError:
        raise ConfigError(f"{type(cfg).__name__} is not a registered layer kind") from None


def all_kinds() -> list[LayerKind]:
    return list(_KINDS.values())


def checked_param(
    layer: str, params: dict, key: str, shape: tuple[int, ...], dtype=None
) -> np.ndarray:
    """params[key] as int64, checked: present, of `shape`, inside `dtype` (a DataType; None skips
    the range check). Every golden function and emitter reads its constants through this."""
    if key not in params:
        raise ConfigError(f"{layer}: parameter {key!r} is missing")
    a = np.asarray(params[key])
    if a.shape != tuple(shape):
        raise ConfigError(f"{layer}: {key} has shape {a.shape}, expected {tuple(shape)}")
    if dtype is not None:
        dtype.check(a, f"{layer}: {key}")
    return a.astype(np.int64)


def check_divides(what: str, dim: int, fold_name: str, fold: int) -> None:
    """Raise FoldingError unless `fold` is a positive divisor of `dim`."""
    if fold < 1 or dim % fold:
        divisors = [d for d in range(1, dim + 1) if dim % d == 0]
        raise FoldingError(
            f"{what}: {fold_name}={fold} does not divide {dim}; choose one of {divisors}"
        )


def check_positive(what: str, **values: int) -> None:
    for name, v in values.items():
        if int(v) < 1:
            raise ConfigError(f"{what}: {name} must be >= 1, got {v}")
