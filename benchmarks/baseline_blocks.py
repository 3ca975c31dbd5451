"""The blocks of the synthesis baselines (benchmarks/synth_baselines.py): one representative
configuration per layer kind the compiler emits for the ResNets and CNV, with deterministic
parameters (numpy seed 0), and the Fmax runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _xnor_mvau(stages: int) -> Callable[[], tuple]:
    """CNV-like binary 3x3 conv, 64 -> 64 channels on a 28x28 output, SIMD 32 / PE 32."""

    def make() -> tuple:
        from flows.layers import XnorMVAU

        cfg = XnorMVAU(f"bl_xnor_mvau_pop{stages}", mw=576, mh=64, simd=32, pe=32,
                       num_vectors=28 * 28, popcount_stages=stages)  # fmt: skip
        return cfg, {"weights": _rng().choice([-1, 1], (cfg.mh, cfg.mw))}

    return make


def _int_mvau(style: str) -> Callable[[], tuple]:
    """ResNet stem-like first conv on pixels: 3x3x3 UINT8 x INT8 weights, 64 outputs, 3 x 4 lanes."""

    def make() -> tuple:
        from flows.datatypes import INT, UINT
        from flows.layers import IntMVAU

        cfg = IntMVAU(f"bl_int_mvau_{style}", mw=27, mh=64, input_type=UINT(8),
                      weight_type=INT(8), simd=3, pe=4, num_vectors=32 * 32, mult_style=style)  # fmt: skip
        return cfg, {"weights": _rng().integers(-128, 128, (cfg.mh, cfg.mw))}

    return make


def _threshold() -> tuple:
    """Sign of a 576-wide popcount (a CNV 3x3 conv, as the XnorMVAU): 64 channels, PE 16."""
    from flows.datatypes import UINT
    from flows.layers import Threshold

    cfg = Threshold("bl_threshold", channels=64, num_thresholds=1, input_type=UINT(10), pe=16,
                    num_vectors=28 * 28)  # fmt: skip
    return cfg, {"thresholds": np.sort(_rng().integers(0, 577, (64, 1)), axis=1)}


def _affine_exact() -> tuple:
    """CNV's final 16-bit fixed-point affine on the 10 class popcounts, PE 1."""
    from flows.datatypes import INT, UINT
    from flows.layers import Affine

    cfg = Affine("bl_affine_exact", channels=10, input_type=UINT(10), mul_type=INT(16),
                 add_type=INT(24), frac_bits=8)  # fmt: skip
    rng = _rng()
    return cfg, {
        "mul": rng.integers(-(1 << 15), 1 << 15, 10),
        "add": rng.integers(-(1 << 23), 1 << 23, 10),
    }


def _residual(key: str) -> Callable[[], tuple]:
    """The residual-stream kinds of tests/flows/test_synth.py (same configs and parameters)."""

    def make() -> tuple:
        from tests.flows.test_synth import _residual_kinds

        cfg, params = _residual_kinds()[key]
        return dataclasses.replace(cfg, name=f"bl_{key}"), params

    return make


def _label_select() -> tuple:
    """The argmax after `_affine_exact` (its output type), 10 classes."""
    from flows.layers import LabelSelect

    return LabelSelect(
        "bl_label_select", channels=10, input_type=_affine_exact()[0].output_type
    ), {}


def _sliding_window() -> tuple:
    """ResNet-20 binary 3x3 conv input: 32x32x64 BIPOLAR, pad 1 with -1, PE 32."""
    from flows.datatypes import BIPOLAR
    from flows.layers import SlidingWindow

    cfg = SlidingWindow("bl_sliding_window", channels=64, in_h=32, in_w=32, kernel=3, pad=1,
                        pad_value=-1, pe=32, input_type=BIPOLAR)  # fmt: skip
    return cfg, {}


def _max_pool() -> tuple:
    """The ResNet-18 stem pool: 112x112x64 INT8, 3x3 stride 2 pad 1, PE 8."""
    from flows.datatypes import INT
    from flows.layers import MaxPool

    cfg = MaxPool("bl_max_pool", channels=64, in_h=112, in_w=112, kernel=3, stride=2, pad=1, pe=8,
                  input_type=INT(8))  # fmt: skip
    return cfg, {}


def _duplicate_streams() -> tuple:
    from flows.datatypes import INT
    from flows.layers import DuplicateStreams

    return DuplicateStreams("bl_duplicate_streams", 64, INT(8), copies=2, pe=8, num_vectors=64), {}


def _add_streams() -> tuple:
    from flows.datatypes import INT
    from flows.layers import AddStreams

    return AddStreams("bl_add_streams", 64, (INT(8), INT(8)), pe=8, num_vectors=64), {}


