"""`python -m flows ops --model NAME | --file path.onnx`: print the accounting, write ops.json.

With `--model`, the model is exported to QONNX first (the one place this command touches `sw/`):
from its checkpoint `<out>/<model>/checkpoint.pt` if one exists, otherwise untrained with seed 0 —
the counts depend on the graph's structure and shapes, never on the weights' values, so ImageNet
models that cannot be trained here are counted all the same. Nothing is trained.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flows.artifacts import write_json
from flows.opcount import count_ops

SEED = 0


def run(args: argparse.Namespace) -> int:
    """Count, print the per-layer table and totals, write `<out>/<name>/ops.json` atomically."""
    if args.file:
        name, onnx_path, weights = args.file.stem, args.file, "as in the file"
    else:
        name = args.model
        onnx_path, weights = export_for_ops(name, Path(args.out) / name)
    report = count_ops(onnx_path)
    report.model = name
    print(report.table(all_rows=args.all_rows))
    data = {**report.to_json(), "source": str(onnx_path), "weights": weights}
    path = write_json(Path(args.out) / name / "ops.json", data)
    print(f"wrote {path}")
    return 0


def export_for_ops(model_name: str, out_dir: Path) -> tuple[Path, str]:
    """Export `model_name` to `out_dir/ops_export.onnx`; returns the path and where weights came
    from. Unknown names raise UnknownModelError from the registry."""
    import torch

    from sw import checkpoint, models
    from sw.export import export

    ckpt = out_dir / "checkpoint.pt"
    if ckpt.is_file():
        model, _ = checkpoint.load(ckpt, model_name)
        weights = f"trained checkpoint {ckpt}"
    else:
        torch.manual_seed(SEED)
        model = models.build(model_name)
        weights = f"untrained (seed {SEED}); the counts do not depend on weight values"
    print(f"[ops] exporting {model_name} ({weights})")
    return export(model, out_dir / "ops_export.onnx"), weights
