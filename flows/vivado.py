"""Vivado scripts for the Xilinx targets, checked here with tclsh and stub Vivado commands.

Without Vivado (not installable here) a Xilinx build still gets a script that a user runs in the
docker/ image: out-of-context implementation of accel_top with utilisation and timing reports.
`check_with_stubs` runs it under plain tclsh with hw/boards/vivado/stubs.tcl, which records every
call and checks files, order and required options; the result is labelled unverified until Vivado
itself has run it.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from flows import tools
from flows.artifacts import write_text
from flows.errors import ToolFailedError

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "hw" / "boards" / "vivado"
UNVERIFIED = "checked with tclsh and stub Vivado commands; unverified until Vivado runs it"


def emit_ooc_script(
    rtl_dir: Path, *, design: str, target: str, part: str, clock_mhz: float
) -> Path:
    """Write `<rtl_dir>/vivado_ooc.tcl` for the accel_top sources in `rtl_dir`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    verilog = sorted(p.name for p in rtl_dir.glob("*.v") if p.name != "ulx3s_top.v")
    mem = sorted(p.name for p in rtl_dir.glob("*.mem"))
    script = env.get_template("ooc_impl.tcl.j2").render(
        design=design,
        target=target,
        part=part,
        script_name="vivado_ooc.tcl",
        verilog=verilog,
        mem=mem,
        period_ns=f"{1000.0 / clock_mhz:.3f}",
    )
    return write_text(rtl_dir / "vivado_ooc.tcl", script)


def check_with_stubs(script: Path) -> list[str]:
    """Run `script` under tclsh with stub Vivado commands; return the recorded calls."""
    out = tools.run(["tclsh", str(TEMPLATES / "stubs.tcl"), str(Path(script).resolve())])
    calls = [line for line in out.splitlines() if line.strip()]
    if not any(c.startswith("route_design") for c in calls):
        raise ToolFailedError(f"{script}: the stub run never reached route_design")
    return calls
