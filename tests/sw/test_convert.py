"""JPEG/PNG class folders -> memory-mapped arrays that sw.data.load_dir reads."""

import numpy as np
import pytest
from PIL import Image

from sw.convert import load_image, main
from sw.data import DataError, load_dir


def _folders(root, sizes):
    rng = np.random.default_rng(0)
    for part in ("train", "val"):
        for cls in ("cat", "dog"):
            d = root / part / cls
            d.mkdir(parents=True)
            for i, (w, h) in enumerate(sizes):
                img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
                Image.fromarray(img).save(d / f"{i}.{'JPEG' if i % 2 else 'png'}")


def test_convert_then_load(tmp_path):
    _folders(tmp_path / "src", [(40, 30), (20, 50)])
    assert main([str(tmp_path / "src"), str(tmp_path / "dst"), "--size", "16"]) == 0
    data = load_dir(tmp_path / "dst")
    assert data.x_train.shape == (4, 3, 16, 16) and data.x_train.dtype == np.uint8
    assert data.y_train.tolist() == [0, 0, 1, 1] and data.y_test.tolist() == [0, 0, 1, 1]


def test_centre_crop_of_a_known_image(tmp_path):
    # left half black, right half white: the centre crop of a wide image keeps both halves
    img = np.zeros((32, 64, 3), dtype=np.uint8)
    img[:, 32:] = 255
    Image.fromarray(img).save(tmp_path / "a.png")
    x = load_image(tmp_path / "a.png", 28)
    assert x.shape == (3, 28, 28)
    assert x[:, :, 0].max() == 0 and x[:, :, -1].min() == 255


def test_folders_are_pointed_at_the_converter(tmp_path):
    _folders(tmp_path, [(8, 8)])
    with pytest.raises(DataError, match="python -m sw.convert"):
        load_dir(tmp_path)


def test_missing_source_is_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "nope"), str(tmp_path / "dst")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
