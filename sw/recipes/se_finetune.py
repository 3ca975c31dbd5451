"""`se_finetune`: INSTA-BNN supplementary B, the 8-bit SE fine-tuning stage.

After the two-stage training the SE blocks of INSTA-Th+ / INSTA-PReLU+ hold float weights. This
stage switches their LsqLinear layers to 8 bits (`quantize = True`), initialises the per-output-
channel step sizes (`init_step()`: s = 2 mean|w| / sqrt(Q_P), LSQ) and fine-tunes the whole model
for 10 epochs: learning rate 1e-4 with a linear decay, no weight decay. The step sizes train with
LSQ's gradient. B does not name the optimiser or batch size; Adam and 256 are used, as in the
other INSTA recipes. Start from the two-stage checkpoint with `--init CKPT`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from flows.errors import ConfigError
from sw.recipes.base import Recipe, Result, Run, finish, quantize_se, se_layers, start_model
from sw.recipes.loop import fit, linear_decay


@dataclass(frozen=True)
class SeFinetuneParams:
    lr: float = 1e-4
    weight_decay: float = 0.0
    batch_size: int = 256
    augment: bool = False


def train(run: Run, hp: SeFinetuneParams) -> Result:
    model = start_model(run)
    if not se_layers(model):
        raise ConfigError(
            f"{run.model_name} has no SE blocks; se_finetune applies to models with INSTA-Th+ / "
            "INSTA-PReLU+ (insta_resnet18_plus)"
        )
    if run.init is None:
        run.log("no --init checkpoint: fine-tuning a freshly built model")
    quantize_se(model)
    opt = torch.optim.Adam(model.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
    history = fit(
        model, run.data, opt=opt, lr_at=linear_decay(hp.lr, run.epochs), epochs=run.epochs,
        batch_size=hp.batch_size, seed=run.seed, stage="se 8-bit", augment=hp.augment,
        log=run.log, on_epoch=run.on_epoch,
    )  # fmt: skip
    return finish(model, run, history, se_weights="8-bit LSQ, fine-tuned")


RECIPE = Recipe("se_finetune", "supplementary B: 8-bit LSQ SE weights, 10 epochs, lr 1e-4 linear "
                "decay, no weight decay", SeFinetuneParams, 10, train)  # fmt: skip
