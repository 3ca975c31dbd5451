"""Checkpoints: written atomically, checked against the model they are loaded into."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from flows.artifacts import atomic_file
from flows.errors import FlowError
from sw import models


class CheckpointError(FlowError):
    """A checkpoint is missing, unreadable or belongs to another model."""


def save(path: Path, model_name: str, model: nn.Module, **meta) -> None:
    """Write {model, config, state_dict, meta} to `path` via a temp file and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {"model": model_name, "config": model.config(), "state_dict": model.state_dict()}
    blob["meta"] = meta
    with atomic_file(path) as tmp:
        torch.save(blob, tmp)


def load(path: Path, model_name: str) -> tuple[nn.Module, dict]:
    """Rebuild `model_name` from a checkpoint; refuse a checkpoint of another model."""
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; run `python -m sw.train {model_name}`")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise CheckpointError(f"{path} is not a readable checkpoint ({e})") from None
    if blob.get("model") != model_name:
        raise CheckpointError(
            f"{path} is a checkpoint of {blob.get('model')!r}, not {model_name!r}"
        )
    model = models.build(model_name, **blob["config"])
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return model, blob.get("meta", {})
