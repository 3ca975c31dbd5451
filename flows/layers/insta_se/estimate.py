"""The SE path of an INSTA+ block (the InstaSE sub-block, the statistic reader and vsnap) for the
estimator: LUT and FF per bit of its structure, DSP blocks of its products."""

from __future__ import annotations

import math

from flows.datatypes import INT
from flows.hwmodel.logic import dsp_per_product, mul_pipe_blocks
from flows.hwmodel.resources import Estimate
from flows.layers.insta_se.widths import se_widths

# LUT and FF per bit of the SE path's structure. Fitted on three Yosys 0.70 points (docs/insta.md,
# "INSTA-Th+ and INSTA-PReLU+"): the sub-block alone (C 64, hidden 4, M 4, 4 lanes, S INT24) and
# the SE increments of both INSTA+ blocks at 7x7x64 INT8 PE 8 (M 2, S INT31 / INT43); within 27 %.
SE_LUT = {"ecp5": 1.1, "xc7": 0.7, "xcup": 0.7}
SE_FF = {"ecp5": 1.0, "xc7": 0.62, "xcup": 0.62}


def se_path(cfg, family: str) -> Estimate:
    """LUT, FF and DSP of an INSTA+ block's SE path: PE m3 rescalers (S x mantissa products),
    M MACs and 2M h/v rescalers, the m3/h/v registers and vsnap (docs/insta.md)."""
    se, lanes, m, sb = cfg.se, cfg.pe, cfg.num_se_macs, cfg.acc_type.bits
    aw, mb = se_widths(se).acc_bits, se.mantissa_bits
    bits = lanes * (sb + mb) + 2 * m * (aw + mb) + m * aw
    bits += se.channels * (8 + 2 * se.v_bits) + 8 * se.hidden
    dsps = lanes * mul_pipe_blocks(sb, mb) + 2 * m * mul_pipe_blocks(aw, mb)
    dsps += m * dsp_per_product(INT(9), INT(8), family)
    return Estimate(0, math.ceil(SE_LUT[family] * bits), math.ceil(SE_FF[family] * bits), 0, dsps)
