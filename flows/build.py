"""The build: plain step functions over one serialisable config, artifacts under build/<model>/<target>.

    checkpoint -> export -> streamline -> agreement -> fold -> estimate -> rtl -> parity
               -> synth -> bitstream -> summary

`step_x(ctx) -> None` reads and extends a BuildContext; every step writes its artifacts atomically
(flows.artifacts). `--until STEP` stops after a step. Only `step_checkpoint` and `step_export` touch
`sw/` (and neither runs for a user's own ONNX file).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from flows import estimate, folding, memtier, report, targets
from flows.artifacts import write_json, write_text
from flows.errors import FlowError, FoldingError, ResourceError
from flows.finn_folding import read_finn_folding, write_finn_folding
from flows.graph import DataflowGraph

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class BuildConfig:
    """Everything that determines a build; saved as build/<model>/<target>/config.json."""

    model: str | None = "digits_bnn"
    onnx_file: str | None = None
    target: str = "ulx3s"
    clock_mhz: float = 100.0
    target_cycles: int | None = None  # fold for this many cycles per frame, or
    fps: float | None = None  # for this many frames/s at clock_mhz; neither: the fastest that fits
    popcount_stages: int = 2
    parity_images: int = 100
    # Simulated cycles each parity run may take (flows.sim.parity): every image of digits_bnn in a
    # few seconds; a 224x224 ResNet-18 (about 100 million cycles a frame) one run of three
    # images at full rate.
    parity_budget: int = 300_000_000
    seed: int = 0
    until: str | None = None
    folding_file: str | None = None
    out_root: str = "build"
    layer_synth: str = "auto"  # per-layer Yosys in the synth step: auto (small designs), all, none
    dram: str = "auto"  # in DRAM: "auto" (where on-chip memory runs out), "all", "buffers", "none"


@dataclass
class BuildContext:
    cfg: BuildConfig
    out: Path
    onnx: Path | None = None
    reference: Path | None = None
    graph: DataflowGraph | None = None
    float_graph: DataflowGraph | None = None
    chip_netlist: Path | None = None  # synth -> bitstream
    summary: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def step_checkpoint(ctx: BuildContext) -> None:
    """Find the model's checkpoint; train one if the model's data ships with a package.

    digits_bnn trains here in ~10 s. The other zoo models need data sets users bring
    (`python -m sw.train MODEL --recipe R --data DIR`); without a checkpoint they are exported
    untrained with the build's seed, which is enough for OPs, resources and bit-exactness.
    """
    from sw import models
    from sw.train import DEFAULT_RECIPE
    from sw.train import main as train_main

    models.build(ctx.cfg.model)  # unknown model -> UnknownModelError before any work
    ckpt = Path(ctx.cfg.out_root) / ctx.cfg.model / "checkpoint.pt"
    if not ckpt.is_file() and ctx.cfg.model in BUNDLED_DATA:
        print(f"[checkpoint] none at {ckpt}: training {ctx.cfg.model} (seed {ctx.cfg.seed})")
        args = [ctx.cfg.model, "--recipe", DEFAULT_RECIPE[ctx.cfg.model]]
        if train_main([*args, "--seed", str(ctx.cfg.seed), "--out", str(ckpt)]) != 0:
            raise FlowError(f"training {ctx.cfg.model} failed")
    elif not ckpt.is_file():
        print(
            f"[checkpoint] none at {ckpt}: exporting {ctx.cfg.model} untrained (seed "
            f"{ctx.cfg.seed}); train it with `python -m sw.train {ctx.cfg.model} --data DIR`"
        )
    ctx.summary["checkpoint"] = str(ckpt) if ckpt.is_file() else None


# Models whose training and test data ship with a package (no download): they get a reference.
BUNDLED_DATA = {"digits_bnn"}


def step_export(ctx: BuildContext) -> None:
    """QONNX export; for models with bundled data also the float logits (reference.npz)."""
    out_dir = Path(ctx.cfg.out_root) / ctx.cfg.model
    ckpt = ctx.summary.get("checkpoint")
    if ckpt and ctx.cfg.model in BUNDLED_DATA:
        from flows.reference import export_with_reference

        ctx.onnx, ctx.reference = export_with_reference(ctx.cfg.model, Path(ckpt), out_dir)
        return
    from sw.export import export_model

    path = out_dir / f"{ctx.cfg.model}.onnx"
    ctx.onnx = export_model(ctx.cfg.model, path, Path(ckpt) if ckpt else None, ctx.cfg.seed)


def step_streamline(ctx: BuildContext) -> None:
    from flows.frontend.qonnx_import import import_model, load
    from flows.transforms.streamline import streamline

    ctx.float_graph = import_model(load(ctx.onnx))
    ctx.graph = streamline(ctx.float_graph)


def step_agreement(ctx: BuildContext) -> None:
    """Integer graph vs float model on every reference image (docs/numerics.md sections 3, 5)."""
    from flows.agreement import agreement

    if ctx.reference is None:
        return
    ref = np.load(ctx.reference)
    result = agreement(ctx.graph, ref["images"], ref["logits"], ref["labels"], ctx.float_graph)
    from flows.agreement import layer_flips, to_stream

    result["layer_flips"] = layer_flips(
        ctx.graph, ctx.float_graph, to_stream(ref["images"], ctx.graph)
    )
    ctx.summary["agreement"] = result
    print(
        f"[agreement] integer vs float top-1: {result['agree']}/{result['images']} "
        f"(unexplained: {result['unexplained']}); integer accuracy {result['accuracy']:.4f}"
    )


def step_fold(ctx: BuildContext) -> None:
    """Fold (docs/flow.md, Folding and Exploration): for --target-cycles, for --fps at the clock,
    or, with neither, the fastest design that fits the target; then the --folding file on top."""
    from dataclasses import replace

    from flows import explore
    from flows.layers import XnorMVAU

    c, tgt = ctx.cfg, targets.get(ctx.cfg.target)
    g = ctx.graph.copy()
    for n in g.nodes:  # before folding, so that the folder estimates the pipeline it gets
        if isinstance(n.config, XnorMVAU):
            n.config = replace(n.config, popcount_stages=c.popcount_stages)
    force = None if c.dram == "auto" else c.dram
    placed = True  # the explorer places buffers and weights with every design it tries
    if c.target_cycles is not None:
        g, how = folding.auto_fold(g, c.target_cycles, tgt), f"{c.target_cycles} cycles"
        placed = False
    elif c.fps is not None:
        g = explore.for_throughput(g, c.fps, c.clock_mhz, tgt, force).graph
        how = f"{c.fps:g} frames/s at {c.clock_mhz:g} MHz"
    else:
        g = explore.fastest_fitting(g, tgt, dram=force).graph
        how = f"the fastest that fits {tgt.name}"
    if c.folding_file:
        keep = force is None and _places_buffers(Path(c.folding_file))
        if not keep:  # the file's folding may not suit the explorer's DRAM forms: place anew
            memtier.place(g, tgt, force="none")
        g = apply_folding_file(g, Path(c.folding_file))
        placed = keep
    if not placed:  # within the folding's cycles, as the explorer does
        memtier.place(g, tgt, explore.CEILINGS, force, budget=folding.cycles_per_frame(g))
    in_dram = [n for n, where in memtier.placement(g).items() if where == "dram"]
    ctx.graph = g
    converters = sum(n.kind == "StreamWidthConverter" for n in g.nodes)
    cycles = folding.cycles_per_frame(g)
    use = memtier.dram_use(g, tgt)
    ctx.summary["folding"] = {"for": how, "cycles_per_frame": cycles, "converters": converters,
                              "buffers": memtier.placement(g)}  # fmt: skip
    ctx.summary["dram"] = use.as_dict() | {
        "fps_bound": use.fps(c.clock_mhz),
        "chip": tgt.dram.chip if tgt.dram else None,
        "sustained_bytes_per_cycle": tgt.dram.sustained_bytes_per_cycle if tgt.dram else None,
    }
    if in_dram:
        print(f"[fold] in DRAM: {', '.join(in_dram)}; {use.bytes_per_frame:,} bytes "
              f"per frame, DRAM-bound at {use.cycles:,} cycles per frame")  # fmt: skip
    write_json(ctx.out / "folding.json", folding.folding_map(g))
    write_finn_folding(g, ctx.out / "folding_finn.json")
    print(f"[fold] for {how}: {cycles} cycles per frame, {converters} width converter(s)")


def _places_buffers(path: Path) -> bool:
    """Whether a folding file (this flow's, e.g. a build's folding.json) says where buffers or
    weights live; then its placement stands unless --dram forces one."""
    import json

    data = json.loads(path.read_text())
    return any(isinstance(v, dict) and ("buffer" in v or "weights" in v) for v in data.values())


def apply_folding_file(g: DataflowGraph, path: Path) -> DataflowGraph:
    """A --folding file: FINN's folding configuration (a "Defaults" entry, or upper-case PE/SIMD
    attributes; flows/finn_folding.py) or this flow's {"layer": {"simd": s, "pe": p}}."""
    import json

    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise FoldingError(f"cannot read folding file {path}: {e}") from None
    finn = isinstance(data, dict) and (
        "Defaults" in data
        or any(isinstance(v, dict) and set(v) & {"PE", "SIMD"} for v in data.values())
    )
    if finn:
        return read_finn_folding(g, data)
    return folding.apply_folding(g, folding.checked_folding(data, path))


