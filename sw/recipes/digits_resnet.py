"""`digits_resnet`: a small insta_resnet20 on the digits as 3x16x16 images (Adam 1e-2, cosine,
batch 64, 30 epochs), and the float-vs-integer agreement report of the trained model.

Not from a paper: a model small enough to train in about a minute on one CPU thread, so that the
agreement of the integer graph (`flows.transforms.streamline`) with the float model can be measured
on a *trained* residual INSTA network (untrained models have random BN scales that amplify every
flipped bit). `python -m sw.recipes.digits_resnet --report` trains it (seeded), exports, lowers and
prints the agreement summary, the per-layer flip table and where every disagreement starts.

`RECIPE` has the shape of the zoo's recipes; it is not yet in `sw.recipes.RECIPES` (registering it
also needs the epoch table of tests/sw/test_train_recipes.py to list `"digits_resnet": 30`).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sw.data import digits_rgb
from sw.recipes.base import Recipe, Result, Run
from sw.recipes.digits import DigitsParams
from sw.recipes.digits import train as train_digits
from sw.recipes.loop import as_batch

MODEL = "insta_resnet20"
MODEL_CONFIG = {"width": 8, "blocks": (1, 1, 1), "input_size": 16, "num_classes": 10}
EPOCHS = 30


@dataclass(frozen=True)
class DigitsResNetParams(DigitsParams):
    """The `digits` recipe's hyper-parameters (Adam 1e-2, cosine, batch 64)."""


def train(run: Run, hp: DigitsResNetParams) -> Result:
    return train_digits(run, hp)


RECIPE = Recipe("digits_resnet", "Adam 1e-2, cosine, batch 64 (small insta_resnet20 on digits)",
                DigitsResNetParams, EPOCHS, train)  # fmt: skip


def train_small_resnet(
    *, epochs: int = EPOCHS, seed: int = 0, log: Callable[[str], None] = print
) -> Result:
    """The small insta_resnet20 of `MODEL_CONFIG` trained on `digits_rgb()` (seeded; one torch
    thread, so a seed gives one model)."""
    run = Run(MODEL, digits_rgb(), epochs, seed=seed, config=dict(MODEL_CONFIG), log=log)
    return train(run, RECIPE.hyper_parameters())


def float_logits(model: nn.Module, images: np.ndarray) -> np.ndarray:
    """PyTorch float logits (eval mode) of uint8 NCHW images."""
    model.eval()
    with torch.no_grad():
        return model(as_batch(images)).numpy().astype(np.float64)


def lower(model: nn.Module, workdir: Path):
    """(float graph, integer graph) of `model` exported to `workdir/model.onnx`."""
    from flows.frontend.qonnx_import import import_model, load
    from flows.transforms.streamline import streamline
    from sw.export import export

    path = export(model, workdir / "model.onnx")
    float_graph = import_model(load(path))
    return float_graph, streamline(float_graph)


def logit_stream(graph) -> str:
    """The stream LabelSelect reads: the fixed-point logits (Affine, `frac_bits` fraction bits)."""
    from flows.layers import LabelSelect

    return next(n for n in graph.nodes if isinstance(n.config, LabelSelect)).inputs[0]


def integer_logits(graph, x: np.ndarray) -> np.ndarray:
    """The logits of the integer graph: the Affine feeding LabelSelect, / 2^frac_bits."""
    stream = logit_stream(graph)
    values = graph.execute({graph.inputs[0]: x}, keep_all=True)
    out = np.asarray(values[stream], dtype=np.float64)
    return out[:, 0, :] * 2.0 ** -graph.producer(stream).config.frac_bits


