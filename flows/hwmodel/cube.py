"""The exact cube of the INSTA write side (hw/templates/_insta_write_side.v.j2), shared by
InstaThreshold and the own-statistics InstaPReLU: its widths and what it costs per lane.

Per lane, d = x 2^k - mu is squared in one product and d^2 * d goes through hw/lib/mul_pipe.v
(each slice product and the sum registered).
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.datatypes import INT
from flows.hwmodel.logic import dsp_per_product, mul_pipe_blocks
from flows.hwmodel.ranges import width


@dataclass(frozen=True)
class CubeWidths:
    """Widths of the exact cube for |d| <= dmax."""

    dev_bits: int  # d = x 2^k - mu
    square_bits: int  # d^2, kept signed for the next product
    cube_bits: int  # d^3


def cube_widths(dmax: int) -> CubeWidths:
    return CubeWidths(
        dev_bits=width(-dmax, dmax, True),
        square_bits=width(0, dmax**2, True),
        cube_bits=width(-(dmax**3), dmax**3, True),
    )


def cube_dsp(w: CubeWidths, family: str) -> int:
    """DSP blocks of one lane's cube: d^2 as one product, d^2 * d through mul_pipe."""
    return dsp_per_product(INT(w.dev_bits), INT(w.dev_bits), family) + mul_pipe_blocks(
        w.square_bits, w.dev_bits
    )


def cube_pipeline_ff(w: CubeWidths) -> int:
    """Flip-flops of one lane's mul_pipe stages beyond the d^3 register (each slice product and
    the sum, product-wide)."""
    return (mul_pipe_blocks(w.square_bits, 18) + 1) * (w.square_bits + w.dev_bits) - w.cube_bits


# Shared multipliers (hw/lib/cube_seq.v, mul_seq.v): each turn of the one multiplier adds an
# 18-bit input to its operand multiplexer (ECP5 LUT4s per turn; structural: an 18-bit AND-OR
# input). Checked against Yosys in benchmarks/insta_shared.py (fitted block: +119 and +86 LUT
# measured vs +108 modelled); the registers of the two forms measure within 2 %, so the shared
# form keeps the parallel form's FF.
SHARED_MUX_LUT_PER_TURN = 18


def shared_mux_luts(lanes: int, cube_turns: int, evaluators: int, eval_turns: int) -> int:
    """ECP5 LUT4s the shared form adds: `lanes` cubes of `cube_turns` turns and `evaluators`
    products of `eval_turns` turns (0 where the evaluators stay parallel)."""
    return SHARED_MUX_LUT_PER_TURN * (lanes * cube_turns + evaluators * eval_turns)
