"""`binaryduo`: BinaryDuo (binaryduo.txt, section 5 and appendix), model pieces in `sw.binaryduo`.

1. Train the coupled ternary model (floor(N / sqrt(2)) neurons / channels, {-1, 0, +1}
   activations with thresholds +-0.5) from scratch: Adam with decoupled weight decay 2e-5,
   learning rate 1e-3 x0.1 at epochs 41, 71, 91 of 100 (the paper's AlexNet ImageNet setting,
   the one of a plain non-residual network like ours), batch 256.
2. Decouple it: the zoo model with 2 floor(N / sqrt(2)) neurons / channels and binary
   activations, the same function (the log shows both test accuracies).
3. Fine-tune: learning rate 2e-5 x0.1 at 16, 26, 36 of 40 epochs, weight decay 1e-6, with each
   pair of duplicated weight rows tied (`tie_rows`, the paper's shared weighted sum).

`--epochs` is split 100 : 40 between the stages (each at least one epoch); the milestones scale
with the stage's epochs. The recipe uses the bipolar levels, which decouple into the zoo's
{-1, +1} activations; `sw.binaryduo.coupled(levels="unipolar")` is the paper's {0, 1/2, 1} form.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from flows.errors import ConfigError
from sw.binaryduo import coupled, decouple, tie_duplicated_rows
from sw.recipes.base import Recipe, Result, Run, finish, need_epochs
from sw.recipes.loop import accuracy, fit, scaled_milestones, step_decay


@dataclass(frozen=True)
class BinaryDuoParams:
    lr: float = 1e-3
    milestones: tuple[int, ...] = (41, 71, 91)
    of_epochs: int = 100
    weight_decay: float = 2e-5
    finetune_lr: float = 2e-5
    finetune_milestones: tuple[int, ...] = (16, 26, 36)
    finetune_of_epochs: int = 40
    finetune_weight_decay: float = 1e-6
    gamma: float = 0.1
    batch_size: int = 256
    tie_rows: bool = True


def split_epochs(hp: BinaryDuoParams, epochs: int) -> tuple[int, int]:
    """(coupled epochs, fine-tuning epochs) in the paper's 100 : 40 ratio, each at least 1."""
    total = hp.of_epochs + hp.finetune_of_epochs
    tune = min(max(1, round(epochs * hp.finetune_of_epochs / total)), epochs - 1)
    return epochs - tune, tune


def _stage(model: nn.Module, run: Run, hp: BinaryDuoParams, epochs: int, *, finetune: bool):
    """Train the coupled model (`finetune=False`) or fine-tune the decoupled one."""
    lr = hp.finetune_lr if finetune else hp.lr
    wd = hp.finetune_weight_decay if finetune else hp.weight_decay
    marks = hp.finetune_milestones if finetune else hp.milestones
    of = hp.finetune_of_epochs if finetune else hp.of_epochs
    lr_at = step_decay(lr, scaled_milestones(marks, of, epochs), hp.gamma)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    stage = "decoupled fine-tune" if finetune else "coupled ternary"
    return fit(
        model, run.data, opt=opt, lr_at=lr_at, epochs=epochs, batch_size=hp.batch_size,
        seed=run.seed + int(finetune), stage=stage, log=run.log, on_epoch=run.on_epoch,
    )  # fmt: skip


def train(run: Run, hp: BinaryDuoParams) -> Result:
    need_epochs(run, 2, "binaryduo")
    if run.init is not None:
        raise ConfigError("binaryduo trains its coupled ternary model from scratch; drop --init")
    first, second = split_epochs(hp, run.epochs)
    torch.manual_seed(run.seed)
    ternary = coupled(run.model_name, levels="bipolar", **run.config)
    history = _stage(ternary, run, hp, first, finetune=False)
    x, y = run.data.x_test, run.data.y_test
    before = accuracy(ternary, x, y)
    model = decouple(ternary)
    after = accuracy(model, x, y)
    run.log(f"decoupled: test acc {after:.4f} (coupled ternary {before:.4f})")
    handles = tie_duplicated_rows(model) if hp.tie_rows else []
    history += _stage(model, run, hp, second, finetune=True)
    for h in handles:
        h.remove()
    meta = {
        "coupled_config": ternary.binaryduo["config"],
        "coupled_test_accuracy": before,
        "decoupled_test_accuracy": after,
    }
    return finish(model, run, history, **meta)


RECIPE = Recipe("binaryduo", "BinaryDuo: coupled ternary model (N/sqrt 2 wide), decouple, "
                "fine-tune", BinaryDuoParams, 140, train)  # fmt: skip
