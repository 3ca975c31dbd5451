"""`cifar`: INSTA-BNN supplementary A.1, the CIFAR-10 recipe (ResNet-20).

AdamW with weight decay 1e-4, initial learning rate 3e-3 with cosine annealing, batch size 256,
400 epochs. A.1 does not state an augmentation; `--hp augment=true` adds the usual random crop
(4-pixel zero padding) and horizontal flip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from sw.recipes.base import Recipe, Result, Run, end_float_se, finish, float_se, start_model
from sw.recipes.loop import cosine, fit


@dataclass(frozen=True)
class CifarParams:
    lr: float = 3e-3
    weight_decay: float = 1e-4
    batch_size: int = 256
    augment: bool = False


def schedule(hp: CifarParams, epochs: int) -> Callable[[int], float]:
    """Cosine annealing from hp.lr at epoch 0 towards 0 at epoch `epochs`."""
    return cosine(hp.lr, epochs)


def train(run: Run, hp: CifarParams) -> Result:
    model = start_model(run)
    float_se(model)
    opt = torch.optim.AdamW(model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
    history = fit(
        model, run.data, opt=opt, lr_at=schedule(hp, run.epochs), epochs=run.epochs,
        batch_size=hp.batch_size, seed=run.seed, stage="cifar", augment=hp.augment,
        log=run.log, on_epoch=run.on_epoch,
    )  # fmt: skip
    return finish(model, run, history, **end_float_se(model, run))


RECIPE = Recipe("cifar", "supplementary A.1: AdamW wd 1e-4, lr 3e-3 cosine, batch 256",
                CifarParams, 400, train)  # fmt: skip
