"""`python -m sw.train MODEL [--recipe R] [--epochs N] [--data DIR] [--seed S]`: train a zoo model
with a recipe from the papers and save a checkpoint (atomically, with the recipe and its
hyper-parameters).

Recipes (`sw.recipes`): digits, ablation, cifar, two_stage, se_finetune, bnnplus, binaryduo.
Data: `digits` (default for 64-input models), `synthetic`, or a directory with CIFAR-10 python
batches or ImageNet-style arrays (`sw.data`). Hyper-parameters: the paper's, changed with
`--hp key=value`; the model's configuration with `--config JSON`; `--init CKPT` starts from a
checkpoint (se_finetune). Errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from flows.errors import ConfigError, FlowError
from sw import checkpoint, models
from sw.data import digits, resolve
from sw.recipes import RECIPES, Result, Run, get
from sw.recipes.digits import DigitsParams, train_model
from sw.recipes.loop import final_metrics

DEFAULT_RECIPE = {
    "digits_bnn": "digits",
    "cnv_w1a1": "ablation",
    "insta_resnet20": "cifar",
    "reactnet_resnet18": "two_stage",
    "insta_resnet18": "two_stage",
    "insta_resnet18_plus": "two_stage",
    "insta_resnet18_lat": "two_stage",
}


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of `model` (eval mode) on pixels `x` with labels `y`."""
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x).float()).argmax(dim=1).numpy()
    return float((pred == y).mean())


def train_digits(model: nn.Module, *, epochs: int, seed: int, lr: float = 1e-2, log=print) -> dict:
    """The `digits` recipe on the digits split (Adam + cosine decay); trains `model` in place and
    returns its final train / test accuracy."""
    data = digits()
    train_model(model, data, DigitsParams(lr=lr), epochs=epochs, seed=seed, log=log)
    return final_metrics(model, data)


def _config(text: str) -> dict:
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"--config is not valid JSON ({e}); e.g. '{{\"width\": 16}}'") from None
    if not isinstance(config, dict):
        raise ConfigError("--config must be a JSON object of model keyword arguments")
    return config


def _probe(args: argparse.Namespace, config: dict) -> nn.Module:
    """The model as configured (without touching the global RNG the recipes seed)."""
    if args.init is not None and config:
        raise ConfigError("--config and --init exclude each other: the checkpoint holds the config")
    with torch.random.fork_rng():
        if args.init is not None:
            return checkpoint.load(args.init, args.model)[0]
        return models.build(args.model, **config)


def train(args: argparse.Namespace, log=print) -> tuple[Path, Result]:
    """Run the command line's recipe and save the checkpoint; returns (path, result)."""
    recipe = get(args.recipe or DEFAULT_RECIPE.get(args.model, "ablation"))
    config = _config(args.config)
    probe = _probe(args, config)
    hp = recipe.hyper_parameters(args.hp)
    epochs = recipe.epochs if args.epochs is None else args.epochs
    if epochs < 1:
        raise ConfigError(f"--epochs must be at least 1; got {epochs}")
    data = resolve(args.data, input_shape=probe.input_shape, num_classes=probe.num_classes)
    log(f"{args.model}: recipe {recipe.name} ({recipe.summary}); {epochs} epochs, seed "
        f"{args.seed}, {len(data.x_train)} training / {len(data.x_test)} test examples")  # fmt: skip
    log(f"hyper-parameters: {asdict(hp)}")
    run = Run(args.model, data, epochs, args.seed, config=config, init=args.init, log=log)
    result = recipe.train(run, hp)
    out = args.out or Path("build") / args.model / "checkpoint.pt"
    meta = dict(recipe=recipe.name, hp=asdict(hp), seed=args.seed, epochs=epochs)
    meta.update(data=args.data or "digits", init=str(args.init) if args.init else None)
    meta["history"] = [r.as_dict() for r in result.history]
    checkpoint.save(out, args.model, result.model, **meta, **result.meta, **result.metrics)
    return out, result


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sw.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("model", help=f"one of {', '.join(models.MODELS)}")
    p.add_argument("--recipe", help=f"one of {', '.join(RECIPES)} (default: per model)")
    p.add_argument("--epochs", type=int, help="default: the recipe's (the paper's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", help="digits | synthetic | DIR (CIFAR-10 batches, ImageNet arrays)")
    p.add_argument("--out", type=Path, help="default build/<model>/checkpoint.pt")
    p.add_argument("--init", type=Path, help="start from this checkpoint (se_finetune)")
    p.add_argument("--config", default="{}", help="model configuration as JSON: '{\"width\": 16}'")
    p.add_argument("--hp", action="append", default=[], metavar="KEY=VALUE",
                   help="override a hyper-parameter of the recipe (repeatable)")  # fmt: skip
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: one model per seed)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    t0 = time.time()
    try:
        out, result = train(args)
    except FlowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    m = result.metrics
    print(
        f"{args.model}: test accuracy {m['test_accuracy']:.4f} (train {m['train_accuracy']:.4f}) "
        f"in {time.time() - t0:.1f} s -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
