"""Golden-model throughput: integer dataflow graph vs Brevitas float model vs qonnx execute_onnx.

Run with `make bench-golden`. Prints images/second for each engine on the same inputs (seeded,
untrained export of the full-size model) and writes the figures to build/bench/golden.json.
Warm-up runs are excluded; each figure is the median of a few timed repeats. This is a
measurement, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

BATCH = 64  # images per timed run: integer graph and PyTorch
REPEATS = 5  # timed repeats (median reported), after one warm-up run
QONNX_IMAGES = 3  # execute_onnx is per image and slow: a few images, after one warm-up image
NOT_LOWERABLE = {
    "insta_resnet18": "not lowered yet: residual/INSTA lowering is pending (issue 4 item 1)",
}


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def to_stream(x: np.ndarray) -> np.ndarray:
    """NCHW -> (N, H*W, C): raster order, channels last (docs/numerics.md section 1)."""
    n, c, h, w = x.shape
    return x.transpose(0, 2, 3, 1).reshape(n, h * w, c)


def bench_model(name: str, workdir: Path, batch: int, repeats: int, qonnx_images: int) -> dict:
    import torch
    from qonnx.core.onnx_exec import execute_onnx

    from flows.frontend.qonnx_import import import_model, load
    from flows.transforms.streamline import streamline
    from sw.export import build_untrained, export

    model = build_untrained(name, 0).eval()  # = what export_untrained(name, path, 0) exports
    path = export(model, workdir / f"{name}.onnx")
    qmodel = load(path)
    graph = streamline(import_model(qmodel))
    shape = tuple(model.input_shape[1:])
    x = np.random.default_rng(0).integers(0, 256, (batch, *shape))

    # Integer dataflow graph: the whole batch at once.
    xs = to_stream(x)
    t_graph = median_seconds(lambda: graph.run(xs), repeats)
    labels = graph.run(xs)[:, 0, 0]

    # Brevitas float model, eval mode, no autograd.
    xt = torch.from_numpy(x).float()
    with torch.no_grad():
        t_torch = median_seconds(lambda: model(xt), repeats)
        torch_cls = model(xt).argmax(dim=-1).numpy()

    # qonnx execute_onnx on the exported model: one image per call (the graph has batch 1).
    iname, oname = qmodel.graph.input[0].name, qmodel.graph.output[0].name
    imgs = [x[i][None].astype(np.float32) for i in range(qonnx_images + 1)]
    execute_onnx(qmodel, {iname: imgs[0]})  # warm-up
    per_image, qonnx_cls = [], []
    for img in imgs[1:]:
        t = time.perf_counter()
        out = execute_onnx(qmodel, {iname: img})[oname]
        per_image.append(time.perf_counter() - t)
        qonnx_cls.append(int(np.argmax(out)))

    ips = {
        "graph": batch / t_graph,
        "torch": batch / t_torch,
        "qonnx": 1.0 / statistics.median(per_image),
    }
    return {
        "model": name,
        "input_shape": list(shape),
        "status": "ok",
        "images_per_second": ips,
        "graph_over_torch": ips["graph"] / ips["torch"],
        "graph_over_qonnx": ips["graph"] / ips["qonnx"],
        "batch": batch,
        "repeats": repeats,
        "qonnx_images": qonnx_images,
        "top1_agreement_graph_torch": float(np.mean(labels == torch_cls)),
        "top1_agreement_graph_qonnx": float(
            np.mean(labels[1 : qonnx_images + 1] == np.array(qonnx_cls))
        ),
    }


def table(rows: list[dict], threads: int) -> str:
    head = (
        f"{'model':<16} {'graph img/s':>12} {'torch img/s':>12} {'qonnx img/s':>12} "
        f"{'graph/torch':>12} {'graph/qonnx':>12}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"{r['model']:<16} {r['status']}")
            continue
        ips = r["images_per_second"]
        lines.append(
            f"{r['model']:<16} {ips['graph']:>12.1f} {ips['torch']:>12.1f} {ips['qonnx']:>12.2f} "
            f"{r['graph_over_torch']:>11.2f}x {r['graph_over_qonnx']:>11.1f}x"
        )
    lines.append(
        f"torch threads: {threads} (machine cores: {os.cpu_count()}); numpy golden: 1 thread; "
        f"graph/torch batch {rows[0].get('batch', BATCH)}, median of "
        f"{rows[0].get('repeats', REPEATS)} after warm-up; qonnx per image, median of "
        f"{rows[0].get('qonnx_images', QONNX_IMAGES)} after warm-up"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/bench/golden.json"))
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--repeats", type=int, default=REPEATS)
    ap.add_argument("--qonnx-images", type=int, default=QONNX_IMAGES)
    args = ap.parse_args(argv)

    import torch

    from flows.artifacts import write_json

    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        rows.append(bench_model("cnv_w1a1", Path(d), args.batch, args.repeats, args.qonnx_images))
    for name, why in NOT_LOWERABLE.items():
        rows.append({"model": name, "status": why})
    print(table(rows, threads))
    write_json(
        args.out,
        {
            "torch_threads": threads,
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
            "numpy": np.__version__,
            "torch": torch.__version__,
            "results": rows,
        },
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
