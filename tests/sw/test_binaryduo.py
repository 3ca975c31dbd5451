"""BinaryDuo: coupled ternary model, decoupling without changing the function, fine-tuning."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from flows.errors import ConfigError
from sw import checkpoint, models
from sw.binaryduo import (
    TernaryActivation,
    UnipolarSign,
    activation_sites,
    coupled,
    decouple,
    tie_duplicated_rows,
)
from sw.data import digits
from sw.export import check_exportable
from sw.quant import binary_weight_layers
from sw.recipes import Run, get
from sw.recipes.binaryduo import split_epochs

SMALL = {
    "digits_bnn": ({"hidden": 32}, (64,), 17),
    "cnv_w1a1": ({"channels": (8, 8, 16, 16, 16, 16), "fc": (32, 32)}, (3, 32, 32), 256),
}
# Decoupling is exact in the activations; the logits differ only by float32 summation order
# (the decoupled layers add twice as many half-size terms): |coupled - decoupled| <= LOGIT_ATOL.
LOGIT_ATOL = 1e-5


def randomize(model: nn.Module) -> None:
    """Random BN affine parameters and running statistics wide enough that every ternary level
    occurs (the BN outputs spread over about -3..3)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                m.weight.uniform_(-1.5, 1.5)
                m.bias.uniform_(-1.0, 1.0)
                m.running_mean.normal_(0.0, 3.0)
                m.running_var.uniform_(1.0, 30.0)


def record(model: nn.Module) -> list[torch.Tensor]:
    """Outputs of the model's (ternary or binary) activations, in call order, on the next
    forward."""
    seen: list[torch.Tensor] = []
    for parent, attr in activation_sites(model):
        getattr(parent, attr).register_forward_hook(lambda _m, _i, out: seen.append(out))
    return seen


def test_coupled_width_is_floor_n_over_sqrt2():
    assert coupled("digits_bnn").config()["hidden"] == 90  # floor(128 / 1.414...)
    cnv = coupled("cnv_w1a1", **SMALL["cnv_w1a1"][0]).config()
    assert cnv["channels"] == [5, 5, 11, 11, 11, 11] and cnv["fc"] == [22, 22]
    assert all(isinstance(getattr(p, a), TernaryActivation) for p, a in activation_sites(
        coupled("digits_bnn", hidden=8)))  # fmt: skip


