"""HLS C++ generation and C-simulation of the compute kernels (DESIGN.md sections 2 and 8).

`emit_hls(node, outdir)` renders, for one layer, a top-level function `<top>.cpp` that bakes the
weights or thresholds into constant arrays and calls a kernel template of `hls/include/`, plus a
C-simulation test bench `<top>_tb.cpp` (never synthesised; flows/hls_lint.py skips `*_tb.cpp`).
The include path of the generated code is `hls/include` (`INCLUDE_DIR`).

`csim(node, inputs, workdir)` compiles both with g++ against hls4ml's open ap_types headers,
streams the inputs through the kernel frame by frame, and returns the outputs decoded to semantic
values in the shape of the golden function's result. Compiled binaries are cached per content hash
(sources, kernel headers, flags, compiler) so that reruns skip the compiler. Kernels with several
streams (the INSTA blocks, flows/codegen/hls_insta.py) use `csim_streams`: one array per input
port, the golden function's list of outputs back.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from flows.codegen.hls_insta import insta_prelu_kernel, insta_threshold_kernel
from flows.codegen.hls_kernel import (
    HlsKernel,
    StreamSpec,
    int_literal,
    per_line,
    policy,
    word_literal,
)
from flows.datatypes import pack_words, unpack_words
from flows.errors import ConfigError, ToolFailedError, ToolMissingError
from flows.graph import Node
from flows.layers.insta import InstaThreshold
from flows.layers.insta_prelu import InstaPReLU
from flows.layers.mvau import IntMVAU, XnorMVAU
from flows.layers.threshold import Threshold, check_thresholds

REPO_ROOT = Path(__file__).resolve().parents[2]
INCLUDE_DIR = REPO_ROOT / "hls" / "include"
TEMPLATE_DIR = REPO_ROOT / "hls" / "templates"
DEFAULT_CACHE_DIR = REPO_ROOT / "build" / "hls_csim"
CXX = "g++"
CXXFLAGS = ("-std=c++14", "-O1")
AP_TYPES_PACKAGE = "hls4ml"
# The ap_types headers cap ap_uint at AP_INT_MAX_W = 1024 bits unless redefined; wider stream or
# weight words are also impractical AXI-Stream widths, so they are refused rather than redefined.
MAX_WORD_BITS = 1024
_INSTALL_HINT = "run `make setup` (installs g++ from Debian and hls4ml==1.3.0 into .venv)"


# --- per-kind emitters: config + params -> HlsKernel ---------------------------------------------


def _check_weights(cfg: XnorMVAU | IntMVAU, params: dict[str, np.ndarray]) -> np.ndarray:
    if "weights" not in params:
        raise ConfigError(f"{cfg.name}: params has no 'weights' array")
    w = np.asarray(params["weights"])
    if w.shape != (cfg.mh, cfg.mw):
        raise ConfigError(f"{cfg.name}: weights have shape {w.shape}, expected {(cfg.mh, cfg.mw)}")
    cfg.weight_type.check(w, f"{cfg.name}: weights")
    return w.astype(np.int64)


def _weight_rows(cfg: XnorMVAU | IntMVAU, params: dict[str, np.ndarray]) -> list[list[str]]:
    """W (mh, mw) -> [pe][nf*SF + sf] packed tiles as C++ literals (lane s = element sf*SIMD+s)."""
    fields = cfg.weight_type.encode(_check_weights(cfg, params))
    tiles = fields.reshape(cfg.nf, cfg.pe, cfg.sf, cfg.simd).transpose(1, 0, 2, 3)
    bits = cfg.weight_type.bits * cfg.simd
    return [
        [word_literal(w, bits) for w in pack_words(row, cfg.weight_type.bits, cfg.simd)]
        for row in tiles.reshape(cfg.pe, -1)
    ]


def _mvau_context(cfg: XnorMVAU | IntMVAU, params: dict[str, np.ndarray]) -> dict[str, Any]:
    rows = _weight_rows(cfg, params)
    return {
        "mw": cfg.mw, "mh": cfg.mh, "simd": cfg.simd, "pe": cfg.pe,
        "num_vectors": cfg.num_vectors, "tiles": cfg.sf * cfg.nf,
        "weight_rows": rows, "per_line": per_line(rows[0]),
    }  # fmt: skip


def _mvau_ports(cfg: XnorMVAU | IntMVAU) -> tuple[StreamSpec, StreamSpec]:
    inp = StreamSpec(cfg.input_type, cfg.simd, cfg.num_vectors, cfg.mw)
    return inp, StreamSpec(cfg.output_type, cfg.pe, cfg.num_vectors, cfg.mh)


def _mvau_summary(cfg: XnorMVAU | IntMVAU) -> str:
    return (
        f"mw={cfg.mw} mh={cfg.mh} simd={cfg.simd} pe={cfg.pe} num_vectors={cfg.num_vectors}, "
        f"{cfg.weight_type} weights x {cfg.input_type} inputs -> {cfg.output_type}"
    )


def _xnor_kernel(cfg: XnorMVAU, params: dict[str, np.ndarray]) -> HlsKernel:
    context = _mvau_context(cfg, params) | {"out_field_bits": cfg.output_type.bits}
    return HlsKernel("xnor_mvau.cpp.j2", _mvau_summary(cfg), *_mvau_ports(cfg), context)


def _int_kernel(cfg: IntMVAU, params: dict[str, np.ndarray]) -> HlsKernel:
    wt = cfg.weight_type
    context = _mvau_context(cfg, params) | {
        "in_policy": policy(cfg.input_type), "weight_policy": policy(wt),
        "out_policy": policy(cfg.output_type), "weight_type": wt.name,
        "weight_bits": wt.bits, "weight_word_bits": wt.bits * cfg.simd,
    }  # fmt: skip
    return HlsKernel("int_mvau.cpp.j2", _mvau_summary(cfg), *_mvau_ports(cfg), context)


def _threshold_kernel(cfg: Threshold, params: dict[str, np.ndarray]) -> HlsKernel:
    if "thresholds" not in params:
        raise ConfigError(f"{cfg.name}: params has no 'thresholds' array")
    t = check_thresholds(cfg, params["thresholds"])
    nf = cfg.channels // cfg.pe
    # thresholds[pe][nf][n] = T[nf*PE + pe][n]
    grouped = t.reshape(nf, cfg.pe, cfg.num_thresholds).transpose(1, 0, 2)
    rows = [[[int_literal(int(v)) for v in ch] for ch in pe_rows] for pe_rows in grouped]
    tt = cfg.threshold_type
    context = {
        "channels": cfg.channels, "pe": cfg.pe, "nf": nf, "num_vectors": cfg.num_vectors,
        "num_thresholds": cfg.num_thresholds, "in_policy": policy(cfg.input_type),
        "threshold_ctype": f"ap_{'int' if tt.signed else 'uint'}<{tt.bits}>",
        "out_field_bits": cfg.output_type.bits, "threshold_rows": rows,
        "per_line": per_line([v for pe_rows in rows for ch in pe_rows for v in ch]),
    }  # fmt: skip
    summary = (
        f"channels={cfg.channels} pe={cfg.pe} num_vectors={cfg.num_vectors}, "
        f"{cfg.num_thresholds} {tt} thresholds on {cfg.input_type} -> {cfg.output_type}"
    )
    inp = StreamSpec(cfg.input_type, cfg.pe, cfg.num_vectors, cfg.channels)
    out = StreamSpec(cfg.output_type, cfg.pe, cfg.num_vectors, cfg.channels)
    return HlsKernel("threshold.cpp.j2", summary, inp, out, context)


# The explicit registry: config class -> emitter. A kind without an entry has no HLS kernel.
HLS_EMITTERS: dict[type, Callable[[Any, dict[str, np.ndarray]], HlsKernel]] = {
    XnorMVAU: _xnor_kernel,
    IntMVAU: _int_kernel,
    Threshold: _threshold_kernel,
    InstaThreshold: insta_threshold_kernel,
    InstaPReLU: insta_prelu_kernel,
}


# --- rendering -----------------------------------------------------------------------------------


def hls_kernel(node: Node) -> HlsKernel:
    """The HlsKernel of a graph node; ConfigError if its kind has no HLS kernel or too wide words."""
    emitter = HLS_EMITTERS.get(type(node.config))
    if emitter is None:
        supported = ", ".join(c.__name__ for c in HLS_EMITTERS)
        raise ConfigError(
            f"{node.config.name}: {type(node.config).__name__} has no HLS kernel; "
            f"HLS kernels exist for {supported} (use the RTL backend for this layer)"
        )
    kernel = emitter(node.config, node.params)
    extra = [(f"{name} stream word", spec.word_bits)
             for name, spec in (*kernel.more_inputs, *kernel.more_outputs)]  # fmt: skip
    for what, bits in (
        ("input stream word", kernel.inp.word_bits),
        ("output stream word", kernel.out.word_bits),
        ("weight word", kernel.context.get("weight_word_bits", 0)),
        *extra,
    ):
        if bits > MAX_WORD_BITS:
            raise ConfigError(
                f"{node.config.name}: {what} of {bits} bits exceeds the {MAX_WORD_BITS}-bit "
                "ap_uint limit of the HLS headers; lower SIMD or PE"
            )
    return kernel


# Kernel templates of hls/include and main: a top-level function must not take these names.
_RESERVED = frozenset(
    {"XnorMVAU", "IntMVAU", "Threshold", "main", "InstaThreshold", "InstaThresholdStat",
     "InstaPReLUOwn", "InstaPReLUReuse"}
)  # fmt: skip


def top_name(layer: str) -> str:
    """A C identifier for a layer's top-level function, distinct from the kernel templates."""
    ident = re.sub(r"\W", "_", layer)
    if not ident or ident[0].isdigit() or ident in _RESERVED:
        ident = f"layer_{ident}"
    return ident