def step_estimate(ctx: BuildContext) -> None:
    """Per-layer estimate and report (report.md, graph.json); stop with ResourceError if the
    design does not fit the target (after writing the report, which shows where it overflows)."""
    tgt = targets.get(ctx.cfg.target)
    write_report(ctx, tgt)
    est = memtier.design_estimate(ctx.graph, tgt)  # layers and, with DRAM buffers, the tier
    tot = estimate.total(est)
    ctx.summary["estimate"] = {"layers": {k: v.as_dict() for k, v in est.items()}, "total": tot}
    need = folding.need_of(tot, tgt.family)  # distributed RAM uses LUTs too
    over = {k: (need[k], avail) for k, avail in tgt.resources.items() if need.get(k, 0) > avail}
    if over:
        what = ", ".join(
            f"{k} {need} > {avail} (+{need - avail})" for k, (need, avail) in over.items()
        )
        raise ResourceError(
            f"design does not fit {tgt.name} ({tgt.part}): {what}; "
            "fold for the design that fits (leave out --target-cycles and --fps: the fold step "
            "then searches for it) or pick a larger target"
        )


def write_report(ctx: BuildContext, tgt: targets.Target) -> None:
    """The per-layer table: rows in graph.json, the table in report.md and on the console."""
    rows = report.layer_report(ctx.graph, tgt.family)
    blank = {key: None for _, key in report.COLUMNS}
    links = memtier.links_estimate(ctx.graph, tgt)
    if links is not None:  # accel_top's FIFOs between the layers and on the DRAM buffer ports
        rows.append(blank | {"name": memtier.LINKS_ROW, "kind": "stream FIFOs", "param_bits": 0}
                    | links.as_dict())  # fmt: skip
    tier = memtier.tier_estimate(ctx.graph, tgt)
    if tier is not None:  # the DRAM tier's logic, and its DRAM-bound cycles per frame
        rows.append(blank | {"name": memtier.TIER_ROW, "kind": "LiteDRAM tier", "param_bits": 0}
                    | tier.as_dict())  # fmt: skip
    table = report.format_table(rows)
    write_json(ctx.out / "graph.json", rows)
    title = f"# {ctx.summary['model']} on {tgt.name} ({tgt.part}, estimator family {tgt.family})"
    text = f"{title}\n\n{table}"
    use = memtier.dram_use(ctx.graph, tgt)
    if use.buffers:
        d = tgt.dram
        text += "\n\n" + report.dram_section(use, ctx.cfg.clock_mhz, d.chip, d.sustained) + "\n"
    write_text(ctx.out / "report.md", text)
    print(f"[estimate] per-layer report ({ctx.out / 'report.md'}):\n{table}", flush=True)


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def config_dict(cfg: BuildConfig) -> dict:
    return asdict(cfg)


def dump_summary(ctx: BuildContext) -> Path:
    path = ctx.out / "summary.json"
    write_json(path, ctx.summary)
    return path


def timed(ctx: BuildContext, name: str, fn) -> None:
    t0 = time.time()
    fn(ctx)
    ctx.timings[name] = round(time.time() - t0, 2)