def test_ternary_levels_and_straight_through_gradient():
    y = torch.tensor([-1.5, -0.51, -0.5, 0.0, 0.49, 0.5, 1.5], requires_grad=True)
    t = TernaryActivation("bipolar")(y)
    assert t.tolist() == [-1.0, -1.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    t.sum().backward()
    assert y.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    u = torch.tensor([-0.1, 0.24, 0.25, 0.74, 0.75, 1.2])
    assert TernaryActivation("unipolar")(u).tolist() == [0.0, 0.0, 0.5, 0.5, 1.0, 1.0]
    assert UnipolarSign()(u).tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize("levels", ["bipolar", "unipolar"])
@pytest.mark.parametrize("name", sorted(SMALL))
def test_decoupled_model_computes_the_coupled_function(name, levels):
    config, shape, top = SMALL[name]
    torch.manual_seed(1)
    model = coupled(name, levels=levels, **config)
    randomize(model)
    model.eval()
    wide = decouple(model).eval()
    ternary, binary = record(model), record(wide)
    x = torch.randint(0, top, (32, *shape)).float()
    with torch.no_grad():
        y, y_wide = model(x), wide(x)
    assert (y - y_wide).abs().max().item() <= LOGIT_ATOL
    assert torch.equal(y.argmax(1), y_wide.argmax(1))
    # each ternary activation is the mean of its two binary copies, exactly
    assert len(binary) == len(ternary) == (8 if name == "cnv_w1a1" else 3)
    levels_seen = set()
    for t, b in zip(ternary, binary, strict=True):
        half = t.shape[1]
        assert torch.equal(t, (b[:, :half] + b[:, half:]) / 2)
        levels_seen |= set(t.unique().tolist())
    assert len(levels_seen) == 3  # all three ternary levels occur


def test_decoupling_shifts_bn_bias_halves_weights_and_gives_a_zoo_model():
    torch.manual_seed(2)
    model = coupled("digits_bnn", hidden=12)  # 8 coupled neurons, 16 decoupled
    randomize(model)
    wide = decouple(model)
    assert wide.config() == {"hidden": 16, "layers": 3}
    bn, new = model.features[1], wide.features[1]
    assert torch.equal(new.bias, torch.cat([bn.bias - 0.5, bn.bias + 0.5]))
    assert torch.equal(new.weight, bn.weight.repeat(2))
    w, w2 = model.features[3].weight, wide.features[3].weight  # hidden layer: 8x8 -> 16x16
    assert torch.equal(w2, torch.cat([torch.cat([w, w], 1) / 2] * 2, 0))
    qa, qb = model.features[3].quant_weight(), wide.features[3].quant_weight()
    assert torch.allclose(qb.scale[:8], qa.scale / 2)  # per-channel scale halves with W
    twin = models.build("digits_bnn", **wide.config())
    twin.load_state_dict(wide.state_dict())
    check_exportable(twin)


def test_unipolar_decoupling_shifts_by_a_quarter():
    model = coupled("digits_bnn", hidden=6, levels="unipolar")
    bn = model.features[1]
    assert torch.equal(
        decouple(model).features[1].bias, torch.cat([bn.bias - 0.25, bn.bias + 0.25])
    )


def test_unsupported_model_and_plain_model_are_refused():
    with pytest.raises(ConfigError, match="BinaryDuo supports digits_bnn, cnv_w1a1"):
        coupled("reactnet_resnet18", width=8)
    with pytest.raises(ConfigError, match="needs a model made by sw.binaryduo.coupled"):
        decouple(models.build("digits_bnn", hidden=8))


def test_tied_rows_stay_equal_while_fine_tuning():
    torch.manual_seed(3)
    wide = decouple(coupled("digits_bnn", hidden=12))
    handles = tie_duplicated_rows(wide)
    opt = torch.optim.AdamW(wide.parameters(), lr=1e-2, weight_decay=1e-3)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(
            wide(torch.rand(16, 64) * 16), torch.randint(0, 10, (16,))
        ).backward()
        opt.step()
    layers = binary_weight_layers(wide)
    for _, layer in layers[:-1]:
        half = layer.weight.shape[0] // 2
        assert torch.equal(layer.weight[:half], layer.weight[half:])
    last = layers[-1][1].weight
    assert not torch.equal(last[:, :8], last[:, 8:])  # the input halves train independently
    for h in handles:
        h.remove()


def test_recipe_end_to_end_on_digits(tmp_path):
    lines: list[str] = []
    data = digits()
    recipe = get("binaryduo")
    hp = recipe.hyper_parameters(["batch_size=64", "finetune_lr=1e-3"])
    assert split_epochs(hp, 140) == (100, 40) and split_epochs(hp, 4) == (3, 1)
    run = Run("digits_bnn", data, 4, seed=0, config={"hidden": 32}, log=lines.append)
    result = recipe.train(run, hp)
    assert result.model.config() == {"hidden": 44, "layers": 3}
    assert result.meta["coupled_test_accuracy"] == result.meta["decoupled_test_accuracy"]
    assert [r.stage for r in result.history] == ["coupled ternary"] * 3 + ["decoupled fine-tune"]
    assert result.history[-1].loss < result.history[0].loss
    assert result.metrics["test_accuracy"] > 0.3  # chance: 0.1
    assert any(line.startswith("decoupled: test acc") for line in lines)
    path = tmp_path / "duo.pt"
    checkpoint.save(path, "digits_bnn", result.model, **result.meta)
    loaded, meta = checkpoint.load(path, "digits_bnn")
    assert meta["coupled_config"]["hidden"] == 22
