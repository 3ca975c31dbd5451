"""`ablation`: INSTA-BNN supplementary A.2, the ablation-study recipe.

From scratch, 90 epochs, Adam with learning rate 1e-3 multiplied by 0.1 at epochs 40, 60 and 80,
a linear warm-up over the first 5 epochs, no weight decay, 1-bit and 32-bit precision only (SE
weights, if any, are trained in float). With `--epochs N` the milestones and the warm-up scale by
N / 90 (rounded, at least one epoch). The batch size is not stated in A.2; A.1's 256 is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from sw.recipes.base import Recipe, Result, Run, end_float_se, finish, float_se, start_model
from sw.recipes.loop import fit, scaled_milestones, step_decay


@dataclass(frozen=True)
class AblationParams:
    lr: float = 1e-3
    milestones: tuple[int, ...] = (40, 60, 80)
    of_epochs: int = 90
    gamma: float = 0.1
    warmup: int = 5
    weight_decay: float = 0.0
    batch_size: int = 256
    augment: bool = False


def schedule(hp: AblationParams, epochs: int) -> Callable[[int], float]:
    """The learning rate of each 0-based epoch of an `epochs`-epoch run."""
    milestones = scaled_milestones(hp.milestones, hp.of_epochs, epochs)
    warmup = max(1, round(hp.warmup * epochs / hp.of_epochs)) if hp.warmup else 0
    return step_decay(hp.lr, milestones, hp.gamma, warmup)


def train(run: Run, hp: AblationParams) -> Result:
    model = start_model(run)
    float_se(model)
    opt = torch.optim.Adam(model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
    history = fit(
        model, run.data, opt=opt, lr_at=schedule(hp, run.epochs), epochs=run.epochs,
        batch_size=hp.batch_size, seed=run.seed, stage="ablation", augment=hp.augment,
        log=run.log, on_epoch=run.on_epoch,
    )  # fmt: skip
    return finish(model, run, history, **end_float_se(model, run))


RECIPE = Recipe("ablation", "supplementary A.2: Adam 1e-3, x0.1 at 40/60/80 of 90, 5-ep warm-up",
                AblationParams, 90, train)  # fmt: skip
