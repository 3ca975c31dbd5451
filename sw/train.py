"""`python -m sw.train MODEL`: train a model on data the packages ship, save a checkpoint.

Recipes are named; `digits` (the default for digits_bnn) is Adam with a cosine schedule.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from flows.errors import FlowError
from sw import checkpoint, models
from sw.data import digits


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x).float()).argmax(dim=1).numpy()
    return float((pred == y).mean())


def train_digits(model: nn.Module, *, epochs: int, seed: int, lr: float = 1e-2, log=print) -> dict:
    """Adam + cosine decay on the digits split; returns the final train/test accuracy."""
    # One thread: float reductions then run in one order, so a seed gives one model everywhere.
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    data = digits()
    x = torch.from_numpy(data.x_train).float()
    y = torch.from_numpy(data.y_train)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        if epoch % 10 == 9 or epoch == epochs - 1:
            acc = accuracy(model, data.x_test, data.y_test)
            log(f"epoch {epoch + 1:3d}/{epochs}  loss {total / len(x):.4f}  test acc {acc:.4f}")
    return {
        "train_accuracy": accuracy(model, data.x_train, data.y_train),
        "test_accuracy": accuracy(model, data.x_test, data.y_test),
    }


RECIPES = {"digits": train_digits}
DEFAULT_RECIPE = {"digits_bnn": "digits"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sw.train", description=__doc__)
    p.add_argument("model")
    p.add_argument("--recipe", default=None, help=f"one of {sorted(RECIPES)}")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="default build/<model>/checkpoint.pt")
    args = p.parse_args(argv)
    try:
        model = models.build(args.model)
        recipe = args.recipe or DEFAULT_RECIPE.get(args.model)
        if recipe not in RECIPES:
            raise FlowError(f"unknown recipe {recipe!r}; known recipes: {sorted(RECIPES)}")
        t0 = time.time()
        result = RECIPES[recipe](model, epochs=args.epochs, seed=args.seed)
        out = args.out or Path("build") / args.model / "checkpoint.pt"
        checkpoint.save(
            out, args.model, model, recipe=recipe, seed=args.seed, epochs=args.epochs, **result
        )
    except FlowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"{args.model}: test accuracy {result['test_accuracy']:.4f} "
        f"(train {result['train_accuracy']:.4f}) in {time.time() - t0:.1f} s -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
