"""Synthesisability lint for the HLS C++ kernels (docs/hardware.md, "HLS kernels").

No open HLS-to-RTL tool exists, so the kernels in hls/ are held to bit-exact C-simulation plus this
lint, which rejects what Vitis HLS cannot turn into fixed hardware. Rules:

* `loop-bound`: every `for` loop reads `var OP bound` (OP one of < <= > >= !=) and the bound is a
  compile-time constant: literals, template parameters, `constexpr` values, `const` values with a
  constant initialiser, enumerators, macros, `Type::MEMBER` names, `sizeof` and calls of
  `constexpr` functions, combined by arithmetic. Function arguments (FINN's runtime `reps`) are not
  constant: the scheduler could not size the loop. Range-based `for` is rejected too.
* `while-loop`: no `while` or `do ... while` loop: its trip count is data-dependent.
* `dynamic-memory`: no `new`, `delete`, `malloc`, `calloc`, `realloc`, `free`.
* `stl`: no STL container, string or stream header (`<vector>`, `<map>`, `<string>`, `<iostream>`
  ...) and no `std::` container, string or smart pointer.
* `recursion`: no function that reaches itself through calls among the file's own definitions
  (overloads share a name, so an overload calling another one is reported too).
* `pragma`: `#pragma once`, or `#pragma HLS` with a directive of `PRAGMA_WHITELIST`.
* `pragma-comment`: every HLS pragma says why: a comment on its line or directly above it (a block
  of consecutive pragmas may share one comment).

Whitelist decision: the directives that shape II, parallelism, memories and interfaces of a
streaming kernel (PIPELINE, UNROLL, ARRAY_PARTITION, ARRAY_RESHAPE, INTERFACE, DATAFLOW, STREAM,
INLINE, BIND_STORAGE, BIND_OP, LOOP_TRIPCOUNT) plus RESOURCE, the Vivado HLS spelling of
BIND_STORAGE/BIND_OP that FINN-era code still uses. Directives that override the scheduler's
correctness analysis (DEPENDENCE, OCCURRENCE, LATENCY, PROTOCOL, ...) are not whitelisted: a use
must be argued in review and added here.

Exempt code: lines under `#ifndef __SYNTHESIS__` (or `#if !defined(__SYNTHESIS__)`, or the `#else`
of `#ifdef __SYNTHESIS__`) are C-simulation only, and files named `*_tb.cpp` are test benches that
are never synthesised; both may use the STL and file I/O. Quoted includes are read (from the file's
folder and hls/include) to learn the constants a file uses.

`python -m flows.hls_lint FILE...` prints one line per finding and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from flows.hls_lint.config import (
    DEFAULT_INCLUDE_DIRS,
    PRAGMA_WHITELIST,
    TESTBENCH_SUFFIX,
    Finding,
)
from flows.hls_lint.rules import (
    loop_findings,
    pragma_findings,
    recursion_findings,
    regex_findings,
)
from flows.hls_lint.source import constants_of, prepare

__all__ = ["PRAGMA_WHITELIST", "Finding", "lint_file", "lint_files", "lint_source", "main"]


def lint_source(
    text: str,
    filename: str = "<source>",
    include_dirs: Iterable[Path] = DEFAULT_INCLUDE_DIRS,
    path: Path | None = None,
) -> list[Finding]:
    """Findings of one C++ source text, sorted by line; [] for a test bench (`*_tb.cpp`).

    `path` (the file's location) lets quoted includes be found next to it; `include_dirs` are
    searched after that folder.
    """
    if filename.endswith(TESTBENCH_SUFFIX):
        return []
    src = prepare(text)
    known = constants_of(src.kernel_with_literals, path, include_dirs)
    hits = (
        loop_findings(src, known)
        + regex_findings(src)
        + recursion_findings(src)
        + pragma_findings(src)
    )
    found = {Finding(filename, src.line(offset), rule, message) for offset, rule, message in hits}
    return sorted(found, key=lambda f: (f.line, f.rule, f.message))


def lint_file(path: Path, include_dirs: Iterable[Path] = DEFAULT_INCLUDE_DIRS) -> list[Finding]:
    """Findings of one file (see lint_source)."""
    path = Path(path)
    return lint_source(path.read_text(), str(path), include_dirs, path)


def lint_files(
    paths: Iterable[Path], include_dirs: Iterable[Path] = DEFAULT_INCLUDE_DIRS
) -> list[Finding]:
    """Findings of several files, file by file."""
    dirs = list(include_dirs)
    return [f for p in paths for f in lint_file(Path(p), dirs)]


def main(argv: list[str] | None = None) -> int:
    """CLI: print every finding; exit 1 if there is one, 2 if a file cannot be read, else 0."""
    parser = argparse.ArgumentParser(
        prog="python -m flows.hls_lint", description=__doc__.split("\n")[0]
    )
    parser.add_argument("files", nargs="+", type=Path, help="C++ sources and headers to check")
    parser.add_argument(
        "-I", dest="include_dirs", action="append", type=Path, default=[],
        help="extra folder for quoted includes (hls/include is always searched)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        print(f"error: cannot read {', '.join(missing)}", file=sys.stderr)
        return 2
    findings = lint_files(args.files, [*args.include_dirs, *DEFAULT_INCLUDE_DIRS])
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} finding(s) in {len(args.files)} file(s)", file=sys.stderr)
        return 1
    return 0
