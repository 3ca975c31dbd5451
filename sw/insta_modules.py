"""INSTA modules (docs/models.md section 3; INSTA-BNN supplementary section C).

The main paper's equations are not in our material; this is the project's definition, consistent
with the supplementary's parameter and operation counts (section C). Per image and channel c over
the H x W positions of the module's input x:

* `x_hat = (x - mu_c) / sigma_c`; mu and sigma are tracked like BatchNorm's running mean / std in
  training (the batch statistics normalise, so m3 measures how an instance departs from the
  batch) and are constants in eval. `m3_c = mean_hw(x_hat^3)`.
* INSTA-Th (mu, sigma, alpha, beta): `t_c = beta_c + alpha_c m3_c`, output sign(x_hat - t_c) with
  sign(0) = +1. It replaces RSign.
* INSTA-PReLU (mu, sigma, a, slope, zeta): `gamma_c = 3 tanh(a_c m3_c / 3)` on its own input,
  `y = PReLU_slope(x - gamma_c) + zeta_c`. It replaces RPReLU.
* INSTA-Th+ / INSTA-PReLU+ (`se=True`): alpha (resp. a) is replaced by an SE block on m3 with
  8-bit LSQ weights (`sw.lsq`), bounded by 3 tanh(./3): `t_c = beta_c + 3 tanh(SE(m3)_c / 3)`.
* Statistics reuse (`InstaPReLU(reuse=True)`, latency-optimised model, supplementary D/E): no
  statistics of its own; `gamma_c = 3 tanh((p_c m3_c + q_c) / 3)` with m3 of the same block's
  INSTA-Th. Its parameters are p, q, slope, zeta (mu, sigma and a are not needed). In a
  downsampling unit the INSTA-Th sees C_in channels and the INSTA-PReLU k * C_in: m3 is tiled
  (output channel c reads m3 of channel c mod C_in), as ReActNet duplicates channels.

Numerics follow `flows.custom_ops.insta_reference` (per-channel arithmetic in float64, rounded once), and
the export emits the custom ops `flows.custom_ops::InstaThreshold` / `InstaPReLU`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sw.insta_ops import InstaPReLUFn, InstaThresholdFn, frozen, prelu_apply, threshold_parts
from sw.lsq import SqueezeExcite8
from sw.ste import check_kind, sign_ste


class InstaStats(nn.Module):
    """mu and sigma of an INSTA module, tracked like BatchNorm2d's running statistics."""

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mu, sigma): batch statistics in training (updating the running ones), else the
        running ones; sigma = sqrt(var + eps) as in BatchNorm."""
        if not self.training:
            sigma = torch.sqrt(self.running_var + self.eps)
            return self.running_mean, frozen(sigma) if torch.onnx.is_in_onnx_export() else sigma
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)
        with torch.no_grad():
            n = x.numel() / x.shape[1]
            momentum = self.momentum if self.momentum is not None else 1.0
            self.running_mean.lerp_(mean, momentum)
            self.running_var.lerp_(var * n / max(n - 1, 1), momentum)
        return mean, torch.sqrt(var + self.eps)


class InstaThreshold(nn.Module):
    """INSTA-Th (`se=False`) / INSTA-Th+ (`se=True`): forward(x) -> (bipolar y, m3 (N, C))."""

    def __init__(
        self,
        channels: int,
        *,
        se: bool = False,
        reduction: int = 16,
        ste: str = "approx_sign",
        ste_beta: float = 5.0,
        trainable_beta: bool = False,
    ) -> None:
        super().__init__()
        self.stats = InstaStats(channels)
        self.beta = nn.Parameter(torch.zeros(channels))
        self.ste = check_kind(ste)
        self.ste_beta = nn.Parameter(torch.tensor(float(ste_beta)), requires_grad=trainable_beta)
        self.se = SqueezeExcite8(channels, reduction) if se else None
        if not se:
            self.alpha = nn.Parameter(torch.zeros(channels))

    @property
    def form(self) -> str:
        """The custom op's `form` attribute: "alpha" or "se"."""
        return "se" if self.se is not None else "alpha"

    def factor_inputs(self) -> tuple[Tensor, ...]:
        """alpha, or the SE's (w1_int, s1, w2_int, s2)."""
        return self.se.inputs() if self.se is not None else (self.alpha,)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, sigma = self.stats(x)
        args = (self.form, x, mu, sigma, self.beta, *self.factor_inputs())
        if torch.onnx.is_in_onnx_export():
            return InstaThresholdFn.apply(args[0], tuple(x.shape), *args[1:])
        x_hat, t, m3 = threshold_parts(*args)
        beta = self.ste_beta if self.ste == "sign_swish" else None
        # x_hat - t >= 0 exactly when x_hat >= t (IEEE subtraction keeps the sign).
        y = sign_ste(x_hat - t[:, :, None, None], self.ste, beta)
        return y, m3.float()


class InstaPReLU(nn.Module):
    """INSTA-PReLU (`se=False`), INSTA-PReLU+ (`se=True`) or the statistics-reuse form
    (`reuse=True`, needs the block's INSTA-Th m3): forward(x, m3=None) -> y."""

    def __init__(
        self, channels: int, *, se: bool = False, reuse: bool = False, reduction: int = 16
    ) -> None:
        super().__init__()
        self.slope = nn.Parameter(torch.full((channels,), 0.25))
        self.zeta = nn.Parameter(torch.zeros(channels))
        self.reuse = reuse
        self.se = SqueezeExcite8(channels, reduction) if se and not reuse else None
        if reuse:
            self.p = nn.Parameter(torch.zeros(channels))
            self.q = nn.Parameter(torch.zeros(channels))
        else:
            self.stats = InstaStats(channels)
            if not se:
                self.a = nn.Parameter(torch.zeros(channels))

    @property
    def form(self) -> str:
        """The custom op's `form` attribute: "alpha", "se" or "reuse"."""
        return "reuse" if self.reuse else ("se" if self.se is not None else "alpha")

    def op_inputs(self, x: Tensor, m3: Tensor | None) -> tuple[Tensor, ...]:
        """The form-dependent inputs after (x, slope, zeta)."""
        if self.reuse:
            if m3 is None:
                raise ValueError("the reuse form of INSTA-PReLU needs its block's INSTA-Th m3")
            return (m3, self.p, self.q)
        mu, sigma = self.stats(x)
        return (mu, sigma, *(self.se.inputs() if self.se is not None else (self.a,)))

    def forward(self, x: Tensor, m3: Tensor | None = None) -> Tensor:
        args = (self.form, x, self.slope, self.zeta, *self.op_inputs(x, m3))
        if torch.onnx.is_in_onnx_export():
            return InstaPReLUFn.apply(args[0], tuple(x.shape), *args[1:])
        return prelu_apply(*args)
