"""`python -m flows COMMAND`: the command line. Errors print one line and exit non-zero."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flows.errors import FlowError


def _build(args) -> int:
    from flows.build import BuildConfig
    from flows.pipeline import run_build

    cfg = BuildConfig(
        model=None if args.file else args.model,
        onnx_file=str(args.file) if args.file else None,
        target=args.target,
        clock_mhz=args.clock,
        target_cycles=args.target_cycles,
        fps=args.fps,
        popcount_stages=args.popcount_stages,
        parity_images=args.parity_images,
        **({"parity_budget": args.parity_budget} if args.parity_budget else {}),
        until=args.until,
        out_root=str(args.out),
        folding_file=str(args.folding) if args.folding else None,
        dram=args.dram,
        layer_synth=args.layer_synth,
    )
    run_build(cfg)
    return 0


def _export(args) -> int:
    from flows.build import BuildConfig, BuildContext, step_checkpoint, step_export

    cfg = BuildConfig(model=args.model, out_root=str(args.out))
    ctx = BuildContext(cfg, Path(args.out) / args.model)
    step_checkpoint(ctx)
    step_export(ctx)
    print(f"exported {ctx.onnx}")
    return 0


def _explore(args) -> int:
    """The Pareto front, the fastest design that fits and (--fps) the cheapest reaching it."""
    from flows import build as b
    from flows import explore, targets
    from flows.artifacts import write_json

    tgt = targets.get(args.target)
    cfg = b.BuildConfig(
        model=None if args.file else args.model,
        onnx_file=str(args.file) if args.file else None,
        target=tgt.name,
        clock_mhz=args.clock,
        out_root=str(args.out),
    )
    name = cfg.model or Path(cfg.onnx_file).stem
    ctx = b.BuildContext(cfg, Path(args.out) / name / tgt.name)
    ctx.summary = {"model": name}
    if cfg.model:
        b.step_checkpoint(ctx)
        b.step_export(ctx)
    else:
        ctx.onnx = Path(cfg.onnx_file)
    b.step_streamline(ctx)
    result = {"model": name} | explore.explore_report(
        ctx.graph, tgt, args.clock, args.fps, args.points
    )
    path = write_json(ctx.out / "explore.json", result)
    print(f"Pareto front of {name} on {tgt.name} at {args.clock:g} MHz:")
    print(explore.format_rows(result["pareto"]))
    best = result["fastest_fitting"]
    print("fastest that fits:" if best else f"none fits: {result['no_fit']}")
    if best:
        print(explore.format_rows([best], header=False))
    if "for_fps" in result:
        print(f"cheapest for {args.fps:g} frames/s:")
        print(explore.format_rows([result["for_fps"]], header=False))
    print(f"written {path}")
    return 0


def _ops(args) -> int:
    from flows.opcount.cli import run

    return run(args)


def _doctor(args) -> int:
    from flows.doctor import main as doctor_main

    return doctor_main()


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Flow warnings (e.g. a folding target that cannot be met) as one line on the console."""
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.formatwarning = _one_line_warning
    p = argparse.ArgumentParser(prog="python -m flows")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="model -> QONNX -> dataflow HW -> reports (+ bitstream)")
    src = b.add_mutually_exclusive_group()
    src.add_argument("--model", default="digits_bnn")
    src.add_argument("--file", type=Path, help="a QONNX file instead of a model from the zoo")
    b.add_argument("--target", default="ulx3s")
    b.add_argument("--clock", type=float, default=100.0, help="requested clock in MHz")
    speed = b.add_mutually_exclusive_group()
    speed.add_argument("--target-cycles", type=int, help="fold for this many cycles per frame")
    speed.add_argument(
        "--fps", type=float, help="fold for frames/s at --clock (default: fastest that fits)"
    )
    b.add_argument("--popcount-stages", type=int, default=2)
    b.add_argument("--parity-images", type=int, default=100)
    b.add_argument(
        "--parity-budget",
        type=int,
        help="simulated cycles each parity run may take (default 300 million); fewer images run when a frame is long "
        "(the summary says how many)",
    )
    b.add_argument(
        "--folding",
        type=Path,
        help='folding to apply on top: JSON {"layer": {"simd": s, "pe": p}} or a FINN folding file',
    )
    b.add_argument(
        "--dram",
        choices=("auto", "all", "buffers", "none"),
        default="auto",
        help="frame buffers, weights and constants in external DRAM: where on-chip memory runs "
        "out (auto), all, only the frame buffers, none",
    )
    b.add_argument(
        "--layer-synth",
        choices=("auto", "all", "none"),
        default="auto",
        help="per-layer Yosys runs in the synth step (ECP5 and xc7 for every layer): auto runs "
        "them on designs of up to 48 layers",
    )
    b.add_argument("--until", default=None, help="stop after this step")
    b.add_argument("--out", type=Path, default=Path("build"))
    b.set_defaults(fn=_build)
    e = sub.add_parser("export", help="train if needed and export MODEL to QONNX")
    e.add_argument("--model", default="digits_bnn")
    e.add_argument("--out", type=Path, default=Path("build"))
    e.set_defaults(fn=_export)
    x = sub.add_parser("explore", help="design-space exploration: Pareto front, fastest fit")
    xsrc = x.add_mutually_exclusive_group()
    xsrc.add_argument("--model", default="digits_bnn")
    xsrc.add_argument("--file", type=Path, help="a QONNX file instead of a model from the zoo")
    x.add_argument("--target", default="ulx3s")
    x.add_argument("--clock", type=float, default=100.0, help="clock in MHz")
    x.add_argument("--fps", type=float, help="also the cheapest design for these frames/s")
    x.add_argument("--points", type=int, default=16, help="targets swept for the Pareto front")
    x.add_argument("--out", type=Path, default=Path("build"), help="writes OUT/<name>/<target>/")
    x.set_defaults(fn=_explore)
    o = sub.add_parser("ops", help="the papers' OPs / parameter accounting (docs/ops.md)")
    osrc = o.add_mutually_exclusive_group()
    osrc.add_argument("--model", default="digits_bnn", help="a zoo model, exported first")
    osrc.add_argument("--file", type=Path, help="any QONNX file instead of a zoo model")
    o.add_argument("--out", type=Path, default=Path("build"), help="writes OUT/<name>/ops.json")
    o.add_argument("--all-rows", action="store_true", help="also list nodes that cost nothing")
    o.set_defaults(fn=_ops)
    d = sub.add_parser("doctor", help="check that every external tool is installed")
    d.set_defaults(fn=_doctor)
    args = p.parse_args(argv)
    try:
        return args.fn(args)
    except FlowError as e:
        # One line; tool failures name the log file that holds the details.
        print(f"error: {str(e).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
