"""BinaryDuo (binaryduo.txt, section 5): train a coupled ternary model, decouple it into a binary
one with the same function, fine-tune.

**Coupled model** (`coupled`): the zoo model with floor(N / sqrt(2)) neurons / channels per
hidden layer (section 5.2) and a `TernaryActivation` in place of each binary activation:

* `levels="bipolar"`: t(y) in {-1, 0, +1} with thresholds +-0.5, t = (s(y - 0.5) + s(y + 0.5)) / 2
  where s is the zoo's sign (s(0) = +1), so t(0.5) = 1 and t(-0.5) = 0;
* `levels="unipolar"` (the paper's): t(y) in {0, 1/2, 1} with thresholds 0.25 and 0.75,
  t = (b(y + 0.25) + b(y - 0.25)) / 2 where b(z) = 1 if z >= 0.5 else 0 (eq. 4-5).

The backward pass is straight-through within the clip range ([-1, 1], resp. [0, 1]).

**Decoupling** (`decouple`, section 5.1): each ternary activation becomes two binary ones by
copying the BatchNorm in front of it and shifting its bias by the quantiser's thresholds (-+0.5
bipolar, -+0.25 unipolar: channel c of the first half reads beta_c - shift, of the second half
beta_c + shift), and each weight that reads a ternary activation becomes two weights of half the
value, one per binary copy. With the zoo's per-output-channel weight scale mean|W| this is exact:
sign(W / 2) = sign(W) and mean|[W/2, W/2]| = mean|W| / 2. The result for `bipolar` is the zoo
model with 2 floor(N / sqrt(2)) neurons / channels (`sw.models.build` rebuilds it, it exports);
for `unipolar` the same structure with {0, 1} activations (`UnipolarSign`), which the zoo's
bipolar hardware does not implement.

In the paper the two binary activations of one coupled neuron share one weighted sum; the zoo's
layers compute one sum per output channel, so the decoupled model holds that sum twice (duplicated
weight rows). `tie_duplicated_rows` keeps each pair equal during fine-tuning, which is the paper's
model (the pair is one set of weights; the input-side halves train independently).

Supported models: `digits_bnn` and `cnv_w1a1` (every binary activation directly follows a
BatchNorm; max-pooling commutes with the monotone activations, so decoupling stays exact).
"""

from __future__ import annotations

import math

import torch
from brevitas.core.quant import BinaryQuant, ClampedBinaryQuant
from brevitas.nn import QuantIdentity
from torch import Tensor, nn

from flows.errors import ConfigError
from sw import models
from sw.quant import BinaryActivation, binary_weight_layers

LEVELS = {"bipolar": 0.5, "unipolar": 0.25}  # the BN-bias shift of each decoupled copy
WIDTH_KEYS = {"digits_bnn": ("hidden",), "cnv_w1a1": ("channels", "fc")}


def _straight_through(hard: Tensor, soft: Tensor) -> Tensor:
    """`hard` in the forward pass (exactly: soft - soft is 0), d soft / dx in the backward."""
    return hard.detach() + (soft - soft.detach())


class TernaryActivation(nn.Module):
    """The coupled model's activation (see the module docstring), two binary steps halved."""

    def __init__(self, levels: str = "bipolar") -> None:
        super().__init__()
        if levels not in LEVELS:
            raise ConfigError(f"unknown ternary levels {levels!r}; choose bipolar or unipolar")
        self.levels = levels

    def forward(self, y: Tensor) -> Tensor:
        if self.levels == "bipolar":
            sign = lambda z: torch.where(z >= 0, 1.0, -1.0)  # noqa: E731
            hard = 0.5 * (sign(y - 0.5) + sign(y + 0.5))
            return _straight_through(hard.to(y.dtype), torch.clamp(y, -1.0, 1.0))
        step = lambda z: (z >= 0.5).to(y.dtype)  # noqa: E731
        hard = 0.5 * (step(y + 0.25) + step(y - 0.25))
        return _straight_through(hard, torch.clamp(y, 0.0, 1.0))


class UnipolarSign(nn.Module):
    """b(z) = 1 if z >= 0.5 else 0 (the paper's binary activation), straight-through on [0, 1]."""

    def forward(self, z: Tensor) -> Tensor:
        return _straight_through((z >= 0.5).to(z.dtype), torch.clamp(z, 0.0, 1.0))


