"""Straight-through estimators: the forward pass is always sign with sign(0) = +1.

Only the backward pass differs (`STE_KINDS`):

* `clipped`: BNN (Hubara et al.): d sign/dx ~ 1 for |x| <= 1, else 0.
* `approx_sign`: Bi-Real / ReActNet piecewise polynomial ApproxSign: d/dx = 2 - 2|x| for |x| < 1.
* `sign_swish`: BNN+ (bnn_plus.txt, eq. 2-3): d SS_beta/dx = beta (2 - beta x tanh(beta x / 2)) /
  (1 + cosh(beta x)), with a fixed or trainable beta (its gradient is x/beta times the above).

Two autograd functions carry the surrogate: `SurrogateSign` (sign forward) for modules that
compute their own sign (INSTA-Th), and `SurrogateIdentity` (identity forward) placed before a
Brevitas binary quantiser whose own backward is the plain identity, so the exported node stays a
QONNX `BipolarQuant` (see `sw.quant.BinaryActivation`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from flows.errors import ConfigError

STE_KINDS = ("clipped", "approx_sign", "sign_swish")


def check_kind(kind: str) -> str:
    """Return `kind` if it names an STE, else raise ConfigError listing the known ones."""
    if kind not in STE_KINDS:
        raise ConfigError(f"unknown STE {kind!r}; choose one of {', '.join(STE_KINDS)}")
    return kind


def _swish_core(u: Tensor) -> Tensor:
    """d SS/du at u = beta*x (bnn_plus eq. 3 without the factor beta)."""
    return (2.0 - u * torch.tanh(u / 2.0)) / (1.0 + torch.cosh(u))


def surrogate_grads(x: Tensor, kind: str, beta: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """(d y/d x, d y/d beta) of the surrogate function `kind` at x (beta only for sign_swish)."""
    if kind == "clipped":
        return (x.abs() <= 1.0).to(x.dtype), None
    if kind == "approx_sign":
        return torch.clamp(2.0 - 2.0 * x.abs(), min=0.0), None
    core = _swish_core(beta * x)
    return beta * core, x * core


class _Surrogate(torch.autograd.Function):
    """Shared backward; subclasses choose the forward (sign or identity)."""

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, beta = ctx.saved_tensors
        dx, dbeta = surrogate_grads(x, ctx.kind, beta if ctx.has_beta else None)
        gbeta = None
        if ctx.has_beta and ctx.needs_input_grad[1]:
            gbeta = (grad * dbeta).sum().reshape(beta.shape)
        return grad * dx, gbeta, None


def _save(ctx, x: Tensor, beta: Tensor | None, kind: str) -> None:
    ctx.kind = kind
    ctx.has_beta = beta is not None
    ctx.save_for_backward(x, beta if beta is not None else torch.empty(0))


class SurrogateSign(_Surrogate):
    """y = +1 where x >= 0 else -1; backward by the surrogate `kind`."""

    @staticmethod
    def forward(ctx, x: Tensor, beta: Tensor | None, kind: str) -> Tensor:
        _save(ctx, x, beta, kind)
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


class SurrogateIdentity(_Surrogate):
    """y = x; backward multiplies by the surrogate derivative (the sign follows elsewhere)."""

    @staticmethod
    def forward(ctx, x: Tensor, beta: Tensor | None, kind: str) -> Tensor:
        _save(ctx, x, beta, kind)
        return x.view_as(x)


def sign_ste(x: Tensor, kind: str = "approx_sign", beta: Tensor | None = None) -> Tensor:
    """Bipolar sign of x (sign(0) = +1) with the backward pass of STE `kind`."""
    check_kind(kind)
    if kind == "sign_swish" and beta is None:
        raise ConfigError("the sign_swish STE needs a beta (BNN+ eq. 2)")
    return SurrogateSign.apply(x, beta, kind)
