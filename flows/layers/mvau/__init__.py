"""Matrix-vector activation units: XnorMVAU (binary x binary) and IntMVAU (integer x integer).

Both compute, for each of `num_vectors` input vectors of length `mw`, `mh` dot products with a
constant weight matrix W (mh x mw). Folding: `simd` input elements and `pe` output channels per
cycle, so one vector takes (mw/simd)*(mh/pe) cycles. Output order: channel groups of `pe`
ascending (docs/numerics.md, section 2).

* `config`    the two configs and their ports (SIMD lanes in, PE lanes out)
* `golden`    the golden functions (bit-packed XNOR/popcount, exact float BLAS)
* `rtl`       the parameters of hw/templates/mvau.v.j2 (one template for both)
* `hls`       the kernels of hls/include/xnor_mvau.hpp and int_mvau.hpp
* `estimate`  the estimators
"""

from dataclasses import replace

from flows.errors import ConfigError
from flows.layers.mvau.config import IntMVAU, XnorMVAU, ports
from flows.layers.mvau.estimate import int_estimate, xnor_estimate
from flows.layers.mvau.golden import int_execute, xnor_execute
from flows.layers.mvau.hls import int_hls, xnor_hls
from flows.layers.mvau.rtl import rtl
from flows.layers.registry import INPUTS, OUTPUTS, DramRegion, Fold, LayerKind

FOLDS = {"simd": Fold(INPUTS, "mw"), "pe": Fold(OUTPUTS, "mh")}


def dram_regions(cfg) -> list[DramRegion]:
    """Weights in DRAM: the weight ROM's words, read once per pass (`Matrix.passes`)."""
    if cfg.weights != "dram":
        return []
    ww, depth = cfg.weight_memory
    return [DramRegion("w", ww, depth, cfg.passes, f"{cfg.name}_w.mem")]


def dram_forms(cfg) -> list[dict]:
    """Weights in DRAM with every pass length the unit can take (a divisor of num_vectors that
    drains in time, `Matrix.check_folding`), longest passes (least traffic) first."""
    forms = []
    for g in sorted((d for d in range(1, cfg.num_vectors + 1) if cfg.num_vectors % d == 0),
                    reverse=True):  # fmt: skip
        form = {"weights": "dram", "vectors_per_pass": g}
        try:
            replace(cfg, **form)
        except ConfigError:
            continue
        forms.append(form)
    return forms


def _buffer_words(cfg) -> int:
    """Input words taken before the first output: one vector, or a pass's vectors from DRAM."""
    return cfg.vectors_per_pass * cfg.sf


XNOR_KIND = LayerKind(
    config=XnorMVAU,
    execute=xnor_execute,
    ports=ports,
    folds=FOLDS,
    buffer_words=_buffer_words,
    burst_words=lambda cfg: _buffer_words(cfg) if cfg.nf > 1 else 0,
    dram_regions=dram_regions,
    places=("weights", "vectors_per_pass"),
    dram_forms=dram_forms,
    styles={"ram_style": ("block", "distributed")},
    extra_stages=lambda cfg: cfg.popcount_stages,
    template="mvau.v.j2",
    rtl=rtl,
    hls=xnor_hls,
    hls_kernels=("XnorMVAU",),
    estimate=xnor_estimate,
)
INT_KIND = LayerKind(
    config=IntMVAU,
    execute=int_execute,
    ports=ports,
    folds=FOLDS,
    styles={"mult_style": ("dsp", "lut"), "ram_style": ("block", "distributed")},
    buffer_words=_buffer_words,
    burst_words=lambda cfg: _buffer_words(cfg) if cfg.nf > 1 else 0,
    dram_regions=dram_regions,
    places=("weights", "vectors_per_pass"),
    dram_forms=dram_forms,
    extra_stages=lambda cfg: cfg.tree_stages,
    template="mvau.v.j2",
    rtl=rtl,
    hls=int_hls,
    hls_kernels=("IntMVAU",),
    estimate=int_estimate,
)

__all__ = ["INT_KIND", "XNOR_KIND", "IntMVAU", "XnorMVAU"]
