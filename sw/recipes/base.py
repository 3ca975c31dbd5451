"""What every recipe shares: the run description, the result, hyper-parameter parsing, how the
model is started (seeded build or a checkpoint) and the handling of 8-bit SE weights."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from flows.errors import ConfigError, FlowError
from sw import checkpoint, models
from sw.data import Split
from sw.lsq import LsqLinear
from sw.recipes.loop import EpochHook, EpochRecord, final_metrics


class UnknownRecipeError(FlowError):
    """RECIPE names no training recipe."""


@dataclass
class Run:
    """One training run: the model to build (registry name + keyword configuration, or the
    checkpoint `init` to start from), the data, the epoch budget and the seed."""

    model_name: str
    data: Split
    epochs: int
    seed: int = 0
    config: dict = field(default_factory=dict)
    init: Path | None = None
    log: Callable[[str], None] = print
    on_epoch: Sequence[EpochHook] = ()


@dataclass
class Result:
    """The trained model (a zoo model that `sw.checkpoint.load` rebuilds), its final accuracies
    (`train_accuracy`, `test_accuracy`), the per-epoch history and recipe-specific metadata."""

    model: nn.Module
    metrics: dict
    history: list[EpochRecord]
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    """A named recipe: `params` is a frozen dataclass of hyper-parameters whose defaults are the
    paper's; `epochs` the paper's epoch budget (the default of --epochs)."""

    name: str
    summary: str
    params: type
    epochs: int
    train: Callable[[Run, Any], Result]

    def hyper_parameters(self, overrides: Sequence[str] = ()) -> Any:
        """The defaults with `key=value` overrides applied (typed like the default)."""
        return parse_overrides(self.params(), overrides, self.name)


def _convert(text: str, default: Any) -> Any:
    if isinstance(default, bool):
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError(text)
        return text.lower() in ("true", "1")
    if isinstance(default, tuple):
        return tuple(int(v) for v in text.split(",") if v)
    return type(default)(text)


def parse_overrides(hp: Any, overrides: Sequence[str], recipe: str) -> Any:
    """Apply `key=value` strings to the dataclass instance `hp`."""
    known = {f.name: getattr(hp, f.name) for f in dataclasses.fields(hp)}
    changes = {}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or key not in known:
            raise ConfigError(
                f"bad hyper-parameter {item!r} for recipe {recipe!r}; use key=value with key one "
                f"of {', '.join(known)}"
            )
        try:
            changes[key] = _convert(text, known[key])
        except ValueError:
            kind = type(known[key]).__name__
            raise ConfigError(f"hyper-parameter {key}={text!r} is not a valid {kind}") from None
    return dataclasses.replace(hp, **changes)


def start_model(run: Run) -> nn.Module:
    """The model a recipe trains: `run.init`'s checkpoint, else a build seeded with `run.seed`."""
    if run.init is not None:
        model, _ = checkpoint.load(run.init, run.model_name)
        return model
    torch.manual_seed(run.seed)
    return models.build(run.model_name, **run.config)


def finish(model: nn.Module, run: Run, history: list[EpochRecord], **meta: Any) -> Result:
    """Evaluate the trained model and package the result."""
    metrics = final_metrics(model, run.data)
    run.log(
        f"final: train acc {metrics['train_accuracy']:.4f}  test acc {metrics['test_accuracy']:.4f}"
    )
    return Result(model, metrics, history, meta)


def need_epochs(run: Run, least: int, recipe: str) -> None:
    if run.epochs < least:
        raise ConfigError(f"recipe {recipe!r} needs at least {least} epochs; got {run.epochs}")


# 8-bit SE weights (INSTA-BNN supplementary B): trained in float, then fine-tuned with LSQ.


def se_layers(model: nn.Module) -> list[LsqLinear]:
    """The LSQ layers of the model's SE blocks (INSTA-Th+ / INSTA-PReLU+)."""
    return [m for m in model.modules() if isinstance(m, LsqLinear)]


def float_se(model: nn.Module) -> None:
    """Train SE weights in float (the from-scratch recipes use 1-bit and 32-bit only)."""
    for layer in se_layers(model):
        layer.quantize = False


def quantize_se(model: nn.Module) -> None:
    """Switch SE weights to 8 bits with the LSQ step initialisation s = 2 mean|w| / sqrt(Q_P)."""
    for layer in se_layers(model):
        layer.quantize = True
        layer.init_step()


def end_float_se(model: nn.Module, run: Run) -> dict:
    """After a from-scratch recipe: quantise float-trained SE weights (LSQ initialisation, no
    training) so the checkpoint holds what `sw.checkpoint.load` rebuilds, and say what to run."""
    if not se_layers(model):
        return {}
    quantize_se(model)
    run.log(
        "SE weights were trained in float and are now 8-bit with LSQ's initial step sizes; "
        f"fine-tune them: python -m sw.train {run.model_name} --recipe se_finetune --init CKPT"
    )
    return {"se_weights": "float-trained, LSQ-initialised (run se_finetune)"}
