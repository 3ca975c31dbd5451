"""Checks every layer config and golden function shares: parameters of the right shape and type,
foldings that divide, positive sizes. Each raises an error that names the layer and the fix."""

from __future__ import annotations

import numpy as np

from flows.errors import ConfigError, FoldingError


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


# Where a layer's per-channel constants live: in its own ROMs, or in the board's DRAM, streamed in
# by the memory tier in step with the data (docs/dram.md, "Constants").
CONSTANT_PLACES = ("chip", "dram")


def check_constants(what: str, constants: str) -> None:
    if constants not in CONSTANT_PLACES:
        raise ConfigError(
            f"{what}: constants={constants!r}; use 'chip' (ROMs in the layer) or 'dram' (streamed "
            "from the memory tier)"
        )
