"""InstaThreshold: the instance-aware threshold INSTA-Th in integers (docs/insta.md).

Per frame and channel c over the H*W positions of the input x (an INT<n> or UINT<n> stream),
with the constants folded offline by `fold_insta_constants` (docs/numerics.md sections 8 and 9):

    S_c = sum_hw (x 2^k - mu_c)^3                 exact integer, mu_c on the input grid refined
                                                  by k = mu_frac_bits fractional bits
    T_c = (A_c + M_c * S_c) * 2^-E                A_c INT48, M_c INT18 (carries 2^-3k), E per layer
    y   = +1 if x >= ceil(T_c)   (sign_c = +1, sigma_c > 0)        else -1
          +1 if x <= floor(T_c)  (sign_c = -1, sigma_c < 0)        else -1

Equality gives +1 (sign(0) = +1). The layer has two outputs: the BIPOLAR activations and the input
itself, which the hardware delays by one frame (its frame buffer) to feed the residual shortcut.
The float module it stands for (`insta_threshold_float`) is sign(x_hat - t) with
x_hat = (x - mu)/sigma, t = beta + alpha * mean_hw(x_hat^3) (INSTA-BNN supplementary section C).

* `config`     the config: types, folding, evaluators, the frame buffer and latencies
* `golden`     the golden function (`execute`) and its parameter checks
* `constants`  folding the float module's parameters into the integer constants
* `ports`      one input, two or three outputs that leave in lockstep (a fork)
* `widths`     the exact widths of the datapath (RTL, HLS and estimator)
* `rtl`        the parameters of hw/templates/insta_threshold.v.j2 (and the SE sub-block)
* `hls`        the kernel of hls/include/insta_threshold.hpp
* `estimate`   the estimator
"""

from flows.hwmodel.memory import WRITTEN_STYLES
from flows.layers.insta_statistics import (
    EVALUATIONS,
    MULTIPLIER_STYLES,
    constant_regions,
    dram_forms,
)
from flows.layers.insta_threshold.config import InstaThreshold
from flows.layers.insta_threshold.estimate import estimate
from flows.layers.insta_threshold.golden import execute
from flows.layers.insta_threshold.hls import KERNELS, hls
from flows.layers.insta_threshold.ports import ports
from flows.layers.insta_threshold.rtl import rtl
from flows.layers.insta_threshold.widths import widths
from flows.layers.registry import DramBuffer, LayerKind


def dram_regions(cfg: InstaThreshold) -> list:
    """Constants in DRAM (`constant_regions`): mu, and a step's {sigma < 0, M, A'} of G lanes."""
    w = widths(cfg)
    return constant_regions(cfg, cfg.num_evaluators * (w.offset_bits + w.mant_bits + 1))


KIND = LayerKind(
    config=InstaThreshold,
    execute=execute,
    exact=False,  # S in integers and the fixed-point threshold (docs/numerics.md sections 8, 9)
    ports=ports,
    fork=True,  # the activations and the delayed input leave in lockstep
    buffer_words=lambda cfg: cfg.buffer_words,  # on a branch; as the fork it is the fork
    # shared multipliers: fewer DSPs, more cycles per word; a held evaluation: no snapshot
    # memory, the evaluators' cycles once per frame; statistic memories in block RAM: LUTs saved
    styles={
        "multipliers": MULTIPLIER_STYLES,
        "evaluation": EVALUATIONS,
        "stat_memory": WRITTEN_STYLES,
    },
    places=("buffer", "constants"),
    dram_forms=dram_forms,
    dram_regions=dram_regions,  # constants in DRAM: mu, and the evaluators' A', M, sigma < 0
    # in DRAM, the delayed input for the shortcut is the ring read a second time (a tap)
    dram_buffers=lambda cfg: (
        [
            DramBuffer(
                "fb",
                cfg.pe * cfg.input_type.bits,
                cfg.buffer_words,
                cfg.words_per_frame,
                taps=("m_axis_delay",),
            )
        ]
        if cfg.buffer == "dram"
        else []
    ),  # fmt: skip
    template="insta_threshold.v.j2",
    rtl=rtl,
    hls=hls,
    hls_kernels=KERNELS,
    estimate=estimate,
)

__all__ = ["KIND", "InstaThreshold"]