@functools.cache
def _environment() -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(str(TEMPLATE_DIR))
    return jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
    )


def render_hls(node: Node) -> dict[str, str]:
    """File name -> C++ text: the top-level kernel `<top>.cpp` and its test bench `<top>_tb.cpp`."""
    kernel = hls_kernel(node)
    top = top_name(node.config.name)
    d = kernel.context | {
        "top": top, "layer": node.config.name, "kind": type(node.config).__name__,
        "template": kernel.template, "summary": kernel.summary,
        "in_bits": kernel.inp.word_bits, "in_words": kernel.inp.words_per_frame,
        "in_lanes": kernel.inp.lanes, "in_type": kernel.inp.dtype.name,
        "out_bits": kernel.out.word_bits, "out_words": kernel.out.words_per_frame,
        "out_lanes": kernel.out.lanes, "out_type": kernel.out.dtype.name,
        "inputs": [_port(name, spec) for name, spec in kernel.inputs],
        "outputs": [_port(name, spec) for name, spec in kernel.outputs],
    }  # fmt: skip
    env = _environment()
    return {
        f"{top}.cpp": env.get_template(kernel.template).render(d=d),
        f"{top}_tb.cpp": env.get_template(kernel.testbench).render(d=d),
    }


def _port(name: str, spec: StreamSpec) -> dict[str, Any]:
    return {"name": name, "bits": spec.word_bits, "words": spec.words_per_frame,
            "lanes": spec.lanes, "type": spec.dtype.name}  # fmt: skip


