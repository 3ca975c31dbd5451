"""The exact widths of InstaPReLU's datapath, one source for its RTL and its estimator
(docs/numerics.md sections 2 and 10): nothing wraps or saturates except the two saturations of
the specification (v and the output)."""

from __future__ import annotations

from dataclasses import dataclass

from flows.datatypes import INT
from flows.hwmodel.cube import CubeWidths, cube_widths
from flows.hwmodel.ranges import product_range, width
from flows.layers.insta_prelu.config import InstaPReLU


@dataclass(frozen=True)
class InstaPReLUWidths:
    """Bits of every value of the datapath."""

    cube: CubeWidths  # the own form's write side: x 2^k - mu, its square and cube
    in_bits: int  # x
    mu_bits: int  # mu (units of 2^-k input steps)
    stat_bits: int  # S
    mant_bits: int  # Mv
    offset_bits: int  # Bv
    product_bits: int  # Mv * S
    vsum_bits: int  # Mv * S + Bv
    v_bits: int  # v, the table index
    table_bits: int  # gamma 2^G, a table entry
    gdev_bits: int  # d = x 2^G - gamma
    mul_bits: int  # mul_pos, mul_neg
    add_bits: int  # add
    yprod_bits: int  # factor * d
    ysum_bits: int  # factor * d + add
    out_bits: int  # y


def widths(cfg: InstaPReLU) -> InstaPReLUWidths:
    t, gf = cfg.input_type, cfg.gamma_frac_bits
    mt, bt = INT(cfg.mantissa_bits), INT(cfg.offset_bits)
    p_lo, p_hi = product_range(mt.bounds, cfg.acc_type.bounds)
    tt = cfg.table_type
    d_lo, d_hi = (t.min << gf) - tt.max, (t.max << gf) - tt.min  # x 2^G - gamma
    y_lo, y_hi = product_range((d_lo, d_hi), cfg.mul_type.bounds)
    return InstaPReLUWidths(
        cube=cube_widths(cfg.max_deviation),
        in_bits=t.bits,
        mu_bits=cfg.mu_type.bits,
        stat_bits=cfg.acc_type.bits,
        mant_bits=mt.bits,
        offset_bits=bt.bits,
        product_bits=width(p_lo, p_hi, True),
        vsum_bits=width(p_lo + bt.min, p_hi + bt.max, True),
        v_bits=cfg.v_bits,
        table_bits=tt.bits,
        gdev_bits=width(d_lo, d_hi, True),
        mul_bits=cfg.mul_type.bits,
        add_bits=cfg.add_type.bits,
        yprod_bits=width(y_lo, y_hi, True),
        ysum_bits=width(y_lo + cfg.add_type.min, y_hi + cfg.add_type.max, True),
        out_bits=cfg.output_type.bits,
    )
