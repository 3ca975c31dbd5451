"""The lint's view of a C++ source: comments and strings blanked, C-simulation-only code removed,
line numbers kept; and which names are compile-time constants (for the loop-bound rule)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flows.hls_lint.config import CONST_WORDS, IDENT


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


def match_close(code: str, start: int, open_c: str, close_c: str) -> int:
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


Hit = tuple[int, str, str]  # (offset in the source text, rule, message)


@dataclass(frozen=True)
class Source:
    """The synthesis view of one file: comments, literal contents and csim-only lines blanked."""

    kernel: str
    kernel_with_literals: str  # the same view with string literals kept (include names)
    comment_lines: frozenset[int]
    line_starts: tuple[int, ...]

    def line(self, offset: int) -> int:
        return bisect_right(self.line_starts, offset)

    def offset(self, line: int) -> int:
        return self.line_starts[line - 1]


def prepare(text: str) -> Source:
    keep, bare, comments = _strip(text)
    csim = _csim_only_lines(keep)
    starts = (0, *(m.end() for m in re.finditer("\n", text)))
    return Source(_blank_lines(bare, csim), _blank_lines(keep, csim), frozenset(comments), starts)


# --- what is a compile-time constant -------------------------------------------------------------


@dataclass
class Constants:
    names: set[str]
    functions: set[str]  # constexpr functions


def _template_params(code: str) -> set[str]:
    names = set()
    for m in re.finditer(r"\btemplate\s*<", code):
        body = code[m.end() : match_close(code, m.end() - 1, "<", ">")]
        kinds = r"(?:unsigned\s+|signed\s+)?(?:typename|class|unsigned|signed|int|long|bool|size_t)"
        names.update(re.findall(rf"\b{kinds}\s+({IDENT})", body))
    return names


def _collect_constants(code: str, known: Constants) -> None:
    """Add the compile-time names declared in `code` to `known` (in place)."""
    known.names |= _template_params(code)
    for m in re.finditer(rf"\bconstexpr\b[^;{{}}=()]*?\b({IDENT})\s*(\(|=|\{{)", code):
        (known.functions if m.group(2) == "(" else known.names).add(m.group(1))
    for m in re.finditer(rf"^[ \t]*#\s*define\s+({IDENT})", code, re.M):
        known.names.add(m.group(1))
    for m in re.finditer(r"\benum\b[^{;]*\{([^}]*)\}", code):
        known.names |= {e.split("=")[0].strip() for e in m.group(1).split(",") if e.strip()}
    # `const` values with a constant initialiser, to a fixpoint (one may use another)
    decls = re.findall(rf"\bconst\b\s+[\w:<>, ]*?\b({IDENT})\s*=\s*([^;,{{}}]+)[;,]", code)
    changed = True
    while changed:
        changed = False
        for name, init in decls:
            if name not in known.names and constant_expr_error(init, known) is None:
                known.names.add(name)
                changed = True


def constant_expr_error(expr: str, known: Constants) -> str | None:
    """None if `expr` is a compile-time constant expression, else what makes it runtime."""
    expr = re.sub(r"\bsizeof\s*\([^()]*\)", "1", expr)  # sizeof of anything is constant
    tokens = re.findall(rf"{IDENT}(?:\s*::\s*{IDENT})+|{IDENT}|\d[\w.']*|->|\S", expr)
    if not tokens:
        return "it is empty"
    for k, tok in enumerate(tokens):
        following = tokens[k + 1] if k + 1 < len(tokens) else ""
        if tok in (".", "->"):
            return "it reads a member of a runtime object"
        if "::" in tok or tok[0].isdigit() or tok in CONST_WORDS or tok in known.names:
            continue
        if re.fullmatch(IDENT, tok):
            if tok in known.functions and following == "(":
                continue
            kind = "a call of a non-constexpr function" if following == "(" else "a runtime value"
            return f"'{tok}' is {kind}"
    return None


def constants_of(code: str, path: Path | None, include_dirs: Iterable[Path]) -> Constants:
    """Constants of `code` and of the quoted includes it reaches (found on include_dirs)."""
    known, seen, queue = Constants(set(), set()), set(), [(code, path)]
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
