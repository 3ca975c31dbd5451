"""Training recipes of the zoo: `python -m sw.train MODEL --recipe NAME` (see `sw.train`).

| recipe | source | what |
|---|---|---|
| `digits` | ours | Adam 1e-2, cosine, batch 64 (digits_bnn's default) |
| `ablation` | INSTA-BNN supplementary A.2 | Adam 1e-3, x0.1 at 40/60/80 of 90, 5-epoch warm-up |
| `cifar` | INSTA-BNN supplementary A.1 | AdamW wd 1e-4, lr 3e-3 cosine, batch 256 |
| `two_stage` | ReActNet | stage 1 real weights, stage 2 binary weights |
| `se_finetune` | INSTA-BNN supplementary B | 8-bit LSQ SE weights, 10 epochs, lr 1e-4 linear |
| `bnnplus` | BNN+ | SignSwish backward, R1/R2 with trainable scales |
| `binaryduo` | BinaryDuo | coupled ternary model, decouple, fine-tune |
| `digits_resnet` | ours | the `digits` recipe for a small insta_resnet20 on 3x16x16 digits |

Each recipe module defines a frozen hyper-parameter dataclass (the paper's values as defaults,
overridable with `--hp key=value`) and `train(run, hp) -> Result`.
"""

from __future__ import annotations

from sw.recipes import (
    ablation,
    binaryduo,
    bnnplus,
    cifar,
    digits,
    digits_resnet,
    se_finetune,
    two_stage,
)
from sw.recipes.base import Recipe, Result, Run, UnknownRecipeError

RECIPES: dict[str, Recipe] = {
    m.RECIPE.name: m.RECIPE
    for m in (digits, ablation, cifar, two_stage, se_finetune, bnnplus, binaryduo, digits_resnet)
}


def get(name: str) -> Recipe:
    """The recipe called `name`; UnknownRecipeError lists the known ones."""
    try:
        return RECIPES[name]
    except KeyError:
        known = ", ".join(RECIPES)
        raise UnknownRecipeError(f"unknown recipe {name!r}; known recipes: {known}") from None


__all__ = ["RECIPES", "Recipe", "Result", "Run", "UnknownRecipeError", "get"]
