"""Icarus Verilog as a third tool besides Verilator and Yosys: generated RTL must compile as
plain Verilog-2005 with the library modules, without a message; and the runner of the library
modules' self-checking benches (`run_bench`)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from flows import tools
from flows.codegen import rtl


def assert_plain_verilog_2005(sources: Iterable[Path | str], cwd: Path, what: str = "") -> None:
    """`iverilog -g2005` on the `.v` files of `sources` plus hw/lib: exit 0 and no stderr."""
    files = [str(p) for p in sources if Path(p).suffix == ".v"]
    files += [str(p) for p in rtl.lib_sources()]
    r = subprocess.run(
        [tools.find("iverilog"), "-g2005", "-o", os.devnull, *files],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and not r.stderr, f"iverilog -g2005{what}:\n{r.stderr}"


def run_bench(tmp_path: Path, bench: str, module: str) -> str:
    """Icarus: a self-checking bench (Verilog text) with the library module file `module`
    (hw/lib), compiled without a message; the simulation's stdout."""
    tb = tmp_path / "tb.v"
    tb.write_text(bench)
    lib = [str(p) for p in rtl.lib_sources() if p.name == module]
    out = tmp_path / "tb.vvp"
    r = subprocess.run([tools.find("iverilog"), "-g2005", "-o", str(out), str(tb), *lib],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0 and not r.stderr, r.stderr
    vvp = Path(tools.find("iverilog")).with_name("vvp")
    return subprocess.run([str(vvp), str(out)], capture_output=True, text=True).stdout