def emit_hls(node: Node, outdir: Path) -> list[Path]:
    """Write `<top>.cpp` (synthesisable, include path hls/include) and `<top>_tb.cpp` to outdir."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_hls(node).items():
        path = outdir / name
        path.write_text(text)
        paths.append(path)
    return paths


# --- C-simulation --------------------------------------------------------------------------------


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


def _check_stream(node: Node, port: str, spec: StreamSpec, values: np.ndarray) -> np.ndarray:
    what = "C-simulation inputs" if port == "in" else f"C-simulation input {port}"
    x = np.asarray(values)
    shape = (spec.num_vectors, spec.channels)
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
    kernel = hls_kernel(node)
    if kernel.more_inputs or kernel.more_outputs:
        raise ConfigError(
            f"{node.config.name}: the {type(node.config).__name__} kernel has "
            f"{len(kernel.inputs)} input and {len(kernel.outputs)} output streams; "
            "use csim_streams"
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
    per input port (in the order of `HlsKernel.inputs`), one decoded array per output port, as
    the golden function's list of outputs. Otherwise as `csim`."""
    kernel = hls_kernel(node)
    if len(inputs) != len(kernel.inputs):
        raise ConfigError(
            f"{node.config.name}: the kernel has {len(kernel.inputs)} input stream(s) "
            f"({', '.join(n for n, _ in kernel.inputs)}), got {len(inputs)} arrays"
        )
    xs = [
        _check_stream(node, n, spec, x) for (n, spec), x in zip(kernel.inputs, inputs, strict=True)
    ]
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
    in_txts = [workdir / f"{top}_{name}.txt" for name, _ in kernel.inputs]
    out_txts = [workdir / f"{top}_{name}.txt" for name, _ in kernel.outputs]
    for path, (_, spec), x in zip(in_txts, kernel.inputs, xs, strict=True):
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
        for (name, spec), path in zip(kernel.outputs, out_txts, strict=True)
    ]


def _read_stream(top: str, port: str, spec: StreamSpec, path: Path, frames: int) -> np.ndarray:
    out_words = [int(line, 16) for line in path.read_text().split()]
    if len(out_words) != frames * spec.words_per_frame:
        where = "" if port == "out" else f" on {port}"
        raise ToolFailedError(
            f"C-simulation of {top} wrote {len(out_words)} words{where}, "
            f"expected {frames * spec.words_per_frame}"
        )
    values = spec.dtype.decode(unpack_words(out_words, spec.dtype.bits, spec.lanes))
    return values.reshape(frames, spec.num_vectors, spec.channels)
