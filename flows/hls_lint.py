"""Synthesisability lint for the HLS C++ kernels (DESIGN.md sections 2 and 8).

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
import re
import sys
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_INCLUDE_DIRS = (Path(__file__).resolve().parents[1] / "hls" / "include",)
PRAGMA_WHITELIST = frozenset(
    {
        "PIPELINE", "UNROLL", "ARRAY_PARTITION", "ARRAY_RESHAPE", "INTERFACE", "DATAFLOW",
        "STREAM", "INLINE", "BIND_STORAGE", "BIND_OP", "RESOURCE", "LOOP_TRIPCOUNT",
    }
)  # fmt: skip
BANNED_HEADERS = frozenset(
    {
        "vector", "map", "string", "list", "deque", "set", "unordered_map", "unordered_set",
        "queue", "stack", "forward_list", "memory", "functional", "iostream", "fstream",
        "sstream", "thread", "mutex", "malloc.h",
    }
)  # fmt: skip
_STD_BANNED = (
    r"\bstd\s*::\s*(vector|map|multimap|string|list|deque|set|multiset|unordered_\w+|queue|"
    r"priority_queue|stack|forward_list|shared_ptr|unique_ptr|function|cout|cerr|[io]?fstream)\b"
)
TESTBENCH_SUFFIX = "_tb.cpp"
_KEYWORDS = frozenset(
    {"if", "for", "while", "switch", "catch", "return", "sizeof", "decltype", "static_assert",
     "alignof", "defined", "do", "else", "case", "new", "delete"}
)  # fmt: skip
_CONST_WORDS = frozenset(
    {"sizeof", "unsigned", "signed", "int", "long", "short", "char", "bool", "true", "false",
     "static_cast", "size_t"}
)  # fmt: skip
_IDENT = r"[A-Za-z_]\w*"


@dataclass(frozen=True)
class Finding:
    """One rule violation at a source line."""

    file: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.rule}] {self.message}"


# --- source preparation --------------------------------------------------------------------------


def _strip(text: str) -> tuple[str, str, set[int]]:
    """(code without comments, code also without literal contents, lines holding a comment).

    Comments and literal contents become spaces and newlines are kept, so every offset keeps its
    line number.
    """
    keep, bare, comment_lines = [], [], set()
    i, line, n = 0, 1, len(text)
    while i < n:
        c, nxt = text[i], text[i + 1 : i + 2]
        if c == "/" and nxt in ("/", "*"):
            close = "\n" if nxt == "/" else "*/"
            end = text.find(close, i + 2)
            end = n if end < 0 else end + (2 if nxt == "*" else 0)
            chunk = text[i:end]
            comment_lines.update(range(line, line + chunk.count("\n") + 1))
            blank = re.sub(r"[^\n]", " ", chunk)
            keep.append(blank)
            bare.append(blank)
        elif c in "\"'":
            end = i + 1
            while end < n and text[end] not in (c, "\n"):
                end += 2 if text[end] == "\\" else 1
            end = min(end + 1, n)
            chunk = text[i:end]
            keep.append(chunk)
            bare.append(c + " " * (len(chunk) - 2) + chunk[-1] if len(chunk) > 1 else c)
        else:
            end, chunk = i + 1, c
            keep.append(c)
            bare.append(c)
        line += chunk.count("\n")
        i = end
    return "".join(keep), "".join(bare), comment_lines


def _csim_only_lines(code: str) -> set[int]:
    """Line numbers under a C-simulation-only preprocessor branch (see the module docstring)."""
    csim, stack = set(), []  # stack entries: [is a __SYNTHESIS__ test, branch is csim-only]
    for number, text in enumerate(code.split("\n"), start=1):
        d = text.strip()
        if re.match(r"#\s*if", d):
            synth = "__SYNTHESIS__" in d
            negated = bool(re.match(r"#\s*ifndef\b", d)) or "!" in d
            stack.append([synth, synth and negated])
        elif re.match(r"#\s*(else|elif)\b", d) and stack and stack[-1][0]:
            stack[-1][1] = not stack[-1][1]
        elif re.match(r"#\s*endif\b", d) and stack:
            stack.pop()
        elif any(frame[1] for frame in stack):
            csim.add(number)
    return csim


def _blank_lines(code: str, lines: set[int]) -> str:
    rows = code.split("\n")
    return "\n".join(" " * len(r) if i + 1 in lines else r for i, r in enumerate(rows))


def _match_close(code: str, start: int, open_c: str, close_c: str) -> int:
    """Index of the bracket closing the one at `start` (len(code) if unbalanced)."""
    depth = 0
    for i in range(start, len(code)):
        if code[i] == open_c:
            depth += 1
        elif code[i] == close_c:
            depth -= 1
            if depth == 0:
                return i
    return len(code)


_Hit = tuple[int, str, str]  # (offset in the source text, rule, message)


@dataclass(frozen=True)
class _Source:
    """The synthesis view of one file: comments, literal contents and csim-only lines blanked."""

    kernel: str
    kernel_with_literals: str  # the same view with string literals kept (include names)
    comment_lines: frozenset[int]
    line_starts: tuple[int, ...]

    def line(self, offset: int) -> int:
        return bisect_right(self.line_starts, offset)

    def offset(self, line: int) -> int:
        return self.line_starts[line - 1]


def _prepare(text: str) -> _Source:
    keep, bare, comments = _strip(text)
    csim = _csim_only_lines(keep)
    starts = (0, *(m.end() for m in re.finditer("\n", text)))
    return _Source(_blank_lines(bare, csim), _blank_lines(keep, csim), frozenset(comments), starts)


# --- what is a compile-time constant -------------------------------------------------------------


@dataclass
class _Constants:
    names: set[str]
    functions: set[str]  # constexpr functions


def _template_params(code: str) -> set[str]:
    names = set()
    for m in re.finditer(r"\btemplate\s*<", code):
        body = code[m.end() : _match_close(code, m.end() - 1, "<", ">")]
        kinds = r"(?:unsigned\s+|signed\s+)?(?:typename|class|unsigned|signed|int|long|bool|size_t)"
        names.update(re.findall(rf"\b{kinds}\s+({_IDENT})", body))
    return names


def _collect_constants(code: str, known: _Constants) -> None:
    """Add the compile-time names declared in `code` to `known` (in place)."""
    known.names |= _template_params(code)
    for m in re.finditer(rf"\bconstexpr\b[^;{{}}=()]*?\b({_IDENT})\s*(\(|=|\{{)", code):
        (known.functions if m.group(2) == "(" else known.names).add(m.group(1))
    for m in re.finditer(rf"^[ \t]*#\s*define\s+({_IDENT})", code, re.M):
        known.names.add(m.group(1))
    for m in re.finditer(r"\benum\b[^{;]*\{([^}]*)\}", code):
        known.names |= {e.split("=")[0].strip() for e in m.group(1).split(",") if e.strip()}
    # `const` values with a constant initialiser, to a fixpoint (one may use another)
    decls = re.findall(rf"\bconst\b\s+[\w:<>, ]*?\b({_IDENT})\s*=\s*([^;,{{}}]+)[;,]", code)
    changed = True
    while changed:
        changed = False
        for name, init in decls:
            if name not in known.names and _constant_expr_error(init, known) is None:
                known.names.add(name)
                changed = True


def _constant_expr_error(expr: str, known: _Constants) -> str | None:
    """None if `expr` is a compile-time constant expression, else what makes it runtime."""
    expr = re.sub(r"\bsizeof\s*\([^()]*\)", "1", expr)  # sizeof of anything is constant
    tokens = re.findall(rf"{_IDENT}(?:\s*::\s*{_IDENT})+|{_IDENT}|\d[\w.']*|->|\S", expr)
    if not tokens:
        return "it is empty"
    for k, tok in enumerate(tokens):
        following = tokens[k + 1] if k + 1 < len(tokens) else ""
        if tok in (".", "->"):
            return "it reads a member of a runtime object"
        if "::" in tok or tok[0].isdigit() or tok in _CONST_WORDS or tok in known.names:
            continue
        if re.fullmatch(_IDENT, tok):
            if tok in known.functions and following == "(":
                continue
            kind = "a call of a non-constexpr function" if following == "(" else "a runtime value"
            return f"'{tok}' is {kind}"
    return None


def _constants_of(code: str, path: Path | None, include_dirs: Iterable[Path]) -> _Constants:
    """Constants of `code` and of the quoted includes it reaches (found on include_dirs)."""
    known, seen, queue = _Constants(set(), set()), set(), [(code, path)]
    dirs = list(include_dirs)
    while queue:
        text, where = queue.pop()
        _collect_constants(text, known)
        for name in re.findall(r'^[ \t]*#\s*include\s*"([^"]+)"', text, re.M):
            search = ([where.parent] if where else []) + dirs
            for folder in search:
                candidate = (folder / name).resolve()
                if candidate.is_file() and candidate not in seen:
                    seen.add(candidate)
                    queue.append((_strip(candidate.read_text())[0], candidate))
                    break
    return known


# --- rules ---------------------------------------------------------------------------------------

_ADVICE = {
    "loop-bound": "the scheduler needs every trip count at compile time",
    "while-loop": "its trip count is data-dependent; use a for loop with a compile-time bound",
    "dynamic-memory": "hardware has no heap; use fixed-size arrays",
    "stl": "not synthesisable; keep it in a *_tb.cpp file or under #ifndef __SYNTHESIS__",
    "recursion": "hardware needs a static call depth",
    "pragma": f"allowed: #pragma once and HLS {', '.join(sorted(PRAGMA_WHITELIST))}",
    "pragma-comment": "say why on the line above (hardware reason: II, ports, memories)",
}


def _hit(offset: int, rule: str, what: str) -> _Hit:
    return offset, rule, f"{what}: {_ADVICE[rule]}"


def _loop_bound(header: str, known: _Constants) -> str | None:
    """None if a for-loop header has a compile-time bound, else what is wrong with it."""
    parts = header.split(";")
    if len(parts) != 3:
        return "range-based for loop"
    declared = re.findall(rf"({_IDENT})\s*=", parts[0])
    var, cond = (declared[-1] if declared else None), parts[1].strip()
    forward = re.fullmatch(rf"({_IDENT})\s*(?:<=|<|>=|>|!=)\s*(.+)", cond, re.S)
    reverse = re.fullmatch(rf"(.+?)\s*(?:<=|<|>=|>|!=)\s*({_IDENT})", cond, re.S)
    if forward and var in (None, forward.group(1)):
        bound = forward.group(2)
    elif reverse and reverse.group(2) == var:
        bound = reverse.group(1)
    else:
        return f"loop condition '{cond}' is not 'var OP bound'"
    error = _constant_expr_error(bound, known)
    return f"loop bound '{bound.strip()}' is not constant ({error})" if error else None


def _loop_findings(src: _Source, known: _Constants) -> list[_Hit]:
    out = []
    for m in re.finditer(r"\bfor\s*\(", src.kernel):
        open_at = m.end() - 1
        error = _loop_bound(
            src.kernel[open_at + 1 : _match_close(src.kernel, open_at, "(", ")")], known
        )
        if error:
            out.append(_hit(m.start(), "loop-bound", error))
    return out


def _regex_findings(src: _Source) -> list[_Hit]:
    bare = src.kernel
    out = [_hit(m.start(), "while-loop", "while loop") for m in re.finditer(r"\bwhile\b", bare)]
    for m in re.finditer(r"\b(new|delete)\b|\b(malloc|calloc|realloc|free)\s*\(", bare):
        out.append(_hit(m.start(), "dynamic-memory", f"'{m.group(1) or m.group(2)}'"))
    for m in re.finditer(r"^[ \t]*#\s*include\s*<([^>]+)>", src.kernel_with_literals, re.M):
        if m.group(1).strip() in BANNED_HEADERS:
            out.append(_hit(m.start(), "stl", f"<{m.group(1).strip()}>"))
    out += [_hit(m.start(), "stl", f"std::{m.group(1)}") for m in re.finditer(_STD_BANNED, bare)]
    return out


def _definitions(bare: str) -> dict[str, list[tuple[int, str]]]:
    """Function name -> [(offset, body)] for every definition `name(...) [const] {...}`."""
    found: dict[str, list[tuple[int, str]]] = {}
    for m in re.finditer(rf"\b({_IDENT})\s*\(", bare):
        close = _match_close(bare, m.end() - 1, "(", ")")
        after = re.match(r"\s*(?:const\b\s*)?(?:noexcept\b\s*)?\{", bare[close + 1 :])
        if m.group(1) in _KEYWORDS or after is None:
            continue
        open_at = close + after.end()
        body = bare[open_at + 1 : _match_close(bare, open_at, "{", "}")]
        found.setdefault(m.group(1), []).append((m.start(), body))
    return found


def _recursion_findings(src: _Source) -> list[_Hit]:
    defs = _definitions(src.kernel)
    call = re.compile(rf"\b({_IDENT})\s*(?:<[^;{{}}()]*>)?\s*\(")
    calls = {
        name: {c for _, body in bodies for c in call.findall(body)} & defs.keys()
        for name, bodies in defs.items()
    }
    out = []
    for name, bodies in defs.items():
        chain = _call_path(calls, name)
        if chain:
            what = f"'{name}' is recursive ({' -> '.join([name, *chain])})"
            out += [_hit(offset, "recursion", what) for offset, _ in bodies]
    return out


def _call_path(calls: dict[str, set[str]], target: str) -> list[str]:
    """A call chain from `target` back to itself, or [] (depth-first search)."""
    stack, seen = [(callee, [callee]) for callee in sorted(calls[target])], set()
    while stack:
        name, path = stack.pop()
        if name == target:
            return path
        if name not in seen:
            seen.add(name)
            stack.extend((c, [*path, c]) for c in sorted(calls.get(name, ())))
    return []


def _pragma_findings(src: _Source) -> list[_Hit]:
    rows = src.kernel.split("\n")
    pragmas = [re.match(r"\s*#\s*pragma\s+(\w+)(?:\s+(\w+))?", row) for row in rows]
    out = []
    for idx, m in enumerate(pragmas):
        if m is None or m.group(1) == "once":
            continue
        offset, directive = src.offset(idx + 1), (m.group(2) or "").upper()
        if m.group(1).upper() != "HLS":
            out.append(_hit(offset, "pragma", f"'#pragma {m.group(1)}' is not an HLS pragma"))
            continue
        if directive not in PRAGMA_WHITELIST:
            out.append(_hit(offset, "pragma", f"HLS {directive or '(empty)'} is not whitelisted"))
        above = idx - 1
        while above >= 0 and pragmas[above] is not None:
            above -= 1  # a block of pragmas may share the comment above it
        explained = (idx + 1) in src.comment_lines or (
            above >= 0 and (above + 1) in src.comment_lines and not rows[above].strip()
        )
        if not explained:
            out.append(_hit(offset, "pragma-comment", f"HLS {directive} has no comment"))
    return out


# --- entry points --------------------------------------------------------------------------------


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
    src = _prepare(text)
    known = _constants_of(src.kernel_with_literals, path, include_dirs)
    hits = (
        _loop_findings(src, known)
        + _regex_findings(src)
        + _recursion_findings(src)
        + _pragma_findings(src)
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


if __name__ == "__main__":
    sys.exit(main())
