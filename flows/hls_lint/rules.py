"""The lint's rules: each returns the (offset, rule, message) hits of one kind of finding."""

from __future__ import annotations

import re

from flows.hls_lint.config import BANNED_HEADERS, IDENT, KEYWORDS, PRAGMA_WHITELIST, STD_BANNED
from flows.hls_lint.source import Constants, Hit, Source, constant_expr_error, match_close

_ADVICE = {
    "loop-bound": "the scheduler needs every trip count at compile time",
    "while-loop": "its trip count is data-dependent; use a for loop with a compile-time bound",
    "dynamic-memory": "hardware has no heap; use fixed-size arrays",
    "stl": "not synthesisable; keep it in a *_tb.cpp file or under #ifndef __SYNTHESIS__",
    "recursion": "hardware needs a static call depth",
    "pragma": f"allowed: #pragma once and HLS {', '.join(sorted(PRAGMA_WHITELIST))}",
    "pragma-comment": "say why on the line above (hardware reason: II, ports, memories)",
}


def _hit(offset: int, rule: str, what: str) -> Hit:
    return offset, rule, f"{what}: {_ADVICE[rule]}"


def _loop_bound(header: str, known: Constants) -> str | None:
    """None if a for-loop header has a compile-time bound, else what is wrong with it."""
    parts = header.split(";")
    if len(parts) != 3:
        return "range-based for loop"
    declared = re.findall(rf"({IDENT})\s*=", parts[0])
    var, cond = (declared[-1] if declared else None), parts[1].strip()
    forward = re.fullmatch(rf"({IDENT})\s*(?:<=|<|>=|>|!=)\s*(.+)", cond, re.S)
    reverse = re.fullmatch(rf"(.+?)\s*(?:<=|<|>=|>|!=)\s*({IDENT})", cond, re.S)
    if forward and var in (None, forward.group(1)):
        bound = forward.group(2)
    elif reverse and reverse.group(2) == var:
        bound = reverse.group(1)
    else:
        return f"loop condition '{cond}' is not 'var OP bound'"
    error = constant_expr_error(bound, known)
    return f"loop bound '{bound.strip()}' is not constant ({error})" if error else None


def loop_findings(src: Source, known: Constants) -> list[Hit]:
    out = []
    for m in re.finditer(r"\bfor\s*\(", src.kernel):
        open_at = m.end() - 1
        error = _loop_bound(
            src.kernel[open_at + 1 : match_close(src.kernel, open_at, "(", ")")], known
        )
        if error:
            out.append(_hit(m.start(), "loop-bound", error))
    return out


def regex_findings(src: Source) -> list[Hit]:
    bare = src.kernel
    out = [_hit(m.start(), "while-loop", "while loop") for m in re.finditer(r"\bwhile\b", bare)]
    for m in re.finditer(r"\b(new|delete)\b|\b(malloc|calloc|realloc|free)\s*\(", bare):
        out.append(_hit(m.start(), "dynamic-memory", f"'{m.group(1) or m.group(2)}'"))
    for m in re.finditer(r"^[ \t]*#\s*include\s*<([^>]+)>", src.kernel_with_literals, re.M):
        if m.group(1).strip() in BANNED_HEADERS:
            out.append(_hit(m.start(), "stl", f"<{m.group(1).strip()}>"))
    out += [_hit(m.start(), "stl", f"std::{m.group(1)}") for m in re.finditer(STD_BANNED, bare)]
    return out


def _definitions(bare: str) -> dict[str, list[tuple[int, str]]]:
    """Function name -> [(offset, body)] for every definition `name(...) [const] {...}`."""
    found: dict[str, list[tuple[int, str]]] = {}
    for m in re.finditer(rf"\b({IDENT})\s*\(", bare):
        close = match_close(bare, m.end() - 1, "(", ")")
        after = re.match(r"\s*(?:const\b\s*)?(?:noexcept\b\s*)?\{", bare[close + 1 :])
        if m.group(1) in KEYWORDS or after is None:
            continue
        open_at = close + after.end()
        body = bare[open_at + 1 : match_close(bare, open_at, "{", "}")]
        found.setdefault(m.group(1), []).append((m.start(), body))
    return found


def recursion_findings(src: Source) -> list[Hit]:
    defs = _definitions(src.kernel)
    call = re.compile(rf"\b({IDENT})\s*(?:<[^;{{}}()]*>)?\s*\(")
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


def pragma_findings(src: Source) -> list[Hit]:
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
