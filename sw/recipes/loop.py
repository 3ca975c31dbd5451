"""The training loop every recipe shares: shuffled mini-batches, cross-entropy (+ an optional
regulariser), a per-epoch learning-rate schedule, one progress line per epoch.

Determinism: the caller seeds torch; the shuffle uses its own generator seeded with `seed`, the
augmentation its own numpy generator, so a seed gives one model (with one torch thread).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as nnf

from flows.errors import ConfigError
from sw.data import Split, random_crop_flip

EVAL_BATCH = 500
MAX_TRAIN_EVAL = 10_000  # final train accuracy on at most this many training examples


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of one stage: the learning rate used, mean training loss (regulariser
    included), running training accuracy (train mode) and test accuracy (eval mode)."""

    stage: str
    epoch: int  # 1-based within the stage
    epochs: int
    lr: float
    loss: float
    train_acc: float
    test_acc: float

    def line(self) -> str:
        """The progress line printed after the epoch."""
        return (
            f"[{self.stage}] epoch {self.epoch:3d}/{self.epochs}  lr {self.lr:.3g}  "
            f"loss {self.loss:.4f}  train acc {self.train_acc:.4f}  test acc {self.test_acc:.4f}"
        )

    def as_dict(self) -> dict:
        return asdict(self)


EpochHook = Callable[[EpochRecord, nn.Module], None]


def as_batch(x: np.ndarray) -> Tensor:
    """uint8 (or memory-mapped) pixels -> float32 tensor (the models take pixel values)."""
    return torch.from_numpy(np.ascontiguousarray(x)).float()


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy in eval mode, in batches of EVAL_BATCH."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), EVAL_BATCH):
            pred = model(as_batch(x[i : i + EVAL_BATCH])).argmax(dim=1).numpy()
            correct += int((pred == y[i : i + EVAL_BATCH]).sum())
    return correct / max(len(x), 1)


def final_metrics(model: nn.Module, data: Split) -> dict:
    """{"train_accuracy", "test_accuracy"} of the trained model (eval mode)."""
    n = min(len(data.x_train), MAX_TRAIN_EVAL)
    return {
        "train_accuracy": accuracy(model, data.x_train[:n], data.y_train[:n]),
        "test_accuracy": accuracy(model, data.x_test, data.y_test),
    }


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


def fit(
    model: nn.Module,
    data: Split,
    *,
    opt: torch.optim.Optimizer,
    lr_at: Callable[[int], float],
    epochs: int,
    batch_size: int,
    seed: int,
    stage: str = "train",
    extra_loss: Callable[[], Tensor] | None = None,
    augment: bool = False,
    log: Callable[[str], None] = print,
    on_epoch: Sequence[EpochHook] = (),
) -> list[EpochRecord]:
    """Train `epochs` epochs; epoch e (0-based) uses learning rate `lr_at(e)`. Returns one
    record per epoch (also printed through `log` and passed to every `on_epoch` hook)."""
    if augment and data.x_train.ndim != 4:
        raise ConfigError("augment=true needs (N, C, H, W) images; this data set has none")
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed) if augment else None
    history = []
    for epoch in range(epochs):
        set_lr(opt, lr_at(epoch))
        perm = torch.randperm(len(data.x_train), generator=gen).numpy()
        loss, train_acc = _epoch(model, data, opt, perm, batch_size, extra_loss, rng)
        test_acc = accuracy(model, data.x_test, data.y_test)
        rec = EpochRecord(stage, epoch + 1, epochs, lr_at(epoch), loss, train_acc, test_acc)
        history.append(rec)
        log(rec.line())
        for hook in on_epoch:
            hook(rec, model)
    return history


def _epoch(
    model: nn.Module,
    data: Split,
    opt: torch.optim.Optimizer,
    perm: np.ndarray,
    batch_size: int,
    extra_loss: Callable[[], Tensor] | None,
    rng: np.random.Generator | None,
) -> tuple[float, float]:
    """One pass over the training set in the order `perm`: (mean loss, running accuracy)."""
    model.train()
    total, correct = 0.0, 0
    for i in range(0, len(perm), batch_size):
        idx = perm[i : i + batch_size]
        xb = data.x_train[idx]
        x = as_batch(random_crop_flip(xb, rng) if rng is not None else xb)
        y = torch.from_numpy(np.asarray(data.y_train[idx]))
        opt.zero_grad()
        logits = model(x)
        loss = nnf.cross_entropy(logits, y)
        if extra_loss is not None:
            loss = loss + extra_loss()
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
        correct += int((logits.argmax(dim=1) == y).sum())
    return total / len(perm), correct / len(perm)


# Learning-rate schedules: functions of the 0-based epoch, so tests can read them directly.


def scaled_milestones(milestones: Sequence[int], of: int, epochs: int) -> list[int]:
    """Milestones given for an `of`-epoch run, rescaled to `epochs` (rounded, at least 1)."""
    return [max(1, round(m * epochs / of)) for m in milestones]


def step_decay(
    base: float, milestones: Sequence[int], gamma: float = 0.1, warmup: int = 0
) -> Callable[[int], float]:
    """`base` x gamma^(milestones passed), after a linear warm-up: epoch e < warmup uses
    base x (e + 1) / warmup."""

    def lr_at(epoch: int) -> float:
        decay = gamma ** sum(epoch >= m for m in milestones)
        ramp = min(1.0, (epoch + 1) / warmup) if warmup else 1.0
        return base * decay * ramp

    return lr_at


def cosine(base: float, epochs: int) -> Callable[[int], float]:
    """Cosine annealing from `base` (epoch 0) towards 0 (epoch `epochs`)."""
    return lambda epoch: base * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))


def torch_cosine(base: float, epochs: int) -> Callable[[int], float]:
    """The values of torch's `CosineAnnealingLR` (its recursive form, which differs from
    `cosine` in the last bits): the `digits` recipe keeps them so that it reproduces checkpoints
    trained before the recipes existed bit for bit."""
    param = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=base)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    values = []
    for _ in range(epochs):
        values.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lambda epoch: values[epoch]


def linear_decay(base: float, epochs: int) -> Callable[[int], float]:
    """Linear decay from `base` (epoch 0) towards 0 (epoch `epochs`)."""
    return lambda epoch: base * (1.0 - epoch / epochs)
