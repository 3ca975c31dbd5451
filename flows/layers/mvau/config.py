"""The configs of the matrix-vector activation units: XnorMVAU and IntMVAU (see the package
docstring for what they compute and how they fold)."""

from __future__ import annotations

from dataclasses import dataclass

from flows.datatypes import BIPOLAR, DataType, Kind
from flows.errors import ConfigError
from flows.hwmodel.memory import ROM_STYLES, rom_style
from flows.hwmodel.ports import Port
from flows.hwmodel.ranges import dot_range, smallest_type
from flows.hwmodel.structure import tree_nodes
from flows.layers.checks import check_divides, check_positive

WEIGHT_PLACES = ("chip", "dram")
# Cycles a pass over the weights in DRAM must last beyond draining its results, so that the result
# bank it fills next is drained in time (see `Matrix.check_folding`).
RESULT_SLACK = 8


class Matrix:
    """The folding of an mh x mw matrix times num_vectors vectors (a mixin of both MVAU configs):
    SIMD input lanes, PE output lanes; SF = mw/SIMD and NF = mh/PE words, one per cycle.

    `weights`: where the weight matrix lives. "chip": a ROM, read once per vector. "dram": the
    matrix streams in from the DRAM tier (port `s_axis_w`, the ROM's words in ROM order), once per
    *pass* of `vectors_per_pass` vectors: the unit keeps those vectors' SF words each, computes
    them one channel group (tile) at a time from a double-buffered tile of SF weight words, and
    emits the pass's results in the usual order from a double-buffered result memory
    (docs/dram.md, Weights). The weights then cross the DRAM num_vectors / vectors_per_pass times
    per frame instead of living on chip.
    """

    name: str
    mw: int
    mh: int
    simd: int
    pe: int
    num_vectors: int

    ram_style: str
    weights: str
    vectors_per_pass: int

    def check_folding(self) -> None:
        check_positive(
            self.name, mw=self.mw, mh=self.mh, num_vectors=self.num_vectors,
            vectors_per_pass=self.vectors_per_pass,
        )  # fmt: skip
        check_divides(self.name, self.mw, "SIMD", self.simd)
        check_divides(self.name, self.mh, "PE", self.pe)
        if self.ram_style not in ROM_STYLES:
            raise ConfigError(
                f"{self.name}: ram_style must be one of {', '.join(ROM_STYLES)}, "
                f"got {self.ram_style!r}"
            )
        if self.weights not in WEIGHT_PLACES:
            raise ConfigError(
                f"{self.name}: weights={self.weights!r} is not a weight place; use one of "
                f"{WEIGHT_PLACES}"
            )
        if self.weights == "chip":
            if self.vectors_per_pass != 1:
                raise ConfigError(
                    f"{self.name}: vectors_per_pass={self.vectors_per_pass} needs weights='dram' "
                    "(on chip every vector reads the weight ROM itself): set vectors_per_pass=1"
                )
            return
        check_divides(self.name, self.num_vectors, "vectors_per_pass", self.vectors_per_pass)
        if self.vectors_per_pass * self.nf * (self.sf - 1) < RESULT_SLACK:
            raise ConfigError(
                f"{self.name}: with weights in DRAM a pass computes vectors_per_pass x NF x SF = "
                f"{self.vectors_per_pass} x {self.nf} x {self.sf} steps and drains "
                f"{self.vectors_per_pass * self.nf} results; it needs vectors_per_pass x NF x "
                f"(SF - 1) >= {RESULT_SLACK} to drain in time: lower SIMD, lower PE or raise "
                "vectors_per_pass"
            )

    @property
    def sf(self) -> int:
        return self.mw // self.simd

    @property
    def nf(self) -> int:
        return self.mh // self.pe

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.sf * self.nf

    @property
    def passes(self) -> int:
        """Passes over the weights per frame (1 per vector on chip)."""
        return self.num_vectors // self.vectors_per_pass

    @property
    def weight_memory(self) -> tuple[int, int]:
        """(word width, depth) of the weight ROM: PE*SIMD weights per word, SF*NF words."""
        return self.pe * self.simd * self.weight_type.bits, self.sf * self.nf

    @property
    def weight_rom_style(self) -> str:
        """The weight ROM's `rom_style` ("block" or "logic"): `ram_style`, or the size rule."""
        return rom_style(*self.weight_memory, self.ram_style)


