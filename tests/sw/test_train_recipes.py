"""Training recipes (`sw.recipes`, `python -m sw.train`): learning-rate schedules, every recipe end
to end on tiny data, the data loaders and the command line's errors."""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.nn import functional as nnf

from sw import checkpoint, models
from sw.data import digits, load_dir, random_crop_flip, subset, synthetic_images
from sw.lsq import Q_N, Q_P
from sw.recipes import RECIPES, Run, ablation, bnnplus, cifar, get, two_stage
from sw.recipes.base import se_layers
from sw.recipes.loop import linear_decay
from sw.train import main

RESNET20 = {"width": 8, "blocks": (1, 1, 1), "input_size": 16}
PLUS = {"width": 16, "blocks": (1, 1, 1, 1), "input_size": 32, "num_classes": 10, "reduction": 4}
CHANCE = 0.1


def train(name, model, data, epochs, config, hp=(), **run_kw):
    recipe = get(name)
    run = Run(model, data, epochs, seed=0, config=config, log=lambda _: None, **run_kw)
    return recipe.train(run, recipe.hyper_parameters(hp))


def lrs(fn, epochs):
    return [fn(e) for e in epochs]


# --- schedules ---------------------------------------------------------------------------------


def test_ablation_schedule_at_the_papers_90_epochs():
    lr_at = ablation.schedule(ablation.AblationParams(), 90)
    # warm-up: (e + 1) / 5 of 1e-3 over epochs 0..4, then x0.1 from epochs 40, 60, 80
    got = lrs(lr_at, [0, 1, 4, 5, 39, 40, 59, 60, 79, 80, 89])
    want = [2e-4, 4e-4, 1e-3, 1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5, 1e-6, 1e-6]
    assert got == pytest.approx(want, rel=1e-12)


def test_ablation_schedule_scales_with_the_epochs():
    lr_at = ablation.schedule(ablation.AblationParams(), 30)
    # 30 / 90: warm-up round(5/3) = 2 epochs, milestones round(13.3, 20, 26.7) = 13, 20, 27
    got = lrs(lr_at, [0, 1, 12, 13, 19, 20, 26, 27])
    assert got == pytest.approx([5e-4, 1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5, 1e-6], rel=1e-12)


def test_other_schedules():
    cos = cifar.schedule(cifar.CifarParams(), 400)
    assert lrs(cos, [0, 200, 400]) == pytest.approx([3e-3, 1.5e-3, 0.0], abs=1e-15)
    assert lrs(linear_decay(1e-4, 10), [0, 5, 9]) == pytest.approx([1e-4, 5e-5, 1e-5])
    plus = bnnplus.schedule(bnnplus.BnnPlusParams(), 250)
    assert lrs(plus, [99, 100, 150, 200]) == pytest.approx([1e-3, 1e-4, 1e-5, 1e-6])
    hp = two_stage.TwoStageParams()
    assert two_stage.split_epochs(hp, 512) == (256, 256)
    assert two_stage.split_epochs(hp, 3) == (2, 1)
    assert two_stage.split_epochs(replace(hp, stage1_share=0.99), 4) == (3, 1)


def test_every_recipe_is_registered_with_the_papers_epochs():
    assert {n: r.epochs for n, r in RECIPES.items()} == {
        "digits": 60, "ablation": 90, "cifar": 400, "two_stage": 512, "se_finetune": 10,
        "bnnplus": 250, "binaryduo": 140, "digits_resnet": 30,
    }  # fmt: skip


# --- recipes end to end ------------------------------------------------------------------------


def test_ablation_on_digits_learns_and_follows_its_schedule():
    result = train("ablation", "digits_bnn", digits(), 6, {"hidden": 32}, ["batch_size=64"])
    lr_at = ablation.schedule(replace(ablation.AblationParams(), batch_size=64), 6)
    assert [r.lr for r in result.history] == lrs(lr_at, range(6))
    assert result.history[-1].loss < result.history[0].loss
    assert result.metrics["test_accuracy"] > 3 * CHANCE


def test_cifar_on_synthetic_images_with_a_small_resnet20():
    data = synthetic_images(256, 64, shape=(3, 16, 16))
    result = train("cifar", "insta_resnet20", data, 3, RESNET20, ["batch_size=32"])
    assert [r.lr for r in result.history] == lrs(cifar.schedule(cifar.CifarParams(), 3), range(3))
    assert result.history[-1].loss < result.history[0].loss


