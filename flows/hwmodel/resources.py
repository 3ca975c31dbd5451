"""`Estimate`: what a block costs and how fast it runs, the record every estimator returns."""

from __future__ import annotations

from dataclasses import dataclass

KEYS = ("cycles", "LUT", "FF", "BRAM", "DSP", "URAM", "LUTRAM")


@dataclass(frozen=True)
class Estimate:
    """Cycles per frame and resources: LUT (logic; LUTRAM counted separately, as Yosys and Vivado
    report it), FF, BRAM in 18-kbit blocks, DSP, URAM288 blocks (UltraScale+ only) and LUTs used
    as distributed RAM (Xilinx)."""

    cycles: int
    lut: int
    ff: int
    bram: int
    dsp: int
    uram: int = 0
    lutram: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(
            zip(
                KEYS,
                (self.cycles, self.lut, self.ff, self.bram, self.dsp, self.uram, self.lutram),
                strict=True,
            )
        )
