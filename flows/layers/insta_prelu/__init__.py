"""InstaPReLU: INSTA-PReLU (own statistics or the statistics-reuse form) in integers.

The float module (docs/insta.md, `flows.custom_ops.insta_reference.insta_prelu`) followed by its
output quantiser is `q_out(PReLU_slope(x - gamma_c) + zeta_c)` with `gamma_c = 3 tanh(v_c / 3)`,
`v_c = a_c m3_c` (form "alpha") or `p_c m3_c + q_c` (form "reuse", m3 of the block's INSTA-Th).
Per frame and channel c, on an integer input x with scale s (docs/numerics.md section 10):

    S_c   = sum_hw (x 2^k - mu_c)^3                own statistics (mu on x's grid refined by
                                                   k = mu_frac_bits fractional bits), or the
                                                   INSTA-Th's S (input 1; channel c reads c mod Cs)
    v_c   = sat(rne((Mv_c * S_c + Bv_c) * 2^-Ev))  v on the grid 2^-v_exponent, INT(v_bits)
    g_c   = table[v_c]                             rne(3 tanh(v 2^-e / 3) / s * 2^G): gamma on a
                                                   grid G = gamma_frac_bits finer than x's
    d     = x * 2^G - g_c                          exact
    y     = sat(rne((d >= 0 ? mul_pos_c : mul_neg_c) * d + add_c) * 2^-(shift + G))

Why G: rounding gamma onto x's own grid (G = 0) and then requantising the PReLU output rounds
twice; about a fifth of the outputs moved by one step in a measurement (numerics section 10).

Outputs: the requantised activation (INT on the output quantiser's grid).

* `config`     the config: forms, types, evaluators, the frame buffer and latencies; `param`
* `golden`     the golden function (`execute`)
* `ports`      the input, the reuse form's statistic side stream, the output
* `widths`     the exact widths of the datapath (RTL and estimator)
* `rtl`        the parameters of hw/templates/insta_prelu.v.j2 (and the SE sub-block)
* `hls`        the kernel of hls/include/insta_prelu.hpp
* `estimate`   the estimator
"""

from flows.hwmodel.memory import WRITTEN_STYLES
from flows.layers.insta_prelu.config import InstaPReLU
from flows.layers.insta_prelu.estimate import estimate
from flows.layers.insta_prelu.golden import execute
from flows.layers.insta_prelu.hls import PRELU_KERNELS, hls
from flows.layers.insta_prelu.ports import ports
from flows.layers.insta_prelu.rtl import rtl
from flows.layers.insta_prelu.widths import widths
from flows.layers.insta_statistics import (
    EVALUATIONS,
    MULTIPLIER_STYLES,
    constant_regions,
    dram_forms,
)
from flows.layers.registry import DramBuffer, DramRegion, LayerKind


def dram_regions(cfg: InstaPReLU) -> list[DramRegion]:
    """Constants in DRAM: the read side's {add, mul_neg, mul_pos} of a channel group (mul_pos in
    the low bits), read once per output vector into `s_axis_c`, the write side's mu (own forms)
    and the evaluators' {Bv, Mv} once per frame (not with an SE). The gamma table stays on chip."""
    if cfg.constants != "dram":
        return []
    bits = cfg.pe * (2 * cfg.mul_type.bits + cfg.add_type.bits)
    c = DramRegion("c", bits, cfg.nf, cfg.num_vectors, f"{cfg.name}_c.mem")
    w = widths(cfg)
    return [c, *constant_regions(cfg, cfg.num_evaluators * (w.mant_bits + w.offset_bits))]


KIND = LayerKind(
    config=InstaPReLU,
    execute=execute,
    exact=False,  # gamma, v and the output on fixed-point grids (docs/numerics.md section 10)
    ports=ports,
    buffer_words=lambda cfg: cfg.buffer_words,  # own forms: the frame buffer; reuse: none
    # shared multipliers: fewer DSPs, more cycles per word; a held evaluation: no snapshot
    # memory, the evaluators' cycles once per frame; statistic memories in block RAM: LUTs saved
    styles={
        "multipliers": MULTIPLIER_STYLES,
        "evaluation": EVALUATIONS,
        "stat_memory": WRITTEN_STYLES,
    },
    places=("buffer", "constants"),
    dram_forms=dram_forms,
    dram_regions=dram_regions,
    dram_buffers=lambda cfg: (
        [DramBuffer("fb", cfg.pe * cfg.input_type.bits, cfg.buffer_words, cfg.words_per_frame)]
        if cfg.buffer == "dram"
        else []
    ),
    template="insta_prelu.v.j2",
    rtl=rtl,
    hls=hls,
    hls_kernels=tuple(PRELU_KERNELS.values()),
    estimate=estimate,
)

__all__ = ["KIND", "InstaPReLU"]
