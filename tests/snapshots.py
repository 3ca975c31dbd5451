"""Snapshots of generated code, one mechanism for the RTL, the HLS and the board shell.

A `SnapshotSet` names a folder of stored files and the function that renders them from the current
emitters and templates. The tests only compare (`check`): the same file names, byte for byte, and
a failure says how to regenerate. They never write. After an intended change of an emitter or a
template, regenerate from the repository root, review the diff and commit it with the change:

    make snapshots                                  # every set
    .venv/bin/python -m tests.snapshots hls insta   # the named sets only

The sets are defined next to their tests (`SNAPSHOTS` in each module of `MODULES`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MODULES = ("tests.hw.test_snapshots", "tests.hls.test_snapshots", "tests.flows.boards.test_ulx3s")
REGENERATE = "make snapshots"


@dataclass(frozen=True)
class SnapshotSet:
    """The stored files of `folder` and the function rendering them now ({file name: text})."""

    name: str
    folder: Path
    render: Callable[[], dict[str, str]]


def emitted(emit: Callable[[Path], object]) -> dict[str, str]:
    """{file name: text} of every file `emit(folder)` writes into an empty folder."""
    with tempfile.TemporaryDirectory() as tmp:
        emit(Path(tmp))
        return {p.name: p.read_text() for p in sorted(Path(tmp).iterdir()) if p.is_file()}


def check(snapshot: SnapshotSet) -> None:
    """AssertionError unless the stored files equal the rendered ones, names and bytes."""
    now = snapshot.render()
    folder = snapshot.folder
    stored = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    hint = f"if the change is intended, run `{REGENERATE}` and commit the diff"
    assert sorted(now) == stored, (
        f"snapshot {snapshot.name}: generated files {sorted(now)} but {folder} holds {stored}; "
        f"{hint}"
    )
    for name, text in now.items():
        assert text == (folder / name).read_text(), (
            f"snapshot {snapshot.name}: {name} differs from {folder / name}; {hint}"
        )


def all_sets() -> list[SnapshotSet]:
    return [s for m in MODULES for s in importlib.import_module(m).SNAPSHOTS]


def update(snapshot: SnapshotSet) -> None:
    """Rewrite the stored files of a set (and drop files it no longer renders)."""
    now = snapshot.render()
    snapshot.folder.mkdir(parents=True, exist_ok=True)
    for old in snapshot.folder.iterdir():
        if old.is_file() and old.name not in now:
            old.unlink()
    for name, text in now.items():
        (snapshot.folder / name).write_text(text)
    print(f"{snapshot.name}: {len(now)} file(s) in {snapshot.folder}")


def main(argv: list[str] | None = None) -> int:
    sets = {s.name: s for s in all_sets()}
    parser = argparse.ArgumentParser(prog="python -m tests.snapshots", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"sets to regenerate (default all: {list(sets)})")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in sets]
    if unknown:
        print(f"error: unknown snapshot set(s) {unknown}; known: {list(sets)}", file=sys.stderr)
        return 2
    for name in args.names or sets:
        update(sets[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
