"""What a per-kind HLS emitter returns (`HlsKernel`, its stream ports) and the C++ literal helpers
the emitters share; rendered and C-simulated by flows/codegen/hls.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flows.datatypes import DataType, Kind


@dataclass(frozen=True)
class StreamSpec:
    """One kernel port: element type, lanes per word and the (num_vectors, channels) per frame."""

    dtype: DataType
    lanes: int
    num_vectors: int
    channels: int

    @property
    def word_bits(self) -> int:
        return self.dtype.bits * self.lanes

    @property
    def words_per_frame(self) -> int:
        return self.num_vectors * self.channels // self.lanes


@dataclass(frozen=True)
class HlsKernel:
    """What one layer needs from the templates: template file, ports and template variables.

    `inp` and `out` are the ports `in` and `out`; a kernel with more streams names them in
    `more_inputs` / `more_outputs` (after `in` resp. `out`, in the order of the top's arguments)
    and uses the multi-port test bench.
    """

    template: str
    summary: str
    inp: StreamSpec
    out: StreamSpec
    context: dict[str, Any]
    more_inputs: tuple[tuple[str, StreamSpec], ...] = ()
    more_outputs: tuple[tuple[str, StreamSpec], ...] = ()

    @property
    def inputs(self) -> list[tuple[str, StreamSpec]]:
        return [("in", self.inp), *self.more_inputs]

    @property
    def outputs(self) -> list[tuple[str, StreamSpec]]:
        return [("out", self.out), *self.more_outputs]

    @property
    def testbench(self) -> str:
        single = not (self.more_inputs or self.more_outputs)
        return "csim_tb.cpp.j2" if single else "csim_streams_tb.cpp.j2"


def policy(t: DataType) -> str:
    """The element policy of hls/include/bnn_common.hpp for a data type."""
    if t.kind == Kind.BIPOLAR:
        return "BipolarElem"
    return f"{'IntElem' if t.kind == Kind.INT else 'UIntElem'}<{t.bits}>"


def word_literal(value: int, bits: int) -> str:
    """A packed word as a C++ initialiser: a hex literal up to 64 bits, else ap_uint's string ctor."""
    digits = f"0x{value:0{(bits + 3) // 4}x}"
    if bits > 64:
        return f'ap_uint<{bits}>("{digits}", 16)'
    return digits + ("ULL" if bits > 32 else "")


def int_literal(value: int) -> str:
    return f"{value}LL" if not -(2**31) < value < 2**31 else str(value)


def per_line(literals: list[str]) -> int:
    """How many array entries fit an ~88-character line of generated code."""
    return max(1, min(16, 88 // (max(len(s) for s in literals) + 2)))
