"""INSTA arithmetic in PyTorch, and the autograd functions that export it as custom ops.

The functions mirror `flows.custom_ops.insta_reference` operation for operation (float32 elementwise,
per-channel arithmetic in float64 rounded once), so the PyTorch model and qonnx's execution of
the exported graph agree to the last bit except at float32 rounding boundaries.

`InstaThresholdFn` / `InstaPReLUFn` (called as `Fn.apply(form, tuple(x.shape), x, ...)`) are
used only while `torch.onnx.export` traces the model
(TorchScript exporter, `export_qonnx(..., dynamo=False)`): their `symbolic` emits
`flows.custom_ops::InstaThreshold` (two outputs: activation and m3) and `::InstaPReLU`, with the
parameters as inputs in the order of `flows.custom_ops.THRESHOLD_INPUTS` / `PRELU_INPUTS` and the
form as the string attribute `form`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from flows.custom_ops import DOMAIN


def frozen(t: Tensor) -> Tensor:
    """A copy of t that the ONNX tracer records as a constant: values derived from parameters
    (sigma from the running variance, SE integer weights) then export as initializers instead of
    subgraphs that every reader would have to constant-fold."""
    return torch.from_numpy(t.detach().cpu().numpy().copy())


def _c(v: Tensor) -> Tensor:
    return v.reshape(1, -1, 1, 1)


def bounded(v: Tensor) -> Tensor:
    """3 tanh(v / 3): bounds thresholds and shifts to (-3, 3) (supplementary F)."""
    return 3.0 * torch.tanh(v / 3.0)


def third_moment(x_hat: Tensor) -> Tensor:
    """m3 (N, C) in float64: the spatial mean of x_hat^3 (cube in float32, sum in float64)."""
    h, w = x_hat.shape[2:]
    return (x_hat * x_hat * x_hat).sum(dim=(2, 3), dtype=torch.float64) / (h * w)


def se_apply(m3: Tensor, w1: Tensor, s1: Tensor, w2: Tensor, s2: Tensor) -> Tensor:
    """FC2(ReLU(FC1(m3))) in float64 with weights w_int * s (products in float32)."""
    fc1 = (w1 * s1[:, None]).double()
    fc2 = (w2 * s2[:, None]).double()
    return torch.relu(m3.double() @ fc1.t()) @ fc2.t()


def threshold_parts(
    form: str, x: Tensor, mu: Tensor, sigma: Tensor, beta: Tensor, *factor: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """(x_hat float32, threshold t (N, C) float32, m3 (N, C) float64) of INSTA-Th(+)."""
    x_hat = (x - _c(mu)) / _c(sigma)
    m3 = third_moment(x_hat)
    if form == "se":
        t = beta.double() + bounded(se_apply(m3, *factor))
    else:
        t = beta.double() + factor[0].double() * m3
    return x_hat, t.float(), m3


def prelu_apply(form: str, x: Tensor, slope: Tensor, zeta: Tensor, *inputs: Tensor) -> Tensor:
    """INSTA-PReLU(+) or the reuse form: PReLU_slope(x - gamma) + zeta."""
    if form == "reuse":
        m3, p, q = inputs
        m3 = m3.repeat(1, x.shape[1] // m3.shape[1])  # downsampling unit: C_out = k * C_in
        v = p.double() * m3.double() + q.double()
    else:
        mu, sigma, *factor = inputs
        m3 = third_moment((x - _c(mu)) / _c(sigma))
        v = se_apply(m3, *factor) if form == "se" else factor[0].double() * m3
    z = x - bounded(v).float()[:, :, None, None]
    return torch.where(z >= 0, z, _c(slope) * z) + _c(zeta)


class InstaThresholdFn(torch.autograd.Function):
    """Export-only: (y in {-1, +1}, m3 float32) as one `InstaThreshold` node."""

    @staticmethod
    def forward(ctx, form: str, shape, x: Tensor, mu: Tensor, sigma: Tensor, beta, *factor):
        x_hat, t, m3 = threshold_parts(form, x, mu, sigma, beta, *factor)
        y = torch.where(x_hat >= t[:, :, None, None], 1.0, -1.0).to(x.dtype)
        return y, m3.float()

    @staticmethod
    def symbolic(g, form, shape, x, mu, sigma, beta, *factor):
        # `shape` is x's static shape: a quantiser output may carry no shape in the trace.
        y, m3 = g.op(
            f"{DOMAIN}::InstaThreshold", x, mu, sigma, beta, *factor, form_s=form, outputs=2
        )
        y.setType(x.type().with_sizes(list(shape)))
        m3.setType(x.type().with_sizes(list(shape[:2])))
        return y, m3


class InstaPReLUFn(torch.autograd.Function):
    """Export-only: one `InstaPReLU` node."""

    @staticmethod
    def forward(ctx, form: str, shape, x: Tensor, slope: Tensor, zeta: Tensor, *inputs: Tensor):
        return prelu_apply(form, x, slope, zeta, *inputs)

    @staticmethod
    def symbolic(g, form, shape, x, slope, zeta, *inputs):
        y = g.op(f"{DOMAIN}::InstaPReLU", x, slope, zeta, *inputs, form_s=form)
        y.setType(x.type().with_sizes(list(shape)))
        return y