def is_brevitas_sign(m: nn.Module) -> bool:
    """A Brevitas QuantIdentity whose quantiser is 1-bit (the `BinaryAct` of digits_bnn)."""
    proxy = getattr(getattr(m, "act_quant", None), "fused_activation_quant_proxy", None)
    quant = getattr(proxy, "tensor_quant", None)
    return isinstance(m, QuantIdentity) and isinstance(quant, BinaryQuant | ClampedBinaryQuant)


def activation_sites(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """(parent, attribute) of every binary activation module, in registration order."""
    sites = []
    for parent in model.modules():
        if isinstance(parent, BinaryActivation):
            continue
        for name, child in parent.named_children():
            if isinstance(
                child, BinaryActivation | TernaryActivation | UnipolarSign
            ) or is_brevitas_sign(child):
                sites.append((parent, name))
    return sites


def _check_model(name: str) -> None:
    if name not in WIDTH_KEYS:
        raise ConfigError(
            f"BinaryDuo supports {', '.join(WIDTH_KEYS)} (a BatchNorm before every binary "
            f"activation); {name!r} is not one of them"
        )


def _scale_widths(name: str, config: dict, fn) -> dict:
    out = dict(config)
    for key in WIDTH_KEYS[name]:
        value = config[key]
        out[key] = fn(value) if isinstance(value, int) else [fn(v) for v in value]
    return out


def coupled_width(n: int) -> int:
    """floor(N / sqrt(2)) (section 5.2), at least 1."""
    return max(1, math.floor(n / math.sqrt(2)))


def coupled(name: str, *, levels: str = "bipolar", **config) -> nn.Module:
    """The coupled ternary model of zoo model `name` (baseline widths from `config` or the
    defaults). `model.binaryduo` records what `decouple` needs."""
    _check_model(name)
    full = models.build(name, **config).config()
    small = _scale_widths(name, full, coupled_width)
    model = models.build(name, **small)
    for parent, attr in activation_sites(model):
        setattr(parent, attr, TernaryActivation(levels))
    model.binaryduo = {"model": name, "config": small, "levels": levels}
    return model


def _bns(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)]


def _expand_inputs(w: Tensor, channels: int) -> Tensor:
    """Weights reading `channels` decoupled channels: halve and repeat along the input axis (a
    flattened input keeps its channel-major order)."""
    o = w.shape[0]
    grouped = w.reshape(o, channels, -1)
    return (torch.cat([grouped, grouped], dim=1) / 2).reshape(o, -1, *w.shape[2:])


@torch.no_grad()
def decouple(model: nn.Module) -> nn.Module:
    """The decoupled binary model computing the same function as coupled `model` (eval mode)."""
    info = getattr(model, "binaryduo", None)
    if info is None:
        raise ConfigError("decouple() needs a model made by sw.binaryduo.coupled()")
    name, shift = info["model"], LEVELS[info["levels"]]
    wide = models.build(name, **_scale_widths(name, info["config"], lambda n: 2 * n))
    src, dst = binary_weight_layers(model), binary_weight_layers(wide)
    bns, new_bns = _bns(model), _bns(wide)
    if len(bns) != len(src) - 1:
        raise ConfigError(f"{name}: expected a BatchNorm after every binary layer but the last")
    for k, ((_, a), (_, b)) in enumerate(zip(src, dst, strict=True)):
        w = a.weight.detach()
        if k > 0:
            w = _expand_inputs(w, bns[k - 1].num_features)
        if k < len(bns):
            w = torch.cat([w, w], dim=0)
        b.weight.copy_(w)
        if a.bias is not None:
            b.bias.copy_(a.bias)
    for bn, new in zip(bns, new_bns, strict=True):
        for key in ("weight", "running_mean", "running_var"):
            getattr(new, key).copy_(getattr(bn, key).repeat(2))
        new.bias.copy_(torch.cat([bn.bias - shift, bn.bias + shift]))
        new.num_batches_tracked.copy_(bn.num_batches_tracked)
    if info["levels"] == "unipolar":
        for parent, attr in activation_sites(wide):
            setattr(parent, attr, UnipolarSign())
    return wide.train(model.training)


def tie_duplicated_rows(model: nn.Module) -> list[torch.utils.hooks.RemovableHandle]:
    """Keep the duplicated weight rows of a decoupled model equal while it trains: each layer
    followed by a BatchNorm gets the pair's summed gradient on both rows (identical gradients
    and optimiser states give identical updates). Returns the hooks' handles."""
    layers = binary_weight_layers(model)[:-1]

    def hook(grad: Tensor) -> Tensor:
        half = grad.shape[0] // 2
        summed = grad[:half] + grad[half:]
        return torch.cat([summed, summed], dim=0)

    return [layer.weight.register_hook(hook) for _, layer in layers]
