"""What the estimator benchmarks share (benchmarks/width_converter.py, benchmarks/mvau_dram.py,
benchmarks/insta_shared.py): a block synthesised out of context per family next to its estimate,
and the table cells and error summary of estimate / Yosys ratios."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from pathlib import Path

from flows import synth


def measured(
    sources: Sequence[Path],
    top: str,
    workdir: Path,
    estimate: Callable[[str], dict],
    families: Sequence[str],
    metrics: Sequence[str],
) -> dict[str, tuple[int, int]]:
    """{"<family>_<metric>": (estimate, Yosys)}: `top` through `synth_ecp5 -noiopad` or
    `synth_xilinx` per family (in workdir/<family>), `estimate(family)` its figures."""
    row = {}
    for fam in families:
        got = (
            synth.synth_ecp5(sources, top, workdir / fam, ooc=True)
            if fam == "ecp5"
            else synth.synth_xilinx(sources, top, workdir / fam)
        )
        est = estimate(fam)
        for m in metrics:
            row[f"{fam}_{m}"] = (est[m], got.get(m, 0))
    return row


def measured_layer(
    node, workdir: Path, families: Sequence[str], metrics: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """`measured` for one layer: its RTL emitted into workdir/<name> with the library modules,
    its estimate from the layer kind's estimator."""
    from flows.codegen import rtl
    from flows.estimate import estimate_layer

    cfg = node.config
    d = workdir / cfg.name
    sources = [p for p in [*rtl.emit_layer(node, d), *rtl.lib_sources()] if p.suffix == ".v"]
    estimate = lambda fam: estimate_layer(cfg, fam).as_dict()  # noqa: E731
    return measured(sources, cfg.name, d, estimate, families, metrics)


def ratio(pair: tuple[int, int]) -> float | None:
    est, got = pair
    return est / got if got else None


def cells(row: dict, families: Sequence[str], metrics: Sequence[str], width: int) -> list[str]:
    """ "estimate/Yosys (ratio)" per family and metric, numbers `width` characters wide."""
    out = []
    for f in families:
        for m in metrics:
            est, got = row[f"{f}_{m}"]
            q = ratio((est, got))
            out.append(f"{est:>{width}}/{got:<{width}}{f'({q:.2f})' if q else '':>7}")
    return out


def error_lines(rows: list[dict], families: Sequence[str], metrics: Sequence[str]) -> list[str]:
    """Per family and metric: median and worst |estimate / Yosys - 1| and the ratios' range."""
    out = []
    for f in families:
        for m in metrics:
            qs = [q for r in rows if (q := ratio(r[f"{f}_{m}"]))]
            if not qs:
                continue
            errs = [abs(q - 1) for q in qs]
            out.append(
                f"  {f} {m}: median |error| {statistics.median(errs):.0%}, worst {max(errs):.0%} "
                f"(estimate/Yosys {min(qs):.2f}..{max(qs):.2f})"
            )
    return out
