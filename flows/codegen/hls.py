"""HLS C++ of the compute kernels: the top-level function and its C-simulation test bench.

`emit_hls(node, outdir)` renders, for one layer, a top-level function `<top>.cpp` that bakes the
weights or thresholds into constant arrays and calls a kernel template of `hls/include/` (the
kind's `hls(cfg, params)` gives the template, ports and parameters), plus a C-simulation test
bench `<top>_tb.cpp` (never synthesised; flows/hls_lint/ skips `*_tb.cpp`). The include path of
the generated code is `hls/include` (`INCLUDE_DIR`). `flows.codegen.csim` compiles and runs them.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jinja2

from flows.codegen.render import REPO_ROOT
from flows.errors import ConfigError
from flows.graph import Node
from flows.hwmodel.ports import Port, short_name
from flows.layers import LayerKind, all_kinds, kind_of
from flows.layers.backends import HlsKernel

INCLUDE_DIR = REPO_ROOT / "hls" / "include"
TEMPLATE_DIR = REPO_ROOT / "hls" / "templates"
# The ap_types headers cap ap_uint at AP_INT_MAX_W = 1024 bits unless redefined; wider stream or
# weight words are also impractical AXI-Stream widths, so they are refused rather than redefined.
MAX_WORD_BITS = 1024


def hls_kind(config: object) -> LayerKind:
    """The kind of a config that has an HLS kernel; ConfigError naming the kinds that have one."""
    kind = kind_of(config)
    if kind.hls is None:
        supported = ", ".join(k.name for k in all_kinds() if k.hls is not None)
        raise ConfigError(
            f"{config.name}: {kind.name} has no HLS kernel; "
            f"HLS kernels exist for {supported} (use the RTL backend for this layer)"
        )
    return kind


def hls_kernel(node: Node) -> HlsKernel:
    """The HlsKernel of a graph node; ConfigError if its kind has no HLS kernel or too wide words."""
    kernel = hls_kind(node.config).hls(node.config, node.params)
    inputs, outputs = kernel_streams(node.config)
    (_, inp), (_, out) = inputs[0], outputs[0]
    for what, bits in (
        ("input stream word", inp.bits),
        ("output stream word", out.bits),
        ("weight word", kernel.context.get("weight_word_bits", 0)),
        *((f"{name} stream word", p.bits) for name, p in [*inputs[1:], *outputs[1:]]),
    ):
        if bits > MAX_WORD_BITS:
            raise ConfigError(
                f"{node.config.name}: {what} of {bits} bits exceeds the {MAX_WORD_BITS}-bit "
                "ap_uint limit of the HLS headers; lower SIMD or PE"
            )
    return kernel


def kernel_streams(config: object) -> tuple[list[tuple[str, Port]], list[tuple[str, Port]]]:
    """The streams of a kind's HLS top, in the order of its arguments: its ports
    (`LayerKind.ports`) under their short names (first input `in`, first output `out`)."""
    ins, outs = kind_of(config).ports(config)
    return (
        [(short_name(n), p) for n, p in ins.items()],
        [(short_name(n), p) for n, p in outs.items()],
    )


# A function template, struct or function defined at namespace scope of a header in hls/include.
_DEFINED = re.compile(
    r"^(?:template\s*<[^;{]*?>\s*)?(?:struct|class|[A-Za-z_][\w:<>, *&]*?)\s+(\w+)\s*[({]",
    re.M,
)


@functools.cache
def header_names() -> frozenset[str]:
    """Every name the headers of hls/include define at namespace scope (kernels, helpers,
    element policies): a generated top-level function must not take one of them."""
    names: set[str] = set()
    for header in INCLUDE_DIR.glob("*.hpp"):
        text = re.sub(r"//[^\n]*|/\*.*?\*/", "", header.read_text(), flags=re.S)
        names.update(_DEFINED.findall(text))
    return frozenset(names)


def top_name(layer: str) -> str:
    """A C identifier for a layer's top-level function, distinct from every name of the headers
    (the kernel templates, their helpers) and from `main`."""
    ident = re.sub(r"\W", "_", layer)
    if not ident or ident[0].isdigit() or ident in header_names() | {"main"}:
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
    inputs, outputs = kernel_streams(node.config)
    (_, inp), (_, out) = inputs[0], outputs[0]
    top = top_name(node.config.name)
    d = kernel.context | {
        "top": top, "layer": node.config.name, "kind": type(node.config).__name__,
        "template": kernel.template, "summary": kernel.summary,
        "in_bits": inp.bits, "in_words": inp.words, "in_lanes": inp.lanes,
        "in_type": inp.dtype.name, "out_bits": out.bits, "out_words": out.words,
        "out_lanes": out.lanes, "out_type": out.dtype.name,
        "inputs": [_port(name, spec) for name, spec in inputs],
        "outputs": [_port(name, spec) for name, spec in outputs],
    }  # fmt: skip
    # One input and one output: the single-stream test bench; more: the multi-port one.
    single = len(inputs) == len(outputs) == 1
    testbench = "csim_tb.cpp.j2" if single else "csim_streams_tb.cpp.j2"
    env = _environment()
    return {
        f"{top}.cpp": env.get_template(kernel.template).render(d=d),
        f"{top}_tb.cpp": env.get_template(testbench).render(d=d),
    }


def _port(name: str, spec: Port) -> dict[str, Any]:
    return {"name": name, "bits": spec.bits, "words": spec.words,
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