@dataclass(frozen=True)
class XnorMVAU(Matrix):
    """Binary weights x binary inputs; output = popcount(XNOR) = number of agreeing signs.

    For bipolar x, w in {-1,+1}^mw: popcount = (x . w + mw) / 2, an unsigned integer in 0..mw.
    `popcount_stages`: pipeline registers inside the popcount adder tree (0 = combinational).
    """

    name: str
    mw: int
    mh: int
    simd: int = 1
    pe: int = 1
    num_vectors: int = 1
    popcount_stages: int = 1
    ram_style: str = "auto"  # the weight memory: "auto" (size rule), "block", "distributed"
    weights: str = "chip"  # where the weights live: "chip" (a ROM) or "dram" (Matrix docstring)
    vectors_per_pass: int = 1  # weights in DRAM: vectors computed per pass over the weights

    def __post_init__(self) -> None:
        self.check_folding()
        if self.popcount_stages < 0:
            raise ConfigError(f"{self.name}: popcount_stages must be >= 0")

    @property
    def input_type(self) -> DataType:
        return BIPOLAR

    @property
    def weight_type(self) -> DataType:
        return BIPOLAR

    @property
    def output_type(self) -> DataType:
        return smallest_type(0, self.mw)  # popcounts 0..mw


TREE_LEVELS_PER_STAGE = 2


@dataclass(frozen=True)
class IntMVAU(Matrix):
    """Integer (or bipolar) weights x integer inputs; output = signed dot product, full precision.

    `mult_style` (integer x integer products only; docs/hardware.md): "dsp" puts every lane's
    product in a DSP block, "lut" builds it from LUTs (shift-and-add, no multiplier for synthesis
    to map), "auto" leaves the choice to the synthesis tool (a plain `*`). A bipolar operand needs
    no multiplier (a conditional negate), so "dsp" is refused there.
    """

    name: str
    mw: int
    mh: int
    input_type: DataType
    weight_type: DataType
    simd: int = 1
    pe: int = 1
    num_vectors: int = 1
    mult_style: str = "auto"
    ram_style: str = "auto"  # the weight memory: "auto" (size rule), "block", "distributed"
    weights: str = "chip"  # where the weights live: "chip" (a ROM) or "dram" (Matrix docstring)
    vectors_per_pass: int = 1  # weights in DRAM: vectors computed per pass over the weights

    def __post_init__(self) -> None:
        self.check_folding()
        bipolar = Kind.BIPOLAR in (self.input_type.kind, self.weight_type.kind)
        if self.input_type.kind == Kind.BIPOLAR and self.weight_type.kind == Kind.BIPOLAR:
            raise ConfigError(f"{self.name}: bipolar x bipolar is an XnorMVAU, not an IntMVAU")
        if self.mult_style not in ("auto", "dsp", "lut"):
            raise ConfigError(
                f"{self.name}: mult_style must be 'auto', 'dsp' or 'lut', got {self.mult_style!r}"
            )
        if self.mult_style == "dsp" and bipolar:
            raise ConfigError(
                f"{self.name}: mult_style='dsp' needs integer x integer products; with a bipolar "
                "operand the product is a conditional negate in LUTs: use 'auto' or 'lut'"
            )

    @property
    def output_type(self) -> DataType:
        lo, hi = dot_range(self.input_type, self.weight_type, self.mw)
        return smallest_type(lo, hi)

    @property
    def tree_stages(self) -> int:
        """Pipeline registers of the adder tree: one after the products (a multiplier's natural
        output register), then one more per TREE_LEVELS_PER_STAGE adder levels beyond the
        first, so that no stage adds more than two levels in front of the accumulator (SIMD 4
        reaches 112 MHz on ECP5; an unpipelined SIMD 32 tree 64 MHz, measured with nextpnr)."""
        levels = len(tree_nodes(self.simd)) - 1
        return 1 + max(0, levels - 1) // TREE_LEVELS_PER_STAGE


def ports(cfg: XnorMVAU | IntMVAU) -> tuple[dict[str, Port], dict[str, Port]]:
    """SIMD lanes of input elements in (vectors of mw), PE lanes of dot products out (of mh)."""
    nv = cfg.num_vectors
    return {"s_axis": Port(cfg.simd, cfg.input_type, cfg.mw, nv)}, {
        "m_axis": Port(cfg.pe, cfg.output_type, cfg.mh, nv)
    }
