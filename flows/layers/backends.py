"""What a layer kind hands to the code generators (`flows.codegen`): the parameters of its RTL
template and of its HLS kernel, and how numbers and element types are spelled in generated C++.

A kind's `rtl(cfg, params)` returns a `LayerRTL`: the render context of its template (named by
`LayerKind.template`), its memory images and its sub-blocks (each with a template of its own).
A kind's `hls(cfg, params)` returns an `HlsKernel`. Neither does any I/O: `flows.codegen.rtl`
and `flows.codegen.hls` render and write them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flows.datatypes import DataType, Kind, pack_words
from flows.hwmodel.ranges import width

Memories = dict[str, tuple[list[int], int]]  # file name -> (words, word width)


def memory_image(values, t: DataType, lanes: int) -> tuple[list[int], int]:
    """A memory image of values of type t, `lanes` per word in order (lane 0 in the least
    significant bits): (words, word width), an entry of `Memories`."""
    return pack_words(t.encode(np.asarray(values).reshape(-1)), t.bits, lanes), lanes * t.bits


def joined_image(*images: tuple[list[int], int]) -> tuple[list[int], int]:
    """One memory image whose word k holds word k of every image, the first in the least
    significant bits (several ROMs streamed as one DRAM region, docs/dram.md "Constants")."""
    widths = [w for _, w in images]
    words = []
    for parts in zip(*(ws for ws, _ in images), strict=True):
        word, shift = 0, 0
        for part, w in zip(parts, widths, strict=True):
            word, shift = word | part << shift, shift + w
        words.append(word)
    return words, sum(widths)


@dataclass(frozen=True)
class SubBlock:
    """A module a layer instantiates, written next to it: `<module>.v` from `template`."""

    module: str
    template: str
    context: dict
    memories: Memories = field(default_factory=dict)


@dataclass(frozen=True)
class LayerRTL:
    """A layer's RTL: the render context of its kind's template (or of `template`, a form of the
    kind with a template of its own: an MVAU with its weights in DRAM), its memory images
    {file: (words, width)} and its sub-blocks."""

    context: dict
    memories: Memories = field(default_factory=dict)
    sub_blocks: tuple[SubBlock, ...] = ()
    template: str | None = None  # a form of the kind with its own template (None: the kind's)


@dataclass(frozen=True)
class HlsKernel:
    """What one layer needs from the HLS templates: the top's template file, its one-line summary
    and the template variables. Its streams are the kind's ports (`LayerKind.ports`), named in
    C++ by `flows.codegen.hls.kernel_streams`."""

    template: str
    summary: str
    context: dict[str, Any]


# --- spelling in C++ ------------------------------------------------------------------------------
def policy(t: DataType) -> str:
    """The element policy of hls/include/bnn_common.hpp for a data type."""
    if t.kind == Kind.BIPOLAR:
        return "BipolarElem"
    return f"{'IntElem' if t.kind == Kind.INT else 'UIntElem'}<{t.bits}>"


def word_literal(value: int, bits: int) -> str:
    """A packed word as a C++ initialiser: a hex literal up to 64 bits, else ap_uint's string
    constructor."""
    digits = f"0x{value:0{(bits + 3) // 4}x}"
    if bits > 64:
        return f'ap_uint<{bits}>("{digits}", 16)'
    return digits + ("ULL" if bits > 32 else "")


def int_literal(value: int) -> str:
    return f"{value}LL" if not -(2**31) < value < 2**31 else str(value)


def per_line(literals: list[str]) -> int:
    """How many array entries fit an ~88-character line of generated code."""
    return max(1, min(16, 88 // (max(len(s) for s in literals) + 2)))


def ctype(lo: int, hi: int, at_least: int = 1) -> str:
    """The narrowest ap_uint (a non-negative range) or ap_int (at least 2 bits) holding [lo, hi],
    at least `at_least` bits wide."""
    signed = lo < 0
    bits = width(lo, hi, signed, at_least=2 if signed else 1)
    return f"ap_{'int' if signed else 'uint'}<{max(at_least, bits)}>"


def type_ctype(t: DataType) -> str:
    """The ap_int / ap_uint of a data type's range, at least its width."""
    return ctype(t.min, t.max, t.bits)


def lane_rows(values: np.ndarray, channels: int, pe: int) -> list[list[int]]:
    """Per-channel values -> [pe][nf] (channel nf*PE + pe): a kernel's per-lane ROMs."""
    nf = channels // pe
    return np.asarray(values, dtype=object).reshape(nf, pe).T.tolist()


def cpp_array(name: str, ctype_: str, rows: list[list[int]], why: str) -> dict[str, Any]:
    """A constant 2-D array of a kernel (hls/templates/insta.cpp.j2 `arrays`), with its comment."""
    literals = [[int_literal(int(v)) for v in row] for row in rows]
    return {
        "name": name, "ctype": ctype_, "rows": literals, "why": why,
        "per_line": per_line([v for row in literals for v in row]),
    }  # fmt: skip
