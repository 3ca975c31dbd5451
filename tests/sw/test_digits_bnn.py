import numpy as np
import pytest
import torch

from flows.errors import UnknownModelError
from sw import checkpoint, models
from sw.checkpoint import CheckpointError
from sw.data import digits

ACCURACY_BAR = 0.93  # seed 0, 60 epochs reaches ~0.978 on the 360 test digits


def test_trained_accuracy_above_bar(digits_checkpoint):
    model, meta = checkpoint.load(digits_checkpoint, "digits_bnn")
    d = digits()
    with torch.no_grad():
        pred = model(torch.from_numpy(d.x_test).float()).argmax(1).numpy()
    acc = float((pred == d.y_test).mean())
    print(f"digits_bnn test accuracy {acc:.4f}")
    assert acc >= ACCURACY_BAR
    assert meta["test_accuracy"] == pytest.approx(acc)


def test_weights_are_binary_with_per_channel_scale(digits_checkpoint):
    model, _ = checkpoint.load(digits_checkpoint, "digits_bnn")
    q = model.features[0].quant_weight()
    scale = q.scale.detach().numpy()
    assert scale.shape == (128, 1) and len(np.unique(scale)) > 1
    assert np.all(np.abs(q.value.detach().numpy()) == np.broadcast_to(scale, (128, 64)))


def test_split_is_fixed():
    d = digits()
    assert len(d.x_test) == 360 and d.x_train.dtype == np.uint8 and d.x_train.max() == 16


def test_checkpoint_of_another_model_is_refused(digits_checkpoint, monkeypatch):
    monkeypatch.setitem(models.MODELS, "other_net", models.MODELS["digits_bnn"])
    with pytest.raises(CheckpointError, match="is a checkpoint of 'digits_bnn', not 'other_net'"):
        checkpoint.load(digits_checkpoint, "other_net")


def test_unknown_model():
    with pytest.raises(UnknownModelError, match="unknown model 'resnet9000'; known models"):
        models.build("resnet9000")
