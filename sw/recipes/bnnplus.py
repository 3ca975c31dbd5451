"""`bnnplus`: BNN+ (bnn_plus.txt): SignSwish backward, R1/R2 regulariser with trainable scales.

* Every binary activation back-propagates through SignSwish (eq. 2-3) with `beta` (5 by default,
  the paper's fixed setting; `trainable_beta=true` learns it). Only the backward changes: the
  forward stays sign, so the trained model is the same zoo model. Models whose activations are
  Brevitas `BinaryAct` (digits_bnn) get a `BinaryActivation` for the run and their own module
  back afterwards; the others' activations switch their `ste` for the run.
* The loss adds lambda * sum R(W, alpha) (eq. 6) over the binary-weight layers, R1 (default) or
  R2, with per-output-channel scales initialised to median / mean |W| (`sw.regularizers`).
* Adam, learning rate 1e-3 x0.1 at epochs 100, 150, 200 of 250 (the paper's DoReFa-Net CIFAR-10
  setting; the milestones scale with --epochs), lambda 5e-7 (its CIFAR-10 value), batch 64 (its
  AlexNet setting; DoReFa-Net's is not stated).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from sw.binaryduo import is_brevitas_sign
from sw.quant import BinaryActivation
from sw.recipes.base import Recipe, Result, Run, end_float_se, finish, float_se, start_model
from sw.recipes.loop import fit, scaled_milestones, step_decay
from sw.regularizers import BinaryRegularizer


@dataclass(frozen=True)
class BnnPlusParams:
    lr: float = 1e-3
    milestones: tuple[int, ...] = (100, 150, 200)
    of_epochs: int = 250
    gamma: float = 0.1
    beta: float = 5.0
    trainable_beta: bool = False
    regularizer: str = "r1"
    lam: float = 5e-7
    weight_decay: float = 0.0
    batch_size: int = 64
    augment: bool = False


def schedule(hp: BnnPlusParams, epochs: int) -> Callable[[int], float]:
    """Step decay at the paper's milestones scaled to `epochs`."""
    return step_decay(hp.lr, scaled_milestones(hp.milestones, hp.of_epochs, epochs), hp.gamma)


def use_sign_swish(model: nn.Module, beta: float, trainable: bool) -> Callable[[], list[float]]:
    """Give every binary activation of `model` the SignSwish backward; returns `restore()`,
    which undoes it and returns the (possibly trained) betas."""
    undo: list[Callable[[], float]] = []
    for parent in list(model.modules()):
        if hasattr(parent, "ste") and isinstance(getattr(parent, "ste_beta", None), nn.Parameter):
            undo.append(_switch(parent, beta, trainable))
        if isinstance(parent, BinaryActivation):
            continue  # its own quantiser is the forward half of the surrogate
        for name, child in list(parent.named_children()):
            if is_brevitas_sign(child):
                act = BinaryActivation(ste="sign_swish", ste_beta=beta, trainable_beta=trainable)
                setattr(parent, name, act)
                undo.append(_swapped(parent, name, child, act))

    def restore() -> list[float]:
        return [u() for u in undo]

    return restore


def _switch(m: nn.Module, beta: float, trainable: bool) -> Callable[[], float]:
    old_kind, old_grad = m.ste, m.ste_beta.requires_grad
    m.ste = "sign_swish"
    with torch.no_grad():
        m.ste_beta.fill_(beta)
    m.ste_beta.requires_grad_(trainable)

    def undo() -> float:
        m.ste = old_kind
        m.ste_beta.requires_grad_(old_grad)
        return float(m.ste_beta.detach())

    return undo


def _swapped(parent: nn.Module, name: str, old: nn.Module, act: nn.Module) -> Callable[[], float]:
    def undo() -> float:
        setattr(parent, name, old)
        return float(act.ste_beta.detach())

    return undo


def train(run: Run, hp: BnnPlusParams) -> Result:
    model = start_model(run)
    float_se(model)
    restore = use_sign_swish(model, hp.beta, hp.trainable_beta)
    reg = BinaryRegularizer(model, kind=hp.regularizer, lam=hp.lam)
    params = [p for p in [*model.parameters(), *reg.parameters()] if p.requires_grad]
    opt = torch.optim.Adam(params, lr=hp.lr, weight_decay=hp.weight_decay)
    history = fit(
        model, run.data, opt=opt, lr_at=schedule(hp, run.epochs), epochs=run.epochs,
        batch_size=hp.batch_size, seed=run.seed, stage="bnn+", extra_loss=reg,
        augment=hp.augment, log=run.log, on_epoch=run.on_epoch,
    )  # fmt: skip
    betas = restore()
    meta = {"betas": betas, "regularizer_scales": reg.scale_summary()}
    meta["regularizer_value"] = float(reg().detach())
    return finish(model, run, history, **meta, **end_float_se(model, run))


RECIPE = Recipe("bnnplus", "BNN+: SignSwish backward, R1/R2 regulariser with trainable scales, "
                "Adam 1e-3 x0.1 at 100/150/200 of 250", BnnPlusParams, 250, train)  # fmt: skip