def _insta_threshold() -> tuple:
    """docs/insta.md's figure: 7x7x64 INT8, PE 8, a quarter of the channels with sigma < 0."""
    from flows.datatypes import INT
    from tests.hw.test_insta_threshold import Spec, make_case

    node, _, _ = make_case(Spec(64, 7, 7, INT(8), 8, 0.25, 2.0**-4), _rng())
    return dataclasses.replace(node.config, name="bl_insta_threshold"), node.params


def _insta_prelu(form: str) -> Callable[[], tuple]:
    """docs/insta.md's resources table: 7x7x64 INT8 PE 8, v INT12 (4096-entry table)."""

    def make() -> tuple:
        from flows.datatypes import INT
        from tests.hw.test_insta_prelu import Spec, make_case

        spec = Spec("alpha" if form == "own" else "reuse", 64, 7, 7, INT(8), 8, 2.0**-4,
                    4 if form == "own" else 0, 8, 12, 8, INT(8), 64 if form == "reuse" else None)  # fmt: skip
        node, _, _ = make_case(spec, _rng())
        return dataclasses.replace(node.config, name=f"bl_insta_prelu_{form}"), node.params

    return make


def _insta_plus(form: str) -> Callable[[], tuple]:
    """INSTA-Th+ / INSTA-PReLU+ at 7x7x64 INT8 PE 8 with an SE of reduction 16 (hidden 4):
    tests/hw/test_insta_plus.py's cases at docs/insta.md's size."""

    def make() -> tuple:
        from flows.datatypes import INT
        from tests.hw import test_insta_plus as tq

        if form == "threshold":
            node, _, _ = tq.th_case(tq.Spec(64, 7, 7, INT(8), 8, 4), _rng())
        else:
            base = tq.tp.Spec("alpha", 64, 7, 7, INT(8), 8, 2.0**-4, 4, 8, 12, 8, INT(8))
            node, _ = tq.pr_case(base, 4, _rng())
        return dataclasses.replace(node.config, name=f"bl_insta_{form}_plus"), node.params

    return make


BLOCKS: dict[str, Callable[[], tuple]] = {
    "xnor_mvau_pop1": _xnor_mvau(1),
    "xnor_mvau_pop2": _xnor_mvau(2),
    "int_mvau_auto": _int_mvau("auto"),
    "int_mvau_lut": _int_mvau("lut"),
    "threshold": _threshold,
    "affine_exact": _affine_exact,
    "affine_rq": _residual("affine_rq"),
    "rprelu": _residual("rprelu"),
    "label_select": _label_select,
    "sliding_window": _sliding_window,
    "max_pool": _max_pool,
    "avg_pool": _residual("avg_pool"),
    "global_avg_pool": _residual("global_avg_pool"),
    "duplicate_streams": _duplicate_streams,
    "add_streams": _add_streams,
    "insta_threshold": _insta_threshold,
    "insta_prelu_own": _insta_prelu("own"),
    "insta_prelu_reuse": _insta_prelu("reuse"),
    "insta_threshold_plus": _insta_plus("threshold"),
    "insta_prelu_plus": _insta_plus("prelu"),
}


# Fmax runs: the XnorMVAU at every popcount depth its adder tree allows (log2(SIMD) + 1 levels,
# so 0..3 are all distinct) and the INSTA blocks.
def _insta_shared(kind: str) -> Callable[[], tuple]:
    """The INSTA blocks with shared multipliers (docs/insta.md) at the zoo's widths: 7x7x64 INT8
    PE 8, mu on a 2^-4 grid (d 13 bits, d^2 in 2 slices, S in 3); INSTA-PReLU with its folded
    gamma table."""

    def make() -> tuple:
        from flows.datatypes import INT

        if kind == "threshold":
            from tests.hw.test_insta_threshold import Spec, make_case

            spec = Spec(64, 7, 7, INT(8), 8, 0.25, 2.0**-4, mu_frac_bits=4, multipliers="shared")
        else:
            from tests.hw.test_insta_prelu import Spec, make_case

            spec = Spec("alpha", 64, 7, 7, INT(8), 8, 2.0**-4, 4, 8, 12, 8, INT(8),
                        multipliers="shared", table_fold=True)  # fmt: skip
        node, _, _ = make_case(spec, _rng())
        return dataclasses.replace(node.config, name=f"bl_insta_{kind}_shared"), node.params

    return make


FMAX_BLOCKS: dict[str, Callable[[], tuple]] = {
    **{f"xnor_mvau_pop{s}": _xnor_mvau(s) for s in range(4)},
    "insta_threshold": _insta_threshold,
    "insta_prelu_own": _insta_prelu("own"),
    "insta_threshold_shared": _insta_shared("threshold"),
    "insta_prelu_own_shared": _insta_shared("prelu"),
    "insta_threshold_plus": _insta_plus("threshold"),
    "insta_prelu_plus": _insta_plus("prelu"),
}


def config_record(cfg) -> dict[str, str]:
    """The block's configuration as stored: kind and the repr of every field."""
    fields = {f.name: repr(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    return {"kind": type(cfg).__name__, **fields}