def test_two_stage_trains_real_weights_then_binary_weights():
    stages = []

    def check(rec, model):
        layer = model.features[3]  # a hidden binary layer of digits_bnn
        x = torch.rand(4, layer.in_features)
        w = layer.weight
        binary = torch.sign(w) * w.abs().mean(dim=1, keepdim=True)
        with torch.no_grad():
            used = nnf.linear(x, w if rec.stage.startswith("stage 1") else binary)
            assert torch.allclose(layer(x), used)
            assert len(w.abs().unique()) > 2 * w.shape[0]  # the latent weights are real-valued
        stages.append(rec.stage)

    result = train("two_stage", "digits_bnn", digits(), 4, {"hidden": 32}, ["batch_size=64"],
                   on_epoch=[check])  # fmt: skip
    assert stages == ["stage 1: real weights"] * 2 + ["stage 2: binary weights"] * 2
    assert [r.lr for r in result.history] == pytest.approx([1e-3, 5e-4, 1e-3, 5e-4])
    assert result.metrics["test_accuracy"] > 3 * CHANCE
    ratio = (lambda q: q.value.abs() / q.scale)(result.model.features[3].quant_weight())
    assert torch.allclose(ratio, torch.ones_like(ratio))


def test_se_finetune_quantises_se_weights_to_8_bit_integers_times_the_step(tmp_path):
    data = synthetic_images(64, 16, shape=(3, 32, 32))
    torch.manual_seed(0)
    start = models.build("insta_resnet18_plus", **PLUS)
    for layer in se_layers(start):
        layer.quantize = False  # as after two-stage training: float SE weights
    path = tmp_path / "two_stage.pt"
    checkpoint.save(path, "insta_resnet18_plus", start)
    result = train("se_finetune", "insta_resnet18_plus", data, 2, {}, ["batch_size=32"], init=path)
    assert [r.lr for r in result.history] == pytest.approx([1e-4, 5e-5])
    layers = se_layers(result.model)
    assert len(layers) == 32  # 8 units x (INSTA-Th+, INSTA-PReLU+) x (FC1, FC2)
    result.model.eval()
    for layer in layers:
        assert layer.quantize
        with torch.no_grad():
            w_int, step = layer.int_and_step()
        assert torch.equal(w_int, torch.round(w_int))
        assert w_int.min() >= -Q_N and w_int.max() <= Q_P
        assert torch.allclose(w_int * step[:, None], layer.weight, atol=float(step.max()) / 2)


def test_se_finetune_refuses_a_model_without_se():
    with pytest.raises(Exception, match="digits_bnn has no SE blocks; se_finetune applies"):
        train("se_finetune", "digits_bnn", subset(digits(), 64, 16), 1, {"hidden": 8})


def test_bnnplus_on_digits_trains_beta_and_restores_the_activations():
    result = train("bnnplus", "digits_bnn", digits(), 8, {"hidden": 32},
                   ["trainable_beta=true", "lam=1e-4", "regularizer=r2"])  # fmt: skip
    assert result.history[-1].loss < result.history[0].loss
    assert result.metrics["test_accuracy"] > 2 * CHANCE
    assert len(result.meta["betas"]) == 3 and all(b != 5.0 for b in result.meta["betas"])
    twin = models.build("digits_bnn", hidden=32)  # same modules: the checkpoint reloads
    twin.load_state_dict(result.model.state_dict())
    assert set(result.meta["regularizer_scales"]) == {"features.0", "features.3", "features.6",
                                                     "classifier"}  # fmt: skip


def test_sign_swish_is_switched_on_for_the_run_and_off_after():
    model = models.build("cnv_w1a1", channels=(4, 4, 4, 4, 4, 4), fc=(8, 8))
    act = model.features[3]
    restore = bnnplus.use_sign_swish(model, beta=3.0, trainable=True)
    assert act.ste == "sign_swish" and act.ste_beta.item() == 3.0 and act.ste_beta.requires_grad
    assert restore() == [3.0] * 8
    assert act.ste == "clipped" and not act.ste_beta.requires_grad
    digits_model = models.build("digits_bnn", hidden=8)
    original = digits_model.features[2]
    restore = bnnplus.use_sign_swish(digits_model, beta=5.0, trainable=False)
    assert digits_model.features[2].ste == "sign_swish"
    restore()
    assert digits_model.features[2] is original


# --- the command line --------------------------------------------------------------------------


