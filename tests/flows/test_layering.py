"""The layering of `flows` (docs/architecture.md, section 2): every import, at module level or
inside a function, goes from a layer to itself or to a layer below, never up; `codegen` and
`estimate` do not import each other; no module imports itself through a circle; only the steps
that export a model import `sw`. Read from the sources (ast), so a lazy import counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Bottom to top: a module may import its own layer and the layers before it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("flows.errors", "flows.datatypes", "flows.fixedpoint", "flows.artifacts",
              "flows.tools", "flows.targets")),
    ("float reference", ("flows.custom_ops",)),
    ("hardware model", ("flows.hwmodel",)),
    ("layers", ("flows.layers",)),
    ("graph", ("flows.graph", "flows.graph_onnx")),
    ("codegen, estimate", ("flows.codegen", "flows.estimate")),
    ("build steps", ("flows.frontend", "flows.transforms", "flows.folding", "flows.explore",
                     "flows.finn_folding", "flows.memtier",
                     "flows.agreement",
                     "flows.report", "flows.reference", "flows.sim", "flows.synth",
                     "flows.vivado", "flows.boards", "flows.hwsteps", "flows.build",
                     "flows.opcount", "flows.hls_lint", "flows.doctor", "flows.run")),
    ("CLI", ("flows.__main__", "flows.pipeline", "flows.opcount.cli")),
]  # fmt: skip
SIBLINGS = ("flows.codegen", "flows.estimate")  # one layer, neither imports the other
SW_IMPORTERS = {"flows.build", "flows.reference", "flows.pipeline", "flows.opcount.cli"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / "flows").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """The modules (of flows or sw) a source file imports: `from a import b` counts as a.b when
    that is a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in MODULES else node.module)
    return {m for m in found if m.split(".")[0] in ("flows", "sw")}


def _prefix(module: str, prefixes: tuple[str, ...]) -> str | None:
    hits = [p for p in prefixes if module == p or module.startswith(p + ".")]
    return max(hits, key=len) if hits else None


def rank(module: str) -> int:
    """The index of the module's layer (the longest matching prefix decides; the root package,
    a docstring only, is at the bottom)."""
    if module == "flows":
        return 0
    best = max(
        ((len(_prefix(module, ps)), i) for i, (_, ps) in enumerate(LAYERS) if _prefix(module, ps)),
        default=None,
    )
    if best is None:
        raise AssertionError(f"{module} is in no layer; add it to LAYERS and docs/architecture.md")
    return best[1]


GRAPH = {m: _imports(p) for m, p in MODULES.items()}


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        rank(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down(module: str) -> None:
    here = rank(module)
    up = [t for t in GRAPH[module] if t.startswith("flows") and rank(t) > here]
    names = [f"{t} ({LAYERS[rank(t)][0]})" for t in sorted(up)]
    assert not up, f"{module} ({LAYERS[here][0]}) imports upwards: {', '.join(names)}"


def test_codegen_and_estimate_are_siblings() -> None:
    for module, targets in GRAPH.items():
        mine = _prefix(module, SIBLINGS)
        other = {_prefix(t, SIBLINGS) for t in targets} - {None, mine}
        assert not (mine and other), f"{module} imports {other}: codegen and estimate are siblings"


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles of a module graph: its strongly connected components of more than one
    module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = stack[stack.index(v) :]
            del stack[stack.index(v) :]
            if len(scc) > 1:
                found.append(sorted(scc))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_circles() -> None:
    assert circles(GRAPH) == [], "import circles (docs/architecture.md, section 2)"


def test_only_the_export_steps_import_sw() -> None:
    users = {m for m, targets in GRAPH.items() if any(t.split(".")[0] == "sw" for t in targets)}
    assert users <= SW_IMPORTERS, f"{sorted(users - SW_IMPORTERS)} import sw (docs/architecture.md)"


def test_the_checks_can_fail() -> None:
    """The rules catch what they are for: the ranks order the layers as written, a module outside
    every layer is reported, and a circle (also through three modules) is found."""
    assert rank("flows.hwmodel.memory") < rank("flows.layers.threshold")
    assert rank("flows.layers.threshold") < rank("flows.graph") < rank("flows.codegen.rtl")
    assert rank("flows.codegen.rtl") == rank("flows.estimate") < rank("flows.build")
    assert rank("flows.opcount") < rank("flows.opcount.cli")
    with pytest.raises(AssertionError, match="in no layer"):
        rank("flows.nowhere")
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []
