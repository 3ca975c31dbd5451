"""Data sets that ship with packages (no downloads): scikit-learn's 8x8 digits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

DIGITS_SPLIT_SEED = 0


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray  # (N, 64) uint8, grey levels 0..16
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def digits() -> Split:
    """The project's fixed split of sklearn digits: 1437 train / 360 test, stratified, seed 0."""
    d = load_digits()
    x = d.data.astype(np.uint8)
    xtr, xte, ytr, yte = train_test_split(
        x, d.target, test_size=0.2, random_state=DIGITS_SPLIT_SEED, stratify=d.target
    )
    return Split(xtr, ytr.astype(np.int64), xte, yte.astype(np.int64))
