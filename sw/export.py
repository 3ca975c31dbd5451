"""QONNX export of a model (Brevitas `export_qonnx`, TorchScript exporter), written atomically.

This is the one place where the flow touches `sw`: everything downstream reads the ONNX file.
INSTA modules export as custom ops of the domain `flows.custom_ops` (docs/models.md). Before
writing, `check_exportable` refuses a model whose binary layers do not hold binary weights.

Models too large to train here export untrained (`export_untrained`): seeded, with non-degenerate
random parameters (`randomize`) and BatchNorm / INSTA statistics calibrated on random pixels
(`calibrate`), so every path of the graph carries information in the round-trip checks.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from flows.artifacts import atomic_file
from flows.custom_ops import DOMAIN
from flows.errors import NumericContractError
from sw.blocks import RPReLU, RSign
from sw.insta_modules import InstaPReLU, InstaStats, InstaThreshold
from sw.lsq import LsqLinear
from sw.quant import binary_weight_layers


def check_exportable(model: nn.Module) -> None:
    """Raise NumericContractError if a layer that must be binary is not, or SE weights are
    not quantised to 8 bits."""
    for name, layer in binary_weight_layers(model):
        if not layer.weight_quant.is_quant_enabled:
            raise NumericContractError(
                f"layer {name!r} must have binary weights but its weight quantiser is switched "
                "off (a stage-1 checkpoint?); finish stage-2 training or call "
                "sw.quant.set_binary_weights(model, True) before export"
            )
        q = layer.quant_weight()
        with torch.no_grad():
            bad = ~torch.isclose((q.value / q.scale).abs(), torch.ones_like(q.value))
        if bool(bad.any()):
            channel = int(bad.reshape(bad.shape[0], -1).any(dim=1).nonzero()[0, 0])
            raise NumericContractError(
                f"layer {name!r} must have binary weights (+-scale per output channel) but "
                f"output channel {channel} is not (an all-zero filter has scale 0); retrain or "
                "re-initialise that channel before export"
            )
    for name, m in model.named_modules():
        if isinstance(m, LsqLinear) and not m.quantize:
            raise NumericContractError(
                f"SE layer {name!r} has float weights; run the 8-bit SE fine-tuning stage "
                "(LsqLinear.quantize = True) before export"
            )


def export(model: nn.Module, path: Path) -> Path:
    """Export `model` (eval mode) to QONNX at `path` with batch size 1."""
    from brevitas.export import export_qonnx

    check_exportable(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.eval()
    example = torch.zeros(model.input_shape)
    insta = any(isinstance(m, InstaThreshold | InstaPReLU) for m in model.modules())
    opsets = {DOMAIN: 1} if insta else {}
    with atomic_file(path, suffix=".onnx.tmp") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, example, str(tmp), dynamo=False, custom_opsets=opsets)
    return path


@torch.no_grad()
def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Draw the float parameters of BN, RSign, RPReLU and INSTA modules from seeded ranges
    typical of trained models (zero-initialised factors would hide whole paths from tests)."""
    gen = torch.Generator().manual_seed(seed)

    def normal(p: torch.Tensor, std: float) -> None:
        p.copy_(torch.randn(p.shape, generator=gen) * std)

    def uniform(p: torch.Tensor, lo: float, hi: float) -> None:
        p.copy_(lo + (hi - lo) * torch.rand(p.shape, generator=gen))

    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            uniform(m.weight, 0.5, 1.5)
            normal(m.bias, 0.2)
        for attr, std in (("shift", 0.2), ("gamma", 0.2), ("beta", 0.2), ("zeta", 0.2)):
            if isinstance(m, RSign | RPReLU | InstaThreshold | InstaPReLU) and hasattr(m, attr):
                normal(getattr(m, attr), std)
        for attr in ("alpha", "a", "p", "q"):
            if isinstance(m, InstaThreshold | InstaPReLU) and hasattr(m, attr):
                normal(getattr(m, attr), 0.5)
        if isinstance(m, RPReLU | InstaPReLU):
            uniform(m.slope, 0.0, 0.5)
        if isinstance(m, LsqLinear):
            m.init_step()
    return model


@torch.no_grad()
def calibrate(model: nn.Module, seed: int = 0, batch: int = 2) -> nn.Module:
    """Set BatchNorm and INSTA running statistics from one batch of random UINT8 images."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (batch, *model.input_shape[1:]), generator=gen).float()
    stats = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d)]
    stats += [m for m in model.modules() if isinstance(m, InstaStats)]
    saved = [m.momentum for m in stats]
    for m in stats:
        m.momentum = None  # cumulative average: one batch sets the statistics
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
    model.train()
    model(x)
    for m, momentum in zip(stats, saved, strict=True):
        m.momentum = momentum
    return model.eval()


def build_untrained(name: str, seed: int = 0, **config) -> nn.Module:
    """Model `name`, seeded, randomised and calibrated (eval mode)."""
    from sw import models

    torch.manual_seed(seed)
    model = models.build(name, **config)
    return calibrate(randomize(model, seed), seed)


def export_untrained(name: str, path: Path, seed: int = 0, **config) -> Path:
    """Export an untrained (seeded, randomised, calibrated) model `name`: for models too large
    to train here. Returns `path`."""
    return export(build_untrained(name, seed, **config), path)


def export_model(name: str, path: Path, checkpoint: Path | None = None, seed: int = 0) -> Path:
    """Export model `name` from `checkpoint` if it exists, else untrained with `seed`."""
    if checkpoint is not None and Path(checkpoint).is_file():
        from sw.checkpoint import load

        model, _ = load(Path(checkpoint), name)
        return export(model, path)
    return export_untrained(name, path, seed)


def roundtrip_error(model: nn.Module, path: Path, images: np.ndarray) -> float:
    """Largest |PyTorch - qonnx execute_onnx| over `images` (N, *input_shape[1:]) after
    qonnx `cleanup_model`; the graph has batch size 1, so images run one at a time."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.util.cleanup import cleanup_model

    graph = cleanup_model(ModelWrapper(str(path)))
    iname, oname = graph.graph.input[0].name, graph.graph.output[0].name
    model.eval()
    worst = 0.0
    for img in images:
        x = np.asarray(img, dtype=np.float32)[None]
        got = execute_onnx(graph, {iname: x})[oname]
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        worst = max(worst, float(np.abs(got - want).max()))
    return worst
