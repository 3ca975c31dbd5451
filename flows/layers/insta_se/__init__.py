"""The SE block of INSTA-Th+ / INSTA-PReLU+ in integers (docs/insta.md; docs/numerics.md
section 10).

Float (flows.custom_ops.insta_reference.se_block): v = FC2(ReLU(FC1(m3))) with 8-bit weights
w1 (H x C), w2 (C x H) and per-output-channel steps s1, s2. Once per frame, from the exact
statistic S of the module (m3_c = S_c * k_c, k_c = 1 / (H W sigma_x^3) in the units of S):

    m3_c = sat_INT8(rne(Mm_c * S_c * 2^-m3_shift))        m3 on the grid 2^-m3_exponent
    h_j  = sat_UINT8(rne(Mh_j * max(w1 m3, 0)_j * 2^-hidden_shift))
                                                          hidden on the grid 2^-hidden_exponent
    v_c  = sat_INT(v_bits)(rne(Mo_c * (w2 h)_c * 2^-v_shift))
                                                          v on the grid 2^-v_exponent

with Mm = rne(k 2^(m3_exponent + m3_shift)), Mh = rne(s1 2^(hidden_exponent - m3_exponent +
hidden_shift)), Mo = rne(s2 2^(v_exponent - hidden_exponent + v_shift)) 18-bit mantissas, each
shift the largest in 0..MAX_SHIFT that keeps its mantissas in 18 bits. The SE's 2*C*H multiplies
are scheduled within a frame by the hardware (`rtl`). The module that owns the SE turns v into
its threshold or gamma through a 3 tanh(./3) table.


A sub-block, not a layer kind: the INSTA-Th+ and INSTA-PReLU+ kinds instantiate it.

* `config`    SEConfig, the pipeline drains and the MAC schedule (`pick_macs`)
* `golden`    `se_v` (the integer SE) and `fold_se` (float -> integer)
* `widths`    the exact accumulator and rescaler widths (the RTL, the HLS and the estimator)
* `rtl`       the InstaSE sub-block (hw/templates/insta_se.v.j2) and the statistic reader
* `hls`       the SE members of an INSTA+ kernel's configuration (hls/include/insta_se.hpp)
* `estimate`  the SE path of an INSTA+ block
"""

from flows.layers.insta_se.config import SEConfig, se_cycles, se_macs_of, se_path_cycles
from flows.layers.insta_se.golden import fold_se, se_v

__all__ = ["SEConfig", "fold_se", "se_cycles", "se_macs_of", "se_path_cycles", "se_v"]