def first_divergence(graph, float_graph, x: np.ndarray, rows: list[dict]) -> list[dict | None]:
    """Per image: the first row of `rows` (layer order) whose propagated output differs from the
    float graph's for that image, or None if the image matches everywhere compared."""
    fv = float_graph.execute({float_graph.inputs[0]: x}, keep_all=True)
    gv = graph.execute({graph.inputs[0]: x}, keep_all=True)
    first: list[dict | None] = [None] * len(x)
    for row in rows:
        if row["stream"] == logit_stream(graph):
            continue  # fixed point vs float: compared by `integer_logits` instead
        diff = (gv[row["stream"]] != fv[row["stream"]]).reshape(len(x), -1).any(axis=1)
        for i in np.flatnonzero(diff):
            first[i] = first[i] or row
    return first


def report(result: Result, workdir: Path) -> dict:
    """Agreement of the lowered `result.model` with its float logits on the digits test set."""
    from flows.agreement import agreement, layer_flips, to_stream

    data = digits_rgb()
    float_graph, graph = lower(result.model, workdir)
    logits = float_logits(result.model, data.x_test)
    summary = agreement(graph, data.x_test, logits, data.y_test, float_graph)
    x = to_stream(data.x_test, graph)
    int_logits = integer_logits(graph, x)
    rows = layer_flips(graph, float_graph, x)
    bad = np.flatnonzero(int_logits.argmax(axis=1) != logits.argmax(axis=1))
    first = first_divergence(graph, float_graph, x, rows)
    top2 = np.sort(logits, axis=1)[:, -2:]
    causes = [
        {
            "image": int(i), "label": int(data.y_test[i]),
            "float": int(logits[i].argmax()), "integer": int(int_logits[i].argmax()),
            "float_gap": float(top2[i, 1] - top2[i, 0]),
            "first_layer": first[i]["layer"] if first[i] else None,
            "first_kind": first[i]["kind"] if first[i] else None,
        }
        for i in bad
    ]  # fmt: skip
    return {
        "summary": summary,
        "max_logit_error": float(np.max(np.abs(int_logits - logits))),
        "mean_logit_error": float(np.mean(np.abs(int_logits - logits))),
        "layers": rows,
        "logit_layer": graph.producer(logit_stream(graph)).name,
        "disagreements": causes,
        "first_kind_all_images": dict(Counter(r["kind"] if r else "none" for r in first)),
    }


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.5f}"


def print_report(rep: dict, log: Callable[[str], None] = print) -> None:
    s = rep["summary"]
    log(
        f"agreement {s['agree']}/{s['images']} = {s['agreement']:.4f}  integer acc "
        f"{s['accuracy']:.4f}  float acc {s['float_accuracy']:.4f}  largest |logit| error "
        f"{rep['max_logit_error']:.4f} (mean {rep['mean_logit_error']:.4f})"
    )
    log(f"{'layer':22s} {'kind':16s} {'type':8s} {'local':>9s} {'propag.':>9s} {'max diff':>9s}")
    for r in rep["layers"]:
        if r["layer"] == rep["logit_layer"]:
            log(f"{r['layer']:22s} {r['kind']:16s} {r['type']:8s} fixed-point logits, see above")
            continue
        log(
            f"{r['layer']:22s} {r['kind']:16s} {r['type']:8s} {_fmt(r['local_flips']):>9s} "
            f"{_fmt(r['propagated_flips']):>9s} {r['max_abs_diff']:9.4g}"
        )
    log(f"first diverging layer kind, all test images: {rep['first_kind_all_images']}")
    for c in rep["disagreements"]:
        log(
            f"image {c['image']}: label {c['label']} float {c['float']} integer {c['integer']} "
            f"float top-2 gap {c['float_gap']:.4f}; first divergence {c['first_layer']} "
            f"({c['first_kind']})"
        )
    kinds = Counter(c["first_kind"] for c in rep["disagreements"])
    log(f"disagreements by first diverging layer kind: {dict(kinds)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sw.recipes.digits_resnet", description=__doc__)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", action="store_true", help="lower and print the agreement")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = train_small_resnet(epochs=args.epochs, seed=args.seed)
    print(f"training took {time.perf_counter() - start:.1f} s")
    if args.report:
        with tempfile.TemporaryDirectory() as tmp:
            print_report(report(result, Path(tmp)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
