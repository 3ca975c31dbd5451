"""QONNX export of a model (Brevitas `export_qonnx`), written atomically.

This is the one place where the flow touches `sw`: everything downstream reads the ONNX file.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn


def export(model: nn.Module, path: Path) -> Path:
    """Export `model` (eval mode) to QONNX at `path` with batch size 1."""
    from brevitas.export import export_qonnx

    path.parent.mkdir(parents=True, exist_ok=True)
    model.eval()
    example = torch.zeros(model.input_shape)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.tmp")
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            export_qonnx(model, example, tmp, dynamo=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
