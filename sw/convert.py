"""`python -m sw.convert SRC DST --size 224`: ImageNet-style JPEG folders -> memory-mappable arrays.

SRC holds `train/<class>/*` and `val/<class>/*` image files (JPEG, PNG; classes numbered in sorted
folder-name order, the same numbering for both parts). Each image is decoded with Pillow, its short
side resized to round(size * 256 / 224) (bilinear), centre-cropped to size x size, and written as
uint8 (3, size, size) into DST/<part>_x.npy (a .npy memory map filled image by image, so a set
larger than memory converts) with labels in DST/<part>_y.npy. Files are written under temporary
names and renamed when complete. `sw.data.load_dir(DST)` then reads the set memory-mapped.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from sw.data import DataError

EXTENSIONS = {".jpeg", ".jpg", ".png"}


def list_images(
    root: Path, classes: list[str] | None = None
) -> tuple[list[Path], list[int], list[str]]:
    """Image files under root/<class>/ and their labels (classes in sorted name order)."""
    if not root.is_dir():
        raise DataError(f"{root} does not exist; expected <part>/<class>/<image> folders")
    classes = classes or sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"{root} has no class folders")
    files, labels = [], []
    for label, name in enumerate(classes):
        for f in sorted((root / name).iterdir()) if (root / name).is_dir() else []:
            if f.suffix.lower() in EXTENSIONS:
                files.append(f)
                labels.append(label)
    if not files:
        raise DataError(f"{root} has class folders but no images ({', '.join(EXTENSIONS)})")
    return files, labels, classes


def load_image(path: Path, size: int) -> np.ndarray:
    """Decode, resize the short side to size*256/224, centre-crop: uint8 (3, size, size)."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        short = round(size * 256 / 224)
        w, h = im.size
        scale = short / min(w, h)
        im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
        w, h = im.size
        left, top = (w - size) // 2, (h - size) // 2
        im = im.crop((left, top, left + size, top + size))
        return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)


def convert_part(
    src: Path, dst: Path, part: str, size: int, classes: list[str] | None
) -> list[str]:
    files, labels, classes = list_images(src / part, classes)
    dst.mkdir(parents=True, exist_ok=True)
    tmp_x, tmp_y = dst / f".{part}_x.npy.tmp", dst / f".{part}_y.npy.tmp"
    x = np.lib.format.open_memmap(
        tmp_x, mode="w+", dtype=np.uint8, shape=(len(files), 3, size, size)
    )
    for i, f in enumerate(files):
        x[i] = load_image(f, size)
        if i % 1000 == 999:
            print(f"{part}: {i + 1}/{len(files)}", flush=True)
    x.flush()
    del x
    with open(tmp_y, "wb") as fh:
        np.save(fh, np.asarray(labels, dtype=np.int64))
    os.replace(tmp_x, dst / f"{part}_x.npy")
    os.replace(tmp_y, dst / f"{part}_y.npy")
    print(f"{part}: {len(files)} images, {len(classes)} classes -> {dst}")
    return classes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sw.convert", description=__doc__.splitlines()[0])
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p.add_argument("--size", type=int, default=224)
    args = p.parse_args(argv)
    try:
        classes = convert_part(args.src, args.dst, "train", args.size, None)
        convert_part(args.src, args.dst, "val", args.size, classes)
    except (DataError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
