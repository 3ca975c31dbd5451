"""Data sets for training, none of them downloaded.

* `digits()`: scikit-learn's 8x8 digits (ships with the package), the project's fixed split.
* `synthetic_images(...)`: deterministic class-dependent patterns of any shape, for tests.
* `load_dir(path)`: a data set a user has locally (`python -m sw.train ... --data DIR`):

  - **CIFAR-10**, the python version: `DIR` (or `DIR/cifar-10-batches-py`) holds the pickled
    batches `data_batch_1` .. `data_batch_5` and `test_batch` as distributed by the authors.
  - **ImageNet-style**, pre-resized to the model's input size: `DIR/train.npz` and `DIR/val.npz`, each with `x` (N, 3, H, W)
    uint8 and `y` (N,) integer labels; or, for sets larger than memory, `DIR/train_x.npy`,
    `DIR/train_y.npy`, `DIR/val_x.npy`, `DIR/val_y.npy` (the `_x` arrays are memory-mapped).
    `python -m sw.convert SRC DIR --size 224` turns `SRC/train/<class>/*.JPEG` and
    `SRC/val/<class>/*` folders into those arrays (short side resized, centre-cropped, classes
    numbered in sorted folder-name order).

Every set is a `Split` of uint8 pixels (the models' input contract: UINT8, normalisation folded
into the first layer) and int64 labels.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from flows.errors import FlowError

DIGITS_SPLIT_SEED = 0
CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))


class DataError(FlowError):
    """A data directory is missing, has an unknown layout, or does not fit the model."""


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray  # (N, ...) uint8 (digits: (N, 64), grey levels 0..16)
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


DIGITS_GREY_GAIN = 15  # grey levels 0..16 -> pixels 0..240


def digits_rgb(size: int = 16) -> Split:
    """`digits()` as RGB images for the image models: (N, 3, size, size) uint8, each grey level
    times 15 (0..240), upsampled from 8x8 by nearest neighbour (`size` a multiple of 8) and
    replicated to three channels. Same split and labels as `digits()`."""
    if size % 8 or size <= 0:
        raise DataError(f"digits_rgb size must be a positive multiple of 8; got {size}")
    d, k = digits(), size // 8

    def rgb(x: np.ndarray) -> np.ndarray:
        grey = (x.reshape(-1, 1, 8, 8) * DIGITS_GREY_GAIN).astype(np.uint8)
        up = grey.repeat(k, axis=2).repeat(k, axis=3)
        return np.ascontiguousarray(np.repeat(up, 3, axis=1))

    return Split(rgb(d.x_train), d.y_train, rgb(d.x_test), d.y_test)


def synthetic_images(
    n_train: int,
    n_test: int,
    *,
    shape: tuple[int, ...] = (3, 32, 32),
    num_classes: int = 10,
    noise: float = 0.5,
    seed: int = 0,
) -> Split:
    """Deterministic images of `shape`: a fixed random template per class (seed `seed`) blended
    with per-image uniform noise (`noise` is the noise's share), as uint8 pixels 0..255. Classes
    are balanced and interleaved; the same arguments always give the same arrays."""
    rng = np.random.default_rng(seed)
    templates = rng.uniform(0.0, 255.0, size=(num_classes, *shape))

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % num_classes
        pixels = (1.0 - noise) * templates[y] + noise * rng.uniform(0.0, 255.0, (n, *shape))
        return np.round(pixels).astype(np.uint8), y.astype(np.int64)

    return Split(*draw(n_train), *draw(n_test))


def subset(data: Split, n_train: int, n_test: int) -> Split:
    """The first `n_train` / `n_test` examples of each part (for quick runs)."""
    return Split(data.x_train[:n_train], data.y_train[:n_train], data.x_test[:n_test],
                 data.y_test[:n_test])  # fmt: skip


def _unpickle(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with path.open("rb") as f:
        # The authors' batches are python pickles; only load directories you trust.
        blob = pickle.load(f, encoding="bytes")
    x = np.asarray(blob[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return x, np.asarray(blob[b"labels"], dtype=np.int64)


def cifar10(path: Path) -> Split:
    """CIFAR-10 from its python batches in `path` (or `path/cifar-10-batches-py`)."""
    root = path / "cifar-10-batches-py" if (path / "cifar-10-batches-py").is_dir() else path
    missing = [n for n in (*CIFAR_TRAIN_BATCHES, "test_batch") if not (root / n).is_file()]
    if missing:
        raise DataError(
            f"{root} is not a CIFAR-10 python directory: missing {', '.join(missing)}; "
            "unpack cifar-10-python.tar.gz there"
        )
    parts = [_unpickle(root / n) for n in CIFAR_TRAIN_BATCHES]
    x_test, y_test = _unpickle(root / "test_batch")
    x_train = np.concatenate([p[0] for p in parts])
    return Split(x_train, np.concatenate([p[1] for p in parts]), x_test, y_test)


def _array_part(root: Path, part: str) -> tuple[np.ndarray, np.ndarray]:
    if (root / f"{part}.npz").is_file():
        with np.load(root / f"{part}.npz") as z:
            if "x" not in z or "y" not in z:
                raise DataError(f"{root / part}.npz must hold arrays 'x' and 'y'")
            x, y = z["x"], z["y"]
    else:
        x = np.load(root / f"{part}_x.npy", mmap_mode="r")
        y = np.load(root / f"{part}_y.npy")
    if x.dtype != np.uint8 or x.ndim != 4 or len(x) != len(y):
        raise DataError(
            f"{root}: {part} images must be uint8 (N, 3, H, W) with N labels; got {x.dtype} "
            f"{x.shape} and {len(y)} labels"
        )
    return x, np.asarray(y, dtype=np.int64)


def _has_arrays(root: Path, part: str) -> bool:
    npy = all((root / f"{part}_{k}.npy").is_file() for k in "xy")
    return (root / f"{part}.npz").is_file() or npy


def imagenet_arrays(path: Path) -> Split:
    """A pre-resized ImageNet-style set: `train` and `val` parts as .npz or .npy arrays."""
    return Split(*_array_part(path, "train"), *_array_part(path, "val"))


def load_dir(path: Path) -> Split:
    """The data set in directory `path`: CIFAR-10 python batches or ImageNet-style arrays."""
    if not path.is_dir():
        raise DataError(f"data directory {path} does not exist")
    inner = path / "cifar-10-batches-py"
    if (path / "test_batch").is_file() or (inner / "test_batch").is_file():
        return cifar10(path)
    if _has_arrays(path, "train") and _has_arrays(path, "val"):
        return imagenet_arrays(path)
    if (path / "train").is_dir():
        raise DataError(
            f"{path}/train looks like an image-folder set; convert it once with "
            f"`python -m sw.convert {path} OUT_DIR --size 224` and train with --data OUT_DIR"
        )
    raise DataError(
        f"{path} holds neither CIFAR-10 python batches (data_batch_1..5, test_batch) nor "
        "ImageNet-style arrays (train.npz + val.npz, or train_x.npy/train_y.npy + val_*.npy)"
    )


def random_crop_flip(x: np.ndarray, rng: np.random.Generator, pad: int = 4) -> np.ndarray:
    """The usual CIFAR augmentation on a (N, C, H, W) uint8 batch: zero-pad by `pad`, take a
    random H x W crop and flip horizontally with probability 1/2 (per image)."""
    n, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dy, dx = rng.integers(0, 2 * pad + 1, size=(2, n))
    out = np.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    flip = rng.random(n) < 0.5
    out[flip] = out[flip, :, :, ::-1]
    return out


def resolve(spec: str | None, *, input_shape: tuple[int, ...], num_classes: int) -> Split:
    """The data set named on the command line: `digits`, `synthetic` (2048 / 512 images shaped
    like the model's input) or a directory (`load_dir`). Without `spec`, models with a 64-value
    input train on digits; others need one. Labels must fit the model's classes."""
    if spec is None:
        if tuple(input_shape[1:]) != (64,):
            raise DataError(
                "this model trains on images: pass --data DIR (CIFAR-10 batches or ImageNet-style "
                "arrays) or --data synthetic"
            )
        spec = "digits"
    if spec == "digits":
        data = digits()
    elif spec == "synthetic":
        data = synthetic_images(2048, 512, shape=tuple(input_shape[1:]), num_classes=num_classes)
    else:
        data = load_dir(Path(spec))
    top = int(max(data.y_train.max(), data.y_test.max()))
    if top >= num_classes:
        raise DataError(
            f"the data has labels up to {top} but the model has {num_classes} classes; build it "
            f"with --config '{{\"num_classes\": {top + 1}}}'"
        )
    return data