def test_cli_digits_recipe_writes_checkpoint_with_recipe_and_hyper_parameters(tmp_path, capsys):
    out = tmp_path / "ck.pt"
    assert main(["digits_bnn", "--epochs", "2", "--config", '{"hidden": 32}', "--out", str(out),
                 "--hp", "lr=0.02"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "[digits] epoch   2/2  lr 0.01" in printed and "test acc" in printed
    model, meta = checkpoint.load(out, "digits_bnn")
    assert model.config()["hidden"] == 32
    assert meta["recipe"] == "digits" and meta["hp"] == {"lr": 0.02, "batch_size": 64}
    assert meta["epochs"] == 2 and len(meta["history"]) == 2 and meta["test_accuracy"] > CHANCE


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    return err[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["digits_bnn", "--recipe", "sgd"], "unknown recipe 'sgd'; known recipes: digits, abl"),
        (["resnet9000"], "unknown model 'resnet9000'; known models"),
        (["digits_bnn", "--hp", "lr=fast"], "hyper-parameter lr='fast' is not a valid float"),
        (["digits_bnn", "--hp", "momentum=0.9"], "bad hyper-parameter 'momentum=0.9'"),
        (["digits_bnn", "--config", "{hidden: 3}"], "--config is not valid JSON"),
        (["cnv_w1a1"], "this model trains on images: pass --data DIR"),
        (["digits_bnn", "--recipe", "two_stage", "--epochs", "1"], "needs at least 2 epochs"),
        (["digits_bnn", "--data", "/nonexistent"], "data directory /nonexistent does not exist"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in one_error_line(capsys)


def test_cli_refuses_a_checkpoint_of_another_model(tmp_path, capsys):
    path = tmp_path / "cnv.pt"
    checkpoint.save(path, "cnv_w1a1", models.build("cnv_w1a1", channels=(4,) * 6, fc=(8, 8)))
    assert main(["digits_bnn", "--init", str(path)]) == 2
    assert "is a checkpoint of 'cnv_w1a1', not 'digits_bnn'" in one_error_line(capsys)


def write_cifar(root, n=20, size=32):
    """CIFAR-10's python layout with n random images per batch."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        blob = {b"data": rng.integers(0, 256, (n, 3 * size * size), dtype=np.uint8),
                b"labels": list(rng.integers(0, 10, n))}  # fmt: skip
        (root / name).write_bytes(pickle.dumps(blob))


def test_cli_wrong_input_shape_is_the_models_input_shape_error(tmp_path, capsys):
    write_cifar(tmp_path)
    config = '{"width": 8, "blocks": [1, 1, 1], "input_size": 16}'
    argv = ["insta_resnet20", "--recipe", "cifar", "--epochs", "1", "--data", str(tmp_path)]
    assert main([*argv, "--config", config, "--out", str(tmp_path / "x.pt")]) == 2
    line = one_error_line(capsys)
    assert "InstaResNet20 expects input of shape (N, 3, 16, 16)" in line and "got (" in line


def test_cli_labels_beyond_the_models_classes(tmp_path, capsys):
    write_cifar(tmp_path)
    assert main(["cnv_w1a1", "--data", str(tmp_path), "--config", '{"num_classes": 5}']) == 2
    assert "labels up to 9 but the model has 5 classes" in one_error_line(capsys)


# --- data --------------------------------------------------------------------------------------


def test_cifar_python_batches(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py")
    data = load_dir(tmp_path)
    assert data.x_train.shape == (100, 3, 32, 32) and data.x_test.shape == (20, 3, 32, 32)
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(Exception, match="missing data_batch_3"):
        load_dir(tmp_path)


def test_imagenet_style_arrays_npz_and_memory_mapped_npy(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (6, 3, 8, 8), dtype=np.uint8)
    y = np.arange(6)
    np.savez(tmp_path / "train.npz", x=x, y=y)
    np.savez(tmp_path / "val.npz", x=x[:2], y=y[:2])
    data = load_dir(tmp_path)
    assert np.array_equal(data.x_train, x) and np.array_equal(data.y_test, [0, 1])
    big = tmp_path / "big"
    big.mkdir()
    for part, n in (("train", 6), ("val", 2)):
        np.save(big / f"{part}_x.npy", x[:n])
        np.save(big / f"{part}_y.npy", y[:n])
    data = load_dir(big)
    assert isinstance(data.x_train, np.memmap) and np.array_equal(data.x_train[[4, 1]], x[[4, 1]])


def test_image_folders_point_to_the_converter(tmp_path):
    (tmp_path / "train" / "n01440764").mkdir(parents=True)
    with pytest.raises(Exception, match="convert it once with `python -m sw.convert"):
        load_dir(tmp_path)
    with pytest.raises(Exception, match="holds neither CIFAR-10 python batches"):
        load_dir(tmp_path / "train")


def test_synthetic_images_are_deterministic_and_class_dependent():
    a = synthetic_images(40, 10, shape=(3, 8, 8), num_classes=4, seed=3)
    b = synthetic_images(40, 10, shape=(3, 8, 8), num_classes=4, seed=3)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert a.x_train.dtype == np.uint8 and np.bincount(a.y_train).tolist() == [10] * 4
    means = np.stack([a.x_train[a.y_train == k].mean(0) for k in range(4)])
    # nearest class mean classifies held-out images: the classes carry a learnable pattern
    dist = ((a.x_test[:, None].astype(float) - means[None]) ** 2).sum(axis=(2, 3, 4))
    assert (dist.argmin(1) == a.y_test).all()


def test_random_crop_flip_keeps_shape_and_pixels():
    x = np.arange(2 * 3 * 4 * 4, dtype=np.uint8).reshape(2, 3, 4, 4)
    out = random_crop_flip(x, np.random.default_rng(0), pad=2)
    assert out.shape == x.shape and out.dtype == np.uint8
    assert set(np.unique(out)) <= set(np.unique(x)) | {0}
