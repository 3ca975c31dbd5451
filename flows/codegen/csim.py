"""C-simulation of the HLS kernels (docs/hardware.md, "HLS"): compile a layer's generated top and
test bench with g++ against hls4ml's open ap_types headers, stream inputs through it frame by
frame, and return the outputs decoded to semantic values in the shape of the golden function's
result.

Compiled binaries are cached per content hash (sources, kernel headers, flags, compiler) so that
reruns skip the compiler. Kernels with several streams (the INSTA blocks) use `csim_streams`: one
array per input port, the golden function's list of outputs back.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from flows.codegen.hls import INCLUDE_DIR, emit_hls, hls_kind, kernel_streams, top_name
from flows.codegen.render import REPO_ROOT
from flows.datatypes import pack_words, unpack_words
from flows.errors import ConfigError, ToolFailedError, ToolMissingError
from flows.graph import Node
from flows.hwmodel.ports import Port

DEFAULT_CACHE_DIR = REPO_ROOT / "build" / "hls_csim"
CXX = "g++"
CXXFLAGS = ("-std=c++14", "-O1")
AP_TYPES_PACKAGE = "hls4ml"
_INSTALL_HINT = "run `make setup` (installs g++ from Debian and hls4ml==1.3.0 into .venv)"


def ap_types_dir() -> Path:
    """hls4ml's bundled ap_types folder (ap_int.h, hls_stream.h); ToolMissingError if absent."""
    spec = importlib.util.find_spec(AP_TYPES_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ToolMissingError(
            f"the ap_types headers come with the Python package {AP_TYPES_PACKAGE}, which is not "
            f"installed; {_INSTALL_HINT}"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "templates" / "vivado" / "ap_types"
    for header in ("ap_int.h", "hls_stream.h"):
        if not (folder / header).is_file():
            raise ToolMissingError(f"{folder / header} is missing; {_INSTALL_HINT}")
    return folder


def find_cxx() -> str:
    """Absolute path of the C++ compiler; ToolMissingError if it is not on PATH."""
    path = shutil.which(CXX)
    if path is None:
        raise ToolMissingError(
            f"{CXX} not found on PATH; HLS C-simulation needs it; {_INSTALL_HINT}"
        )
    return path


@functools.cache
def _compiler_id(cxx: str) -> str:
    proc = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60)
    return proc.stdout.splitlines()[0] if proc.stdout else cxx


def _cache_key(sources: dict[str, str], cxx: str, headers: Path) -> str:
    """Content hash of everything that goes into a C-simulation binary."""
    key = hashlib.sha256()
    for part in (_compiler_id(cxx), " ".join(CXXFLAGS), str(headers)):
        key.update(part.encode() + b"\0")
    for name, text in sorted(sources.items()):
        key.update(name.encode() + b"\0" + text.encode() + b"\0")
    for header in sorted(INCLUDE_DIR.glob("*.hpp")):
        key.update(header.name.encode() + b"\0" + header.read_bytes() + b"\0")
    return key.hexdigest()[:20]


def _build(sources: dict[str, str], cache_dir: Path) -> Path:
    """Compile the sources into a cached binary named by their content hash; return its path.

    Safe under concurrent test workers: each build happens in its own temporary folder and the
    binary is published with an atomic rename, so a reader never sees a half-written file. The
    sources compile in parallel (kernel and test bench take about as long), then link.
    """
    cxx, headers = find_cxx(), ap_types_dir()
    top = next(iter(sources)).removesuffix(".cpp")
    binary = Path(cache_dir) / f"{top}-{_cache_key(sources, cxx, headers)}"
    if binary.is_file():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{top}-", dir=binary.parent))
    try:
        for name, text in sources.items():
            (tmp / name).write_text(text)
        flags = [*CXXFLAGS, "-I", str(INCLUDE_DIR), "-isystem", str(headers)]
        objects = [str(tmp / f"{name}.o") for name in sources]
        compiles = [
            subprocess.Popen(
                [cxx, *flags, "-c", str(tmp / name), "-o", obj],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )  # fmt: skip
            for name, obj in zip(sources, objects, strict=True)
        ]
        try:
            logs = [proc.communicate(timeout=300)[0] for proc in compiles]
        finally:
            for proc in compiles:
                proc.kill()  # no-op for a finished process; stops the others after a timeout
                proc.wait()
        for proc, log in zip(compiles, logs, strict=True):
            _check_compiler(top, proc.returncode, log)
        link = subprocess.run(
            [cxx, *objects, "-o", str(tmp / "sim")], capture_output=True, text=True, timeout=300
        )
        _check_compiler(top, link.returncode, link.stdout + link.stderr)
        os.replace(tmp / "sim", binary)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return binary


def _check_compiler(top: str, returncode: int, log: str) -> None:
    if returncode != 0:
        tail = "\n".join(log.strip().splitlines()[-25:])
        raise ToolFailedError(f"{CXX} failed to compile the C-simulation of {top}:\n{tail}")


def _check_stream(node: Node, port: str, spec: Port, values: np.ndarray) -> np.ndarray:
    what = "C-simulation inputs" if port == "in" else f"C-simulation input {port}"
    x = np.asarray(values)
    shape = (spec.vectors, spec.channels)
    if x.ndim != 3 or x.shape[1:] != shape or x.shape[0] < 1:
        raise ConfigError(
            f"{node.config.name}: {what} have shape {x.shape}, "
            f"expected (frames, {shape[0]}, {shape[1]})"
        )
    spec.dtype.check(x, f"{node.config.name}: {what}")
    return x.astype(np.int64)


def csim(
    node: Node, inputs: np.ndarray, workdir: Path, *, cache_dir: Path | None = None
) -> np.ndarray:
    """C-simulate a node's HLS kernel on (frames, num_vectors, channels) semantic inputs.

    Emits the sources into workdir, compiles them (or reuses the cached binary), runs every frame
    through the kernel in one process and returns the outputs as semantic values, shaped
    (frames, num_vectors, out_channels) like the golden function's result. Raises ToolMissingError
    without g++ or the ap_types headers, ToolFailedError if compilation or the simulation fails.
    For a kernel with several input or output streams use `csim_streams`.
    """
    hls_kind(node.config)
    ins, outs = kernel_streams(node.config)
    if len(ins) > 1 or len(outs) > 1:
        raise ConfigError(
            f"{node.config.name}: the {type(node.config).__name__} kernel has "
            f"{len(ins)} input and {len(outs)} output streams; use csim_streams"
        )
    return csim_streams(node, [inputs], workdir, cache_dir=cache_dir)[0]


def csim_streams(
    node: Node,
    inputs: list[np.ndarray],
    workdir: Path,
    *,
    cache_dir: Path | None = None,
) -> list[np.ndarray]:
    """C-simulate a kernel with any number of streams: one (frames, num_vectors, channels) array
    per input port (in the order of `kernel_streams`), one decoded array per output port, as
    the golden function's list of outputs. Otherwise as `csim`."""
    hls_kind(node.config)
    ins, outs = kernel_streams(node.config)
    if len(inputs) != len(ins):
        raise ConfigError(
            f"{node.config.name}: the kernel has {len(ins)} input stream(s) "
            f"({', '.join(n for n, _ in ins)}), got {len(inputs)} arrays"
        )
    xs = [_check_stream(node, n, spec, x) for (n, spec), x in zip(ins, inputs, strict=True)]
    frames = xs[0].shape[0]
    if any(x.shape[0] != frames for x in xs):
        raise ConfigError(
            f"{node.config.name}: C-simulation inputs hold different numbers of frames: "
            f"{[x.shape[0] for x in xs]}"
        )
    workdir = Path(workdir)
    sources = {p.name: p.read_text() for p in emit_hls(node, workdir)}
    binary = _build(sources, Path(cache_dir) if cache_dir else DEFAULT_CACHE_DIR)

    top = top_name(node.config.name)
    in_txts = [workdir / f"{top}_{name}.txt" for name, _ in ins]
    out_txts = [workdir / f"{top}_{name}.txt" for name, _ in outs]
    for path, (_, spec), x in zip(in_txts, ins, xs, strict=True):
        words = pack_words(spec.dtype.encode(x).reshape(-1), spec.dtype.bits, spec.lanes)
        path.write_text("".join(f"{w:x}\n" for w in words))
    proc = subprocess.run(
        [str(binary), *map(str, in_txts), *map(str, out_txts)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = (proc.stdout + proc.stderr).strip()
    # hls::stream's C model only warns on a read from an empty stream: treat it as a failure.
    if proc.returncode != 0 or "WARNING: Hls::stream" in log:
        raise ToolFailedError(
            f"C-simulation of {top} failed (exit {proc.returncode}):\n{log[-2000:]}"
        )
    return [
        _read_stream(top, name, spec, path, frames)
        for (name, spec), path in zip(outs, out_txts, strict=True)
    ]


def _read_stream(top: str, port: str, spec: Port, path: Path, frames: int) -> np.ndarray:
    out_words = [int(line, 16) for line in path.read_text().split()]
    if len(out_words) != frames * spec.words:
        where = "" if port == "out" else f" on {port}"
        raise ToolFailedError(
            f"C-simulation of {top} wrote {len(out_words)} words{where}, "
            f"expected {frames * spec.words}"
        )
    values = spec.dtype.decode(unpack_words(out_words, spec.dtype.bits, spec.lanes))
    return values.reshape(frames, spec.vectors, spec.channels)
