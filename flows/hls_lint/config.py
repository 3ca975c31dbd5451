"""What the lint allows and bans (the decisions of the package docstring) and what a finding is."""

from __future__ import annotations

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
STD_BANNED = (
    r"\bstd\s*::\s*(vector|map|multimap|string|list|deque|set|multiset|unordered_\w+|queue|"
    r"priority_queue|stack|forward_list|shared_ptr|unique_ptr|function|cout|cerr|[io]?fstream)\b"
)
TESTBENCH_SUFFIX = "_tb.cpp"
KEYWORDS = frozenset(
    {"if", "for", "while", "switch", "catch", "return", "sizeof", "decltype", "static_assert",
     "alignof", "defined", "do", "else", "case", "new", "delete"}
)  # fmt: skip
CONST_WORDS = frozenset(
    {"sizeof", "unsigned", "signed", "int", "long", "short", "char", "bool", "true", "false",
     "static_cast", "size_t"}
)  # fmt: skip
IDENT = r"[A-Za-z_]\w*"


@dataclass(frozen=True)
class Finding:
    """One rule violation at a source line."""

    file: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.rule}] {self.message}"
