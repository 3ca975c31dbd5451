"""`two_stage`: the ReActNet two-stage recipe.

Stage 1 trains binary activations with real-valued weights (`set_binary_weights(model, False)`);
stage 2 switches the binary weight quantisers back on, so the binary weights start from sign(W)
of stage 1's real weights (scale mean|W| per output channel), and trains on. Each stage runs a
fresh Adam optimiser with a linear learning-rate decay from 1e-3 to 0, batch 512, weight decay
1e-5 on the weight tensors (not on BN and activation parameters) in stage 1 and 0 in stage 2,
256 epochs each: the 256-epoch setting of ReActNet's ResNet scripts (github.com/liuzechun/ReActNet,
resnet/1_step1/run.sh, 2_step2/run.sh; the paper itself is not among our references). ReActNet's
distillation from a real-valued teacher and its augmentation are not part of this recipe.
`--epochs` is split between the stages (`stage1_share`, default half, each at least one epoch). SE weights, if any, stay
float: the 8-bit SE stage is `se_finetune` (supplementary B: "after the two-stage training").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from sw.quant import set_binary_weights
from sw.recipes.base import (
    Recipe,
    Result,
    Run,
    end_float_se,
    finish,
    float_se,
    need_epochs,
    start_model,
)
from sw.recipes.loop import fit, linear_decay


@dataclass(frozen=True)
class TwoStageParams:
    lr: float = 1e-3
    weight_decay_1: float = 1e-5
    weight_decay_2: float = 0.0
    batch_size: int = 512
    stage1_share: float = 0.5
    augment: bool = False


def split_epochs(hp: TwoStageParams, epochs: int) -> tuple[int, int]:
    """(stage-1 epochs, stage-2 epochs), each at least 1."""
    first = min(max(1, math.ceil(epochs * hp.stage1_share)), epochs - 1)
    return first, epochs - first


def weight_decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two parameter groups: weight tensors (2-D and up) with `weight_decay`, the rest without
    (as ReActNet's scripts do)."""
    params = [p for p in model.parameters() if p.requires_grad]
    weights = [p for p in params if p.ndim >= 2]
    others = [p for p in params if p.ndim < 2]
    return [{"params": others}, {"params": weights, "weight_decay": weight_decay}]


def train(run: Run, hp: TwoStageParams) -> Result:
    need_epochs(run, 2, "two_stage")
    model = start_model(run)
    float_se(model)
    history = []
    for stage, epochs in enumerate(split_epochs(hp, run.epochs), start=1):
        set_binary_weights(model, stage == 2)
        wd = hp.weight_decay_1 if stage == 1 else hp.weight_decay_2
        opt = torch.optim.Adam(weight_decay_groups(model, wd), lr=hp.lr)
        label = "stage 1: real weights" if stage == 1 else "stage 2: binary weights"
        history += fit(
            model, run.data, opt=opt, lr_at=linear_decay(hp.lr, epochs), epochs=epochs,
            batch_size=hp.batch_size, seed=run.seed + stage, stage=label, augment=hp.augment,
            log=run.log, on_epoch=run.on_epoch,
        )  # fmt: skip
    return finish(model, run, history, **end_float_se(model, run))


RECIPE = Recipe("two_stage", "ReActNet: stage 1 real weights + binary activations, stage 2 "
                "binary weights; Adam 1e-3 linear decay", TwoStageParams, 512, train)  # fmt: skip
