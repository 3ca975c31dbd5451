"""BNN+ regularisers (bnn_plus.txt, section 3.2): weights pulled towards +-alpha.

    R1(w) = |alpha - |w||        (eq. 4, "Manhattan")
    R2(w) = (alpha - |w|)^2      (eq. 5, "Euclidean")
    J = L + lambda * sum_h sum_{w in W_h} R(w, alpha_h)   (eq. 6)

alpha is a trainable scale per output channel (per filter of a convolution, per output neuron
of a fully connected layer), initialised to the minimiser of the penalty over the initial
weights: median(|W|) for R1 (eq. 8; for an even count torch's median is the lower of the two
middle values, which also minimises eq. 7) and mean(|W|) for R2 (eq. 9).

In BNN+ the same alpha also multiplies the binary weights in the forward pass. In the zoo each
hidden binary layer is followed by BatchNorm, which absorbs any per-channel scale, and the binary
weight quantiser keeps its export contract (scale mean|W| per output channel, `sw.quant`), so
here alpha lives in the regulariser only: it trains through the penalty's gradient and pulls the
weights towards two modes at +-alpha.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from flows.errors import ConfigError
from sw.quant import binary_weight_layers

KINDS = ("r1", "r2")


def _check(kind: str) -> str:
    if kind not in KINDS:
        raise ConfigError(f"unknown BNN+ regulariser {kind!r}; choose one of {', '.join(KINDS)}")
    return kind


def initial_scale(weight: Tensor, kind: str) -> Tensor:
    """Per output channel: median(|W|) for R1 (eq. 8), mean(|W|) for R2 (eq. 9)."""
    a = weight.detach().abs().flatten(1)
    return a.median(dim=1).values if _check(kind) == "r1" else a.mean(dim=1)


def penalty(weight: Tensor, alpha: Tensor, kind: str) -> Tensor:
    """sum over the layer's weights of R(w, alpha_c), c the weight's output channel."""
    gap = alpha[:, None] - weight.abs().flatten(1)
    return gap.abs().sum() if _check(kind) == "r1" else gap.square().sum()


class BinaryRegularizer(nn.Module):
    """lambda * sum_h R(W_h, alpha_h) over the binary-weight layers of a model; call it with no
    arguments and add the result to the loss. Its `scales` are parameters: give them to the
    optimiser together with the model's."""

    def __init__(self, model: nn.Module, *, kind: str = "r1", lam: float = 5e-7) -> None:
        super().__init__()
        self.kind, self.lam = _check(kind), lam
        layers = binary_weight_layers(model)
        if not layers:
            raise ConfigError("the BNN+ regulariser needs a model with binary-weight layers")
        self.names: Sequence[str] = [name for name, _ in layers]
        self._weights = [layer.weight for _, layer in layers]  # not registered: the model owns them
        scales = [nn.Parameter(initial_scale(w, kind)) for w in self._weights]
        self.scales = nn.ParameterList(scales)

    def forward(self) -> Tensor:
        total = sum(
            penalty(w, a, self.kind) for w, a in zip(self._weights, self.scales, strict=True)
        )
        return self.lam * total

    def extra_repr(self) -> str:
        return f"kind={self.kind}, lam={self.lam:g}, layers={len(self.names)}"

    def scale_summary(self) -> dict[str, float]:
        """Mean scale per layer (for the checkpoint's metadata)."""
        with torch.no_grad():
            return {n: float(a.mean()) for n, a in zip(self.names, self.scales, strict=True)}
