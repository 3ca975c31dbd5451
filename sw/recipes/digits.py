"""`digits`: the default recipe of digits_bnn (Adam 1e-2, cosine decay, batch 64, 60 epochs).

Not from a paper: a quick recipe for the 1437 training digits. Given the same initial model it
trains bit for bit as `sw.train.train_digits` did before the recipes existed (same shuffle, same
learning rates: torch's CosineAnnealingLR values). The recipe now also seeds the model's
initialisation (`--seed`); before, the command line built it from torch's per-process seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from sw.data import Split
from sw.recipes.base import Recipe, Result, Run, finish, start_model
from sw.recipes.loop import EpochHook, EpochRecord, fit, torch_cosine


@dataclass(frozen=True)
class DigitsParams:
    lr: float = 1e-2
    batch_size: int = 64


def train_model(
    model: nn.Module,
    data: Split,
    hp: DigitsParams,
    *,
    epochs: int,
    seed: int,
    log: Callable[[str], None] = print,
    on_epoch: Sequence[EpochHook] = (),
) -> list[EpochRecord]:
    """Train `model` in place (one torch thread: one model per seed on every machine)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=hp.lr)
    return fit(
        model, data, opt=opt, lr_at=torch_cosine(hp.lr, epochs), epochs=epochs,
        batch_size=hp.batch_size, seed=seed, stage="digits", log=log, on_epoch=on_epoch,
    )  # fmt: skip


def train(run: Run, hp: DigitsParams) -> Result:
    model = start_model(run)
    history = train_model(
        model, run.data, hp, epochs=run.epochs, seed=run.seed, log=run.log, on_epoch=run.on_epoch
    )
    return finish(model, run, history)


RECIPE = Recipe("digits", "Adam 1e-2, cosine, batch 64 (digits_bnn default)", DigitsParams, 60,
                train)  # fmt: skip
