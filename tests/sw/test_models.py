"""The model zoo: registry, configurable structure, input checks."""

from __future__ import annotations

import pytest
import torch

from flows.errors import ConfigError
from sw import models
from sw.blocks import RPReLU, RSign
from sw.insta_modules import InstaPReLU, InstaThreshold
from sw.models.base import InputShapeError
from sw.quant import binary_weight_layers
from tests.sw.small_models import SMALL


def test_registry_has_every_model():
    assert set(models.MODELS) == set(SMALL)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_model_runs_and_rebuilds_from_its_config(name):
    torch.manual_seed(0)
    model = models.build(name, **SMALL[name]).eval()
    x = torch.randint(0, 17, (2, *model.input_shape[1:])).float()
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, model.num_classes)
    twin = models.build(name, **model.config())
    twin.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.equal(twin.eval()(x), y)


@pytest.mark.parametrize(
    ("name", "shape"),
    [("cnv_w1a1", (1, 3, 28, 28)), ("digits_bnn", (1, 65)), ("reactnet_resnet18", (3, 224, 224))],
)
def test_wrong_input_shape_names_expected_and_got(name, shape):
    model = models.build(name, **({"width": 8} if "resnet" in name else {}))
    want = ", ".join(["N", *map(str, model.input_shape[1:])])
    with pytest.raises(
        InputShapeError, match=rf"expects input of shape \({want}\).*got \({shape[0]}"
    ):
        model(torch.zeros(shape))


def test_latency_optimised_model_uses_insta_from_the_third_halving():
    model = models.build("insta_resnet18_lat", **SMALL["insta_resnet18_lat"])
    units = list(model.units)
    assert len(units) == 8  # 4 stages x 1 basic block x 2 units
    for i, unit in enumerate(units):
        if i < 2:  # stage 0 (map halved twice: stem conv and maxpool)
            assert isinstance(unit.act, RSign) and isinstance(unit.post, RPReLU)
        else:
            assert isinstance(unit.act, InstaThreshold) and unit.act.se is None
            assert isinstance(unit.post, InstaPReLU) and unit.post.reuse


def test_plus_model_replaces_the_factors_by_se_blocks():
    model = models.build("insta_resnet18_plus", **SMALL["insta_resnet18_plus"])
    for unit in model.units:
        assert unit.act.se is not None and not hasattr(unit.act, "alpha")
        assert unit.post.se is not None and not hasattr(unit.post, "a")
        c = unit.post.slope.numel()
        assert unit.post.se.fc1.weight.shape == (c // 4, c)


def test_resnet20_structure():
    model = models.build("insta_resnet20")
    assert model.input_shape == (1, 3, 32, 32) and model.num_classes == 10
    assert len(model.units) == 18  # 3 stages x 3 basic blocks x 2 convs, a shortcut each
    assert all(
        isinstance(u.act, InstaThreshold) and isinstance(u.post, InstaPReLU) for u in model.units
    )
    widths = [u.conv.out_channels for u in model.units]
    assert widths == [16] * 6 + [32] * 6 + [64] * 6


def test_full_size_resnet18_weights():
    # Binary 3x3 weights of the 16 units: 4*64*64*9 + (64*128 + 3*128^2)*9 + (128*256 +
    # 3*256^2)*9 + (256*512 + 3*512^2)*9 = 147,456 + 516,096 + 2,064,384 + 8,257,536.
    model = models.build("reactnet_resnet18")
    binary = sum(m.weight.numel() for _, m in binary_weight_layers(model))
    assert binary == 10_985_472
    assert model.stem[1].weight.numel() == 3 * 64 * 49
    assert (
        sum(u.shortcut.conv.weight.numel() for u in model.units if hasattr(u.shortcut, "conv"))
        == 64 * 128 + 128 * 256 + 256 * 512
    )
    assert model.fc.weight.shape == (1000, 512)


def test_cnv_shrinks_to_one_pixel_without_padding():
    model = models.build("cnv_w1a1")
    assert model.dense[0].in_features == 256  # 32 -> 30 -> 28 -> 14 -> 12 -> 10 -> 5 -> 3 -> 1
    assert [m.out_channels for m in model.features if hasattr(m, "out_channels")] == [
        64,
        64,
        128,
        128,
        256,
        256,
    ]


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("reactnet_resnet18", {"input_size": 100}, "input_size 100 does not survive"),
        ("cnv_w1a1", {"input_size": 24}, "input_size 24 is too small for CNV"),
        ("insta_resnet18_plus", {"width": 24}, "reduction ratio 16 does not divide 24"),
    ],
)
def test_bad_configuration_is_a_config_error(name, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        models.build(name, **kwargs)
