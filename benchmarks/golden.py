"""Golden-model throughput: integer dataflow graph vs Brevitas float model vs qonnx execute_onnx.

Run with `make bench-golden`, or quickly from the repository root, e.g.
`.venv/bin/python -m benchmarks.golden --models cnv_w1a1 --batch 16`. Prints one table of images/second for each engine on the same inputs (seeded,
untrained export of the full-size model) and writes the figures to build/bench/golden.json.
Every model is lowered (import + streamline); a model whose lowering raises a FlowError gets the
row "not lowered: <message>". Warm-up runs are excluded; each figure is the median of a few timed
repeats. This is a measurement, not a test: nothing here asserts a speed.
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
# Benchmarked models and their build configuration (insta_resnet18 at ImageNet size).
MODELS = {"cnv_w1a1": {}, "insta_resnet18": {"input_size": 224}}


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


def lower(name: str, workdir: Path):
    """(float model, qonnx model, integer graph); raises FlowError if `name` does not lower."""
    from flows.frontend.qonnx_import import import_model, load
    from flows.transforms.streamline import streamline
    from sw.export import build_untrained, export

    model = build_untrained(name, 0, **MODELS[name]).eval()  # = what export_untrained exports
    path = export(model, workdir / f"{name}.onnx")
    qmodel = load(path)
    return model, qmodel, streamline(import_model(qmodel))


def bench_model(name: str, workdir: Path, batch: int, repeats: int, qonnx_images: int) -> dict:
    """One row of the table: images/s of the three engines, or why the model was not lowered."""
    from flows.errors import FlowError

    try:
        model, qmodel, graph = lower(name, workdir)
    except FlowError as e:
        return {"model": name, "status": f"not lowered: {e}"}
    return run_engines(name, model, qmodel, graph, batch, repeats, qonnx_images)


def run_engines(
    name: str, model, qmodel, graph, batch: int, repeats: int, qonnx_images: int
) -> dict:
    """Time the integer graph, the float model and qonnx on the same seeded images."""
    import torch
    from qonnx.core.onnx_exec import execute_onnx
    from threadpoolctl import threadpool_limits

    shape = tuple(model.input_shape[1:])
    images = np.random.default_rng(0).integers(0, 256, (max(batch, qonnx_images + 1), *shape))
    x = images[:batch]

    # Integer dataflow graph: the whole batch at once. numpy's BLAS (the IntMVAU matmuls) runs on
    # one thread: OpenBLAS workers spin after each call and would take the cores from the XNOR
    # popcount threads that follow.
    xs = to_stream(x)
    with threadpool_limits(1, user_api="blas"):
        t_graph = median_seconds(lambda: graph.run(xs), repeats)
        labels = graph.run(xs)[:, 0, 0]

    # Brevitas float model, eval mode, no autograd.
    xt = torch.from_numpy(x).float()
    with torch.no_grad():
        t_torch = median_seconds(lambda: model(xt), repeats)
        torch_cls = model(xt).argmax(dim=-1).numpy()

    # qonnx execute_onnx on the exported model: one image per call (the graph has batch 1).
    iname, oname = qmodel.graph.input[0].name, qmodel.graph.output[0].name
    imgs = [images[i][None].astype(np.float32) for i in range(qonnx_images + 1)]
    execute_onnx(qmodel, {iname: imgs[0]})  # warm-up
    per_image, qonnx_cls = [], []
    graph_cls = graph.run(to_stream(images[1 : qonnx_images + 1]))[:, 0, 0]
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
        "top1_agreement_graph_qonnx": float(np.mean(graph_cls == np.array(qonnx_cls))),
    }


def table(rows: list[dict], threads: int, args: argparse.Namespace) -> str:
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
    from flows.layers.mvau.golden import _XNOR_THREADS

    lines.append(
        f"torch threads: {threads} (machine cores: {os.cpu_count()}); integer graph: numpy, "
        f"XNOR popcount in {_XNOR_THREADS} threads, BLAS 1 thread; graph/torch batch {args.batch}, "
        f"median of {args.repeats} after warm-up; qonnx per image, median of {args.qonnx_images} "
        "after warm-up"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    ap.add_argument("--out", type=Path, default=Path("build/bench/golden.json"))
    ap.add_argument("--batch", type=int, default=BATCH, help="images per timed graph/torch run")
    ap.add_argument("--repeats", type=int, default=REPEATS)
    ap.add_argument("--qonnx-images", type=int, default=QONNX_IMAGES)
    args = ap.parse_args(argv)

    import torch

    from flows.artifacts import write_json

    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as d:
        rows = [
            bench_model(name, Path(d), args.batch, args.repeats, args.qonnx_images)
            for name in args.models
        ]
    print(table(rows, threads, args))
    write_json(
        args.out,
        {
            "torch_threads": threads,
            "load_average": os.getloadavg(),
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
