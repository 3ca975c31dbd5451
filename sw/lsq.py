"""8-bit SE block of INSTA-Th+ / INSTA-PReLU+ with LSQ weights (INSTA-BNN supplementary B).

Weights are quantised with learned step size quantisation (Esser et al., LSQ): one learnable
step size per output channel, symmetric full range Q_N = 2^(b-1) = 128, Q_P = 2^(b-1) - 1 = 127
(Brevitas' default narrow range -127..127 is not this), round half to even:

    w_int = clamp(round(w / s), -128, 127),   w_q = w_int * s

The gradient of s follows LSQ (straight-through round, gradient scale 1 / sqrt(fan_in * Q_P)).
The SE block is `SE(m3) = FC2(ReLU(FC1(m3)))` without biases, reduction ratio r: 2 C^2 / r 8-bit
weights and C + C/r step sizes (supplementary C). `sw.insta_ops.se_apply` evaluates it in float64,
like `flows.custom_ops.insta_reference`; its hidden activations are not quantised in the float model.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from flows.errors import ConfigError
from sw.insta_ops import frozen

Q_N = 128
Q_P = 127


# Both helpers add a term that is exactly zero in the forward pass, so the value is bit-exact
# (w_q equals int_weight() * step, which is what the export writes).
def _round_ste(x: Tensor) -> Tensor:
    return torch.round(x).detach() + (x - x.detach())


def _grad_scale(x: Tensor, scale: float) -> Tensor:
    return x.detach() + (x * scale - (x * scale).detach())


class LsqLinear(nn.Module):
    """A bias-free linear map with LSQ 8-bit weights and per-output-channel step sizes."""

    def __init__(self, c_in: int, c_out: int, *, quantize: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(c_out, c_in))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.step = nn.Parameter(torch.ones(c_out))
        self.quantize = quantize
        self.init_step()

    @torch.no_grad()
    def init_step(self) -> None:
        """LSQ initialisation s = 2 mean|w| / sqrt(Q_P), per output channel (call it before the
        8-bit fine-tuning stage when the weights were trained in float)."""
        self.step.copy_(2.0 * self.weight.abs().mean(dim=1).clamp_min(1e-8) / math.sqrt(Q_P))

    def int_weight(self) -> Tensor:
        """The integer weights in -128..127 (float32 storage)."""
        return torch.clamp(torch.round(self.weight / self.step[:, None]), -Q_N, Q_P)

    def int_and_step(self) -> tuple[Tensor, Tensor]:
        """(w_int, s) with LSQ gradients (w_q = w_int * s); (w, 1) if not quantised."""
        if not self.quantize:
            return self.weight, torch.ones_like(self.step)
        if torch.onnx.is_in_onnx_export():
            return frozen(self.int_weight()), self.step
        if not torch.is_grad_enabled():  # eval: the same values without the STE terms
            return self.int_weight(), self.step
        step = _grad_scale(self.step, 1.0 / math.sqrt(self.weight.shape[1] * Q_P))
        return _round_ste(torch.clamp(self.weight / step[:, None], -Q_N, Q_P)), step


class SqueezeExcite8(nn.Module):
    """FC2(ReLU(FC1(m3))) on the per-channel statistic m3, C -> C/r -> C, 8-bit LSQ weights."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        if channels % reduction:
            raise ConfigError(
                f"SE reduction ratio {reduction} does not divide {channels} channels; "
                "choose a width that is a multiple of the ratio"
            )
        self.fc1 = LsqLinear(channels, channels // reduction)
        self.fc2 = LsqLinear(channels // reduction, channels)

    def inputs(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(w1_int, s1, w2_int, s2), the custom op's SE inputs (`flows.custom_ops.qonnx_ops.SE_INPUTS`),
        differentiable with LSQ gradients; `sw.insta_ops.se_apply` evaluates the block."""
        return (*self.fc1.int_and_step(), *self.fc2.int_and_step())
