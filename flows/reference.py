"""The one step that touches sw/: export a trained model and record its float outputs.

reference.npz holds the test images (as the hardware sees them), their labels and the float
model's logits, so every later step (agreement, parity) reads files only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flows.artifacts import atomic_file


def export_with_reference(model_name: str, ckpt: Path, out_dir: Path) -> tuple[Path, Path]:
    import torch

    from sw import checkpoint
    from sw.data import digits
    from sw.export import export

    model, _ = checkpoint.load(ckpt, model_name)
    onnx_path = export(model, out_dir / f"{model_name}.onnx")
    data = digits()
    with torch.no_grad():
        logits = model(torch.from_numpy(data.x_test).float()).numpy()
    ref = out_dir / "reference.npz"
    with atomic_file(ref, suffix=".npz") as tmp:
        np.savez(tmp, images=data.x_test, labels=data.y_test, logits=logits)
    return onnx_path, ref
