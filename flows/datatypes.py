"""Integer data types of the dataflow graph and their stream encoding (docs/numerics.md, section 1).

Values in the graph are *semantic* integers: a BIPOLAR element is -1 or +1, an INT(n) element is a
two's-complement integer. The stream encoding (what the hardware carries) is a property of the type:
BIPOLAR is one bit (1 means +1, 0 means -1), UINT(n)/INT(n) are n-bit fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from flows.errors import ConfigError, NumericContractError


class Kind(StrEnum):
    BIPOLAR = "bipolar"
    UINT = "uint"
    INT = "int"


@dataclass(frozen=True)
class DataType:
    """An integer element type: BIPOLAR, UINT(bits) or INT(bits)."""

    kind: Kind
    bits: int

    def __post_init__(self) -> None:
        if self.kind == Kind.BIPOLAR and self.bits != 1:
            raise ConfigError("BIPOLAR has exactly 1 bit")
        if not 1 <= self.bits <= 62:
            raise ConfigError(f"{self.kind.value} width {self.bits} is outside 1..62 bits")
        if self.kind == Kind.INT and self.bits < 2:
            raise ConfigError("INT needs at least 2 bits; use BIPOLAR for one signed bit")

    @property
    def signed(self) -> bool:
        return self.kind != Kind.UINT

    @property
    def min(self) -> int:
        if self.kind == Kind.BIPOLAR:
            return -1
        return -(1 << (self.bits - 1)) if self.kind == Kind.INT else 0

    @property
    def max(self) -> int:
        if self.kind == Kind.BIPOLAR:
            return 1
        return (1 << (self.bits - 1)) - 1 if self.kind == Kind.INT else (1 << self.bits) - 1

    @property
    def bounds(self) -> tuple[int, int]:
        """(min, max)."""
        return self.min, self.max

    @property
    def name(self) -> str:
        return "BIPOLAR" if self.kind == Kind.BIPOLAR else f"{self.kind.value.upper()}{self.bits}"

    def __str__(self) -> str:
        return self.name

    def allowed(self, values: np.ndarray) -> bool:
        """True if every value is representable in this type."""
        v = np.asarray(values)
        if self.kind == Kind.BIPOLAR:
            return bool(np.all((v == 1) | (v == -1)))
        return bool(np.all((v >= self.min) & (v <= self.max) & (v == np.round(v))))

    def check(self, values: np.ndarray, what: str) -> None:
        """Raise NumericContractError naming `what` if a value is not representable."""
        if not self.allowed(values):
            v = np.asarray(values)
            raise NumericContractError(
                f"{what} holds values outside {self.name} (range seen {v.min()}..{v.max()})"
            )

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Semantic values -> unsigned stream fields (uint64)."""
        v = np.asarray(values, dtype=np.int64)
        if self.kind == Kind.BIPOLAR:
            return (v > 0).astype(np.uint64)
        return (v & ((1 << self.bits) - 1)).astype(np.uint64)

    def decode(self, fields: np.ndarray) -> np.ndarray:
        """Unsigned stream fields -> semantic values (int64)."""
        f = np.asarray(fields).astype(np.int64) & ((1 << self.bits) - 1)
        if self.kind == Kind.BIPOLAR:
            return 2 * f - 1
        if self.kind == Kind.INT:
            return np.where(f >= (1 << (self.bits - 1)), f - (1 << self.bits), f)
        return f


BIPOLAR = DataType(Kind.BIPOLAR, 1)


def UINT(bits: int) -> DataType:  # noqa: N802 - reads like the type it builds
    return DataType(Kind.UINT, bits)


def INT(bits: int) -> DataType:  # noqa: N802
    return DataType(Kind.INT, bits)


def parse(name: str) -> DataType:
    """'BIPOLAR', 'UINT8', 'INT12' -> DataType (for JSON round trips)."""
    n = name.upper()
    if n == "BIPOLAR":
        return BIPOLAR
    for prefix, make in (("UINT", UINT), ("INT", INT)):
        if n.startswith(prefix) and n[len(prefix) :].isdigit():
            return make(int(n[len(prefix) :]))
    raise ConfigError(f"unknown data type {name!r}; expected BIPOLAR, UINT<n> or INT<n>")


def pack_words(fields: np.ndarray, bits: int, lanes: int) -> list[int]:
    """Pack a flat sequence of encoded fields into stream words, lane 0 in the LSBs."""
    f = np.asarray(fields, dtype=np.uint64).reshape(-1)
    if f.size % lanes:
        raise ConfigError(f"{f.size} elements do not fill words of {lanes} lanes")
    words = []
    for chunk in f.reshape(-1, lanes):
        w = 0
        for i, x in enumerate(chunk):
            w |= int(x) << (i * bits)
        words.append(w)
    return words


def unpack_words(words: list[int], bits: int, lanes: int) -> np.ndarray:
    """Inverse of pack_words: stream words -> flat array of encoded fields (uint64)."""
    mask = (1 << bits) - 1
    out = [(int(w) >> (i * bits)) & mask for w in words for i in range(lanes)]
    return np.array(out, dtype=np.uint64)
