"""HLS kernels of the INSTA blocks vs the golden functions, bit for bit (issue 5).

The kernels (docs until the project has an hls/README.md):

* `InstaThreshold` (INSTA-Th, `flows/layers/insta.py`): `hls/include/insta_threshold.hpp`, top
  `hls/templates/insta.cpp.j2`, emitter `flows/codegen/hls_insta.py`. Per call one frame: read it
  into a buffer while `S_c = sum (x 2^k - mu_c)^3` accumulates exactly (`acc_type`; mu on a grid
  2^-k finer than x's, k = `mu_frac_bits`, 0 or 4 here), evaluate
  `th_c = clamp((A'_c + M_c S_c) >> E, min, max + 1)` with `A' = A + 2^E - 1` (sigma > 0, ceil) or
  `A + 2^E` (sigma < 0, floor + 1) by G evaluators, then emit `(x >= th) XOR (sigma < 0)` on `out`
  and the buffered word on `out_delay` (numerics section 9); `out_stat` carries S
  (`statistic_output`).
* `InstaPReLU` (`flows/layers/insta_prelu.py`), forms "alpha" (own S with `mu_frac_bits`, frame
  buffered) and "reuse" (S of the INSTA-Th on a second input `in_stat`, C_stat/PE words per frame
  read before the frame; no buffer): `hls/include/insta_prelu.hpp`, same template and emitter.
  v = sat(rne((Mv S + Bv) 2^-Ev)), the gamma table (one copy per evaluator), d = x 2^Gf - g, the
  slope by the sign of d, y = sat(rne((f d + add) 2^-(shift + Gf))), round half to even written
  out (`InstaRne` in `hls/include/insta_common.hpp`). Refused: PE not dividing C_stat, mu
  outside the input range (as the RTL emitter).
* The SE forms (INSTA-Th+: `InstaThreshold` with `se`, INSTA-PReLU+: form "se"): the SE of
  `hls/include/insta_se.hpp` (m3, FC1 + ReLU + h, FC2 + v; exact products, three half-to-even
  rescalings with saturation) between the statistic and the thresholds resp. gamma; INSTA-Th+
  reads `tanh[v]` in place of S. Parameters from `fold_se` of random floats shaped for the edges
  (as tests/hw/test_insta_se.py, whose helpers are reused); frames reach m3 saturation at both
  ends, h at 255, v at both ends and ties in all three rescalers (`test_insta_se_data_*`).
* Widths: every ap_int of the generated `<top>_cfg` struct is derived from the exact range of its
  value (`flows/codegen/hls_insta.py`), so nothing wraps; the tests drive the extremes (S at
  +-H*W*(2^N - 1)^3 resp. the stat type's ends, v and y saturating at both ends).
* Schedule: the phases of a frame run one after the other (about 2*H*W*C/PE + C/G cycles per
  frame for INSTA-Th and the own-form PReLU; H*W*C/PE + C_stat/PE + C/G for the reuse form). The
  RTL overlaps them with its circular buffer; an HLS DATAFLOW version would need a ping-pong frame
  buffer, which DESIGN.md section 4 rules out. Not synthesised (no Vitis HLS here); held to this
  C-simulation and the lint.
* Several streams per kernel: `flows.codegen.hls.csim_streams` and the generic test bench
  `hls/templates/csim_streams_tb.cpp.j2`.

Parameters are built by hand, random but valid for the config types, with the constructed cases
of tests/hw: ties of the threshold (x == ceil(T), resp. floor(T)) and of both roundings, the S
extremes, saturation. Each configuration is compiled once (the binary is cached by content).

The generated code of six tiny configurations is snapshotted in tests/hls/snapshots/snap_insta_*;
after an intended change regenerate them from the repository root with

    .venv/bin/python -m tests.hls.test_insta_hls --update
"""

from __future__ import annotations

import functools
import sys
import zlib
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from flows.codegen.csim import csim, csim_streams
from flows.codegen.hls import emit_hls, hls_kernel, render_hls
from flows.datatypes import INT, UINT, DataType
from flows.errors import ConfigError
from flows.fixedpoint import rne_shift
from flows.graph import Node
from flows.hls_lint import lint_file
from flows.hwmodel.ranges import smallest_type
from flows.layers import kind_of
from flows.layers.insta_prelu import InstaPReLU
from flows.layers.insta_prelu.config import gamma_table
from flows.layers.insta_se import SEConfig, fold_se, se_v
from flows.layers.insta_statistics import statistic
from flows.layers.insta_threshold import InstaThreshold
from flows.layers.insta_threshold.golden import thresholds
from flows.transforms.insta_to_integer import tanh_table
from tests.hw.test_insta_se import _odd, _place_v_ties, _ties, internals

FRAMES = 5  # random frames per case, besides the constructed ones


@dataclass(frozen=True)
class Case:
    node: Node
    inputs: list[np.ndarray]


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def _skewed(rng: np.random.Generator, t: DataType, shape: tuple[int, ...]) -> np.ndarray:
    """Random frames with a per-frame and per-channel skew, so that S has both signs."""
    u = rng.random(shape) ** rng.choice([0.5, 1.0, 2.0], size=(shape[0], 1, shape[2]))
    flip = rng.random((shape[0], 1, shape[2])) < 0.5
    u = np.where(flip, 1 - u, u)
    return np.clip(np.floor(t.min + u * (t.max - t.min + 1)), t.min, t.max).astype(np.int64)


def _permutations(rng: np.random.Generator, frame: np.ndarray, count: int) -> np.ndarray:
    """`count` frames that reorder the vectors of `frame`: S is the same for all of them."""
    return np.stack([frame[rng.permutation(frame.shape[0])] for _ in range(count)])


def _extremes(t: DataType, nv: int, c: int) -> np.ndarray:
    return np.stack([np.full((nv, c), t.min), np.full((nv, c), t.max)])


# --- InstaThreshold --------------------------------------------------------------------------------
def _threshold_statistic(cfg: InstaThreshold, x: np.ndarray, mu: np.ndarray) -> np.ndarray:
    return statistic(x << cfg.mu_frac_bits, mu)


def _threshold_case(cfg: InstaThreshold) -> Case:
    """mu random (units of 2^-k, mostly off x's grid when k > 0) with channel 0 at max and
    channel 1 at min (the S extremes under all-min and all-max frames); M random; A placed from
    a tie frame: per channel the threshold T is exactly a value of that frame, one LSB (2^-E)
    below it or one above (channel mod 3), so the permutations of the tie frame hit ties."""
    rng, t, c, nv, e = _rng(cfg.name), cfg.input_type, cfg.channels, cfg.num_vectors, cfg.exponent
    k = cfg.mu_frac_bits
    mu = rng.integers(t.min << k, (t.max << k) + 1, c)
    mu[0], mu[1] = t.max << k, t.min << k
    sign = np.where(np.arange(c) % 4 < 2, 1, -1)
    random = _skewed(rng, t, (FRAMES, nv, c))
    # M moves T by up to ~1/4 of the input range for a typical S (the term the block exists for)
    s_typical = max(1.0, float(np.median(np.abs(_threshold_statistic(cfg, random, mu)))))
    m_max = min(2**17 - 1, int((t.max - t.min) / 4 * 2**e / s_typical) + 1)
    m = rng.integers(-m_max, m_max + 1, c)
    tie = _skewed(rng, t, (1, nv, c))[0]
    s_tie = _threshold_statistic(cfg, tie[None], mu)[0]
    target = tie[rng.integers(0, nv, c), np.arange(c)]
    delta = np.array([0, -1, 1])[np.arange(c) % 3]
    a = [
        (int(v) << e) + int(d) - int(mi) * int(si)
        for v, d, mi, si in zip(target, delta, m, s_tie, strict=True)
    ]
    params = {"mu": mu, "A": np.array(a, dtype=np.int64), "M": m, "sign": sign}
    x = np.concatenate([random, _permutations(rng, tie, 3), _extremes(t, nv, c)])
    outputs = ["y", "x_delayed", "s"][: len(cfg.output_types)]
    return Case(Node(cfg, ["x"], outputs, params), [x])


THRESHOLD_CONFIGS = [
    # INT8 4x4x8 at PE 2 with the statistic port (E in the range the folding picks for INT8)
    InstaThreshold(name="hls_insta_i8", channels=8, height=4, width=4, input_type=INT(8),
                   exponent=36, pe=2, statistic_output=True),
    # UINT4 3x3x16 at PE 4 with 2 evaluators
    InstaThreshold(name="hls_insta_u4", channels=16, height=3, width=3, input_type=UINT(4),
                   exponent=20, pe=4, evaluators=2),
    # INT8 4x4x8 at PE 2, mu on 2^-4 (the lowering's TH_MU_FRAC_BITS): S INT41, the S port
    InstaThreshold(name="hls_insta_i8_k4", channels=8, height=4, width=4, input_type=INT(8),
                   exponent=38, pe=2, statistic_output=True, mu_frac_bits=4),
    # UINT4 3x3x16 at PE 4 with 2 evaluators, mu on 2^-3
    InstaThreshold(name="hls_insta_u4_k3", channels=16, height=3, width=3, input_type=UINT(4),
                   exponent=28, pe=4, evaluators=2, mu_frac_bits=3),
]  # fmt: skip


# --- InstaPReLU ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PreluSpec:
    """A PReLU configuration under test (the parameters are drawn in _prelu_case)."""

    name: str
    form: str
    channels: int
    size: int
    input_type: DataType
    output_type: DataType
    pe: int
    v_bits: int
    gamma_frac_bits: int
    mu_frac_bits: int
    shift: int
    stat_channels: int | None = None
    stat_bits: int | None = None  # reuse: S type, if not that of an INSTA-Th on this input


PRELU_SPECS = [
    # own statistics, INT8 4x4x8 PE 2: the lowering's numbers (k = 4, Gf = 8, v INT12, F = 14)
    PreluSpec("hls_prelu_own_i8", "alpha", 8, 4, INT(8), INT(8), 2, 12, 8, 4, 14),
    # reuse, INT8 4x4x8 PE 2, C_stat 4, S as INT48 (as from an INSTA-Th on a wider input), so
    # Mv S + Bv needs 66 bits: ap_int arithmetic beyond 64 bits, exact
    PreluSpec("hls_prelu_reuse_i8", "reuse", 8, 4, INT(8), INT(8), 2, 8, 8, 0, 10, 4, 48),
    # reuse, UINT4 3x3x16 PE 8 (2 evaluators), S of an 8-channel UINT4 3x3 INSTA-Th, Gf = 0
    PreluSpec("hls_prelu_reuse_u4", "reuse", 16, 3, UINT(4), INT(5), 8, 8, 0, 0, 2, 8),
]


def _v_raw(params: dict, s: np.ndarray) -> np.ndarray:
    """Mv S + Bv (frames, C) as Python integers (before rounding)."""
    return params["Mv"].astype(object) * s.astype(object) + params["Bv"].astype(object)


def _own_statistic(cfg: InstaPReLU, params: dict, x: np.ndarray, stat) -> np.ndarray:
    if cfg.form == "alpha":
        return statistic(x << cfg.mu_frac_bits, params["mu"])
    return np.tile(stat.reshape(x.shape[0], -1), (1, cfg.channels // cfg.stat_channels))


def _gamma(cfg: InstaPReLU, params: dict, s: np.ndarray) -> np.ndarray:
    vt = INT(cfg.v_bits)
    v = np.clip(rne_shift(_v_raw(params, s), cfg.stat_exponent), vt.min, vt.max)
    return params["table"][v.astype(np.int64) - vt.min]


def _prelu_frames(spec: PreluSpec, cfg_stub: dict, rng) -> tuple[np.ndarray, np.ndarray | None]:
    t, c, nv = spec.input_type, spec.channels, spec.size**2
    x = np.concatenate([_skewed(rng, t, (FRAMES, nv, c)), _extremes(t, nv, c)])
    if spec.form == "alpha":
        return x, None
    # S of a small INSTA-Th on other random frames; the last two frames at the type's ends
    th_x = _skewed(rng, t, (FRAMES + 2, nv, spec.stat_channels))
    s = statistic(th_x, rng.integers(t.min, t.max + 1, spec.stat_channels))
    st = cfg_stub["stat_type"]
    s[-2:] = [[st.min], [st.max]]
    return x, s[:, None, :]


def _tie(value: int, shift: int, target: int) -> int:
    """The offset b with value + b exactly half an LSB above target * 2^shift: a rounding tie
    whose floor is target (so the parity of target decides half-to-even)."""
    return (target << shift) + (1 << (shift - 1)) - value


def _tie_offsets(cfg: InstaPReLU, mv: np.ndarray, s0: np.ndarray, rng) -> np.ndarray:
    """Bv: random and small, except that in frame 0 the even channels whose v lies inside
    INT(v_bits) get Mv S + Bv exactly on a rounding tie, with even and odd floors in turn."""
    ev, vt = cfg.stat_exponent, INT(cfg.v_bits)
    bv = rng.integers(-4, 4, mv.size)
    if ev == 0:
        return bv  # v = Mv S + Bv: nothing is rounded
    out, parity = bv.tolist(), 0
    for ch in range(0, mv.size, 2):
        ms = int(mv[ch]) * int(s0[ch])
        near = (ms >> ev) // 2 * 2 + parity  # within 1 of the v of Mv S: |Bv| < 2^(Ev+1)
        if vt.min <= near < vt.max:
            out[ch], parity = _tie(ms, ev, near), 1 - parity
    return np.array(out, dtype=np.int64)


def _tie_adds(cfg: InstaPReLU, params: dict, x0: np.ndarray, g0: np.ndarray, rng) -> np.ndarray:
    """add: random, except that on the odd channels the first element of frame 0 (x0, with that
    frame's gamma g0) lands exactly on a rounding tie of y, with an even floor on channels 1 mod 4
    and an odd one on channels 3 mod 4, inside the output range."""
    shift, bits, ot = cfg.shift + cfg.gamma_frac_bits, cfg.input_type.bits, cfg.output_type
    add = rng.integers(-(1 << (shift + bits - 1)), 1 << (shift + bits - 1), x0.size).tolist()
    for ch in range(1, x0.size, 2):
        d0 = (int(x0[ch]) << cfg.gamma_frac_bits) - int(g0[ch])
        f0 = int(params["mul_pos"][ch] if d0 >= 0 else params["mul_neg"][ch])
        target = int(rng.integers(ot.min // 2, ot.max // 2 + 1)) // 2 * 2 + ch // 2 % 2
        add[ch] = _tie(f0 * d0, shift, target)
    return np.array(add, dtype=np.int64)


def _prelu_case(spec: PreluSpec) -> Case:
    """Random constants valid for the types, mu (own form) with channel 0 at max and channel 1 at
    min, Ev such that the random frames keep v inside INT(v_bits) and the extremes saturate it,
    then Bv and add placed for rounding ties (the gamma table of the lowering's function)."""
    rng, t, c, k = _rng(spec.name), spec.input_type, spec.channels, spec.mu_frac_bits
    table = gamma_table(spec.v_bits - 4, 2.0 ** -(t.bits // 2), spec.gamma_frac_bits, spec.v_bits)
    extra: dict = {"mu_frac_bits": k}
    if spec.form == "reuse":
        bound = spec.size**2 * (t.max - t.min) ** 3
        st = INT(spec.stat_bits) if spec.stat_bits else smallest_type(-bound, bound)
        extra = {"stat_channels": spec.stat_channels, "stat_type": st}
    x, stat = _prelu_frames(spec, extra, rng)
    mv = rng.integers(-(2**17), 2**17, c)
    params: dict = {"Mv": np.where(mv == 0, 1, mv), "Bv": np.zeros(c, dtype=np.int64)}
    if spec.form == "alpha":
        mu = rng.integers(t.min << k, (t.max << k) + 1, c)
        mu[0], mu[1] = t.max << k, t.min << k  # the S extremes under all-min / all-max frames
        params["mu"] = mu
    s = _own_statistic(_stub(spec, extra, 0), params, x, stat)
    # a typical |v| of 2^(v_bits - 3)
    typical = float(np.median(np.abs(_v_raw(params, s[:FRAMES]).astype(float)))) + 1
    ev = max(0, int(np.log2(typical)) - (spec.v_bits - 3))
    params["Bv"] = _tie_offsets(_stub(spec, extra, ev), params["Mv"], s[0], rng)
    params |= {
        "table": table,
        "mul_pos": rng.integers(1 << 13, 1 << 15, c),
        "mul_neg": rng.integers(-(1 << 12), 1 << 14, c),
    }
    cfg = _stub(spec, extra, ev, table)
    params["add"] = _tie_adds(cfg, params, x[0, 0], _gamma(cfg, params, s[:1])[0], rng)
    add_type = smallest_type(int(params["add"].min()), int(params["add"].max()))
    cfg = _stub(spec, extra, ev, table, add_type)
    inputs = [x] if stat is None else [x, stat]
    return Case(Node(cfg, ["x", *(["s"] if stat is not None else [])], ["y"], params), inputs)


def _stub(spec: PreluSpec, extra: dict, ev: int, table=None, add_type: DataType | None = None):
    table_type = smallest_type(int(table.min()), int(table.max())) if table is not None else INT(16)
    return InstaPReLU(
        name=spec.name, channels=spec.channels, height=spec.size, width=spec.size,
        input_type=spec.input_type, output_type=spec.output_type, form=spec.form,
        v_exponent=spec.v_bits - 4, stat_exponent=ev, shift=spec.shift, table_type=table_type,
        gamma_frac_bits=spec.gamma_frac_bits, v_bits=spec.v_bits,
        pe=spec.pe, add_type=add_type or INT(32), **extra,
    )  # fmt: skip


# --- SE forms: INSTA-Th+ and INSTA-PReLU+ ----------------------------------------------------------
@dataclass(frozen=True)
class SESpec:
    """An SE-form configuration under test (the parameters are drawn in _se_case). The output
    fields only matter for INSTA-PReLU+."""

    name: str
    module: str  # "threshold" (INSTA-Th+) or "prelu" (INSTA-PReLU+)
    channels: int
    size: int
    input_type: DataType
    pe: int
    hidden: int
    v_exponent: int
    v_bits: int
    mu_frac_bits: int = 0
    evaluators: int | None = None
    statistic_output: bool = False
    output_type: DataType = INT(8)
    gamma_frac_bits: int = 8
    shift: int = 14


# (Foldings where the RTL's SE keeps up with the frame, a config rule of INSTA-Th+.)
SE_SPECS = [
    # INSTA-Th+ INT8 4x4x8 PE 2, hidden 2, the lowering's grids (v INT12 on 2^-8), the S port
    SESpec("hls_th_se_i8", "threshold", 8, 4, INT(8), 2, 2, 8, 12, statistic_output=True),
    # INSTA-Th+ UINT4 4x4x16 PE 4 with 2 evaluators, hidden 4, v INT8 on 2^-4
    SESpec("hls_th_se_u4", "threshold", 16, 4, UINT(4), 4, 4, 4, 8, evaluators=2),
    # INSTA-Th+ INT8 4x4x8 PE 2, hidden 2, the lowering's grids and mu on 2^-4 (k = 4; the seed
    # of this name gives frame A an odd h, which _place_v_ties needs)
    SESpec("hls_th_se_mu4_i8", "threshold", 8, 4, INT(8), 2, 2, 8, 12, mu_frac_bits=4),
    # INSTA-PReLU+ INT8 4x4x8 PE 2, hidden 2: the lowering's numbers (k = 4, Gf = 8, v INT12)
    SESpec("hls_prelu_se_i8", "prelu", 8, 4, INT(8), 2, 2, 8, 12, mu_frac_bits=4),
    # INSTA-PReLU+ UINT4 3x3x16 PE 2 (NF = 8), hidden 4, k = 2, Gf = 0, v INT8 on 2^-4
    SESpec("hls_prelu_se_u4", "prelu", 16, 3, UINT(4), 2, 4, 4, 8, mu_frac_bits=2,
           output_type=INT(5), gamma_frac_bits=0),
]  # fmt: skip
FRAME_A = FRAMES + 2  # after the random frames and the extremes: A (m3, v ties), then B (h tie)


def _se_mu(spec: SESpec, rng: np.random.Generator) -> np.ndarray:
    """mu (units of 2^-k) with channel 0 at max and channel 1 at min (the S extremes); on x's grid
    (the tie frames need x 2^k - mu = 0), except odd channels from 3 on when k > 0."""
    t, c, k = spec.input_type, spec.channels, spec.mu_frac_bits
    base = rng.integers(t.min, t.max + 1, c)
    base[0], base[1] = t.max, t.min
    mu = base << k
    if k:
        off = (np.arange(c) % 2 == 1) & (np.arange(c) >= 3)
        step = rng.integers(1, 1 << k, c)
        mu = np.where(off, np.where(base < t.max, mu + step, mu - step), mu)
    return mu


def _se_grid(spec: SESpec, s_random: np.ndarray) -> tuple[int, int]:
    """(a, r): the tie frames put 2^r (times an odd count) elements at a deviation of 2^a input
    steps, S = +-odd 2^(3(a + k) + r); the SE scales S by 2^-(3(a + k) + r + 1), so a typical
    random S (~2^(3(a + k) + r + 2)) gives m3 of a few units, but at most so much that the S
    extremes (H*W (2^N - 1)^3 2^3k) still saturate m3 with kf = 1. 2^a <= 2^(N-1) always fits
    on one side of mu; 2^r <= H*W."""
    k, t, nv = spec.mu_frac_bits, spec.input_type, spec.size**2
    typical = max(1.0, float(np.median(np.abs(s_random))) / 2 ** (3 * k) / 4)
    te = min(int(np.log2(typical)), 3 * t.bits + int(np.log2(nv)) - 9)
    a = min(max(te // 3, 1), t.bits - 1)
    return a, min(max(te - 3 * a, 0), int(np.log2(nv)) - 1)


def _se_tie_frames(spec: SESpec, mu: np.ndarray, grid: tuple[int, int], rng) -> np.ndarray:
    """Frame A: in the even channels 2^r n elements (n odd) at x 2^k - mu = +-2^(a + k), the rest
    at x 2^k = mu: S = +-n 2^(3(a + k) + r), so m3 = kf n / 2 is a tie (_se_params); odd channels
    random. Frame B: S = 0 except S_0 in -(1, 3) 2^(3(a + k) + r), so m3 = -e_0 (h_0 a tie)."""
    t, c, nv, k = spec.input_type, spec.channels, spec.size**2, spec.mu_frac_bits
    (a, r), dev = grid, 2 ** grid[0]
    base = np.clip(np.round(mu / 2**k), t.min, t.max).astype(np.int64)
    tie_a = _skewed(rng, t, (1, nv, c))[0]
    for ch in range(0, c, 2):
        n = (2 * int(rng.integers(0, (nv >> r) // 2 + (nv >> r) % 2)) + 1) << r
        tie_a[:, ch] = base[ch]
        tie_a[:n, ch] += dev if base[ch] + dev <= t.max else -dev
    tie_b = np.tile(base, (nv, 1))
    unit = 1 << (3 * a + r)  # mu_0 is at max: n elements at -d with unit < n d^3 < 3 unit
    n, d = next((n, d) for d in range(1, t.max - t.min + 1) for n in range(1, nv + 1)
                if unit < n * d**3 < 3 * unit)  # fmt: skip
    tie_b[:n, 0] -= d
    return np.stack([tie_a, tie_b])


def _se_params(spec: SESpec, grid: tuple[int, int], rng) -> tuple[SEConfig, dict]:
    """fold_se of random floats shaped for the edges (as tests/hw/test_insta_se.py): in the even
    channels k = kf 2^-(3(a + k) + r + 5) with kf odd (m3 ties on frame A), kf_0 = 1; w1[0] > 0 but
    w1[0, 0] = -64 with s1[0] = 1/128 (h_0 = 1/2 on frame B, 255 on the extremes); w2 rows 0 and 1
    at 127 and -128 (v saturates at both ends); s2 of the even channels odd / 512 (v ties)."""
    c, h = spec.channels, spec.hidden
    rnd = np.arange(c) % 2 == 0
    kf = np.where(rnd, _odd(rng, c, 5), rng.uniform(1.2, 4.0, c))
    kf[0] = 1
    ke = 3 * (grid[0] + spec.mu_frac_bits) + grid[1] + 5
    k = [Fraction(float(v)) / 2**ke for v in kf]
    w1 = rng.integers(-128, 128, (h, c))
    w1[0], w1[0, 0] = 100, -64
    w2 = rng.integers(-128, 128, (c, h))
    w2[0], w2[1] = 127, -128
    s1 = np.where(np.arange(h) % 2 == 0, _odd(rng, h, 3), rng.uniform(0.5, 3.0, h)) / 128
    s1[0] = 1 / 128
    s2 = np.where(rnd, _odd(rng, c, 5), rng.uniform(1.0, 5.0, c)) / 512
    s2[:2] = 3 / 512
    return fold_se(k, w1, s1, w2, s2, m3_exponent=4, hidden_exponent=4,
                   v_exponent=spec.v_exponent, v_bits=spec.v_bits)  # fmt: skip


def _se_statistic(spec: SESpec, mu: np.ndarray, x: np.ndarray) -> np.ndarray:
    return statistic(x << spec.mu_frac_bits, mu)


def _se_frames_and_params(spec: SESpec) -> tuple[np.ndarray, np.ndarray, SEConfig, dict, int]:
    """(x, mu, SE config, SE params, stat bits): random frames, the extremes, tie frames A and B,
    and w2 adjusted for v ties on frame A (tests/hw/test_insta_se._place_v_ties)."""
    rng, t, c, nv = _rng(spec.name), spec.input_type, spec.channels, spec.size**2
    mu = _se_mu(spec, rng)
    random = _skewed(rng, t, (FRAMES, nv, c))
    grid = _se_grid(spec, _se_statistic(spec, mu, random))
    x = np.concatenate([random, _extremes(t, nv, c), _se_tie_frames(spec, mu, grid, rng)])
    se, p = _se_params(spec, grid, rng)
    _place_v_ties(se, p, _se_statistic(spec, mu, x[FRAME_A : FRAME_A + 1]), np.arange(c) % 2 == 0)
    k = spec.mu_frac_bits
    stat_bits = smallest_type(-nv * ((t.max - t.min) << k) ** 3, nv * ((t.max - t.min) << k) ** 3)
    return x, mu, se, p, stat_bits.bits


def _th_se_case(spec: SESpec) -> Case:
    """INSTA-Th+: the SE frames plus three permutations of frame A (same S, so same v), M random
    (tanh moves T by up to half the input range), A placed so that T is exactly a value of frame
    A, one LSB below or one above (channel mod 3), half the channels sigma < 0: one LSB of v
    more or less on frame A (a wrong m3 or v tie) flips bits."""
    x, mu, se, p, stat_bits = _se_frames_and_params(spec)
    rng, t, c, nv, e = _rng(spec.name + "/th"), spec.input_type, spec.channels, spec.size**2, 20
    tie = x[FRAME_A]
    x = np.concatenate([x, _permutations(rng, tie, 3)])
    tanh = tanh_table(spec.v_exponent, spec.v_bits, 12)
    v_tie = se_v(spec.name, se, p, _se_statistic(spec, mu, tie[None]), stat_bits)[0]
    m_max = int((t.max - t.min) / 2 * 2**e / (3 << 12)) + 1
    m = rng.integers(-m_max, m_max + 1, c)
    target = tie[rng.integers(0, nv, c), np.arange(c)]
    delta = np.array([0, -1, 1])[np.arange(c) % 3]
    a = [(int(tv) << e) + int(d) - int(mi) * int(tanh[vi - se.v_type.min])
         for tv, d, mi, vi in zip(target, delta, m, v_tie, strict=True)]  # fmt: skip
    sign = np.where(np.arange(c) % 4 < 2, 1, -1)
    params = p | {"mu": mu, "A": np.array(a, dtype=np.int64), "M": m, "sign": sign, "tanh": tanh}
    cfg = InstaThreshold(name=spec.name, channels=c, height=spec.size, width=spec.size,
                         input_type=t, exponent=e, pe=spec.pe, evaluators=spec.evaluators,
                         statistic_output=spec.statistic_output, se=se,
                         mu_frac_bits=spec.mu_frac_bits)  # fmt: skip
    outputs = ["y", "x_delayed", "s"][: len(cfg.output_types)]
    return Case(Node(cfg, ["x"], outputs, params), [x])


def _prelu_se_case(spec: SESpec) -> Case:
    """INSTA-PReLU+: the SE frames, the gamma table of the lowering, random slopes, add placed for
    rounding ties of y on frame 0 (_tie_adds)."""
    x, mu, se, p, stat_bits = _se_frames_and_params(spec)
    rng, t, c = _rng(spec.name + "/prelu"), spec.input_type, spec.channels
    table = gamma_table(spec.v_exponent, 2.0 ** -(t.bits // 2), spec.gamma_frac_bits, spec.v_bits)
    cfg = InstaPReLU(name=spec.name, channels=c, height=spec.size, width=spec.size,
                     input_type=t, output_type=spec.output_type, form="se",
                     v_exponent=spec.v_exponent, stat_exponent=0, shift=spec.shift,
                     table_type=smallest_type(int(table.min()), int(table.max())),
                     gamma_frac_bits=spec.gamma_frac_bits, v_bits=spec.v_bits,
                     mu_frac_bits=spec.mu_frac_bits, se=se, pe=spec.pe)  # fmt: skip
    params = p | {
        "mu": mu, "table": table,
        "mul_pos": rng.integers(1 << 13, 1 << 15, c), "mul_neg": rng.integers(-(1 << 12), 1 << 14, c),
    }  # fmt: skip
    v0 = se_v(spec.name, se, p, _se_statistic(spec, mu, x[:1]), stat_bits)[0]
    params["add"] = _tie_adds(cfg, params, x[0, 0], table[v0 - se.v_type.min], rng)
    add_type = smallest_type(int(params["add"].min()), int(params["add"].max()))
    return Case(Node(replace(cfg, add_type=add_type), ["x"], ["y"], params), [x])


def _se_case(spec: SESpec) -> Case:
    return _th_se_case(spec) if spec.module == "threshold" else _prelu_se_case(spec)


# --- the tests -------------------------------------------------------------------------------------
@functools.cache
def _case(name: str) -> Case:
    for cfg in THRESHOLD_CONFIGS:
        if cfg.name == name:
            return _threshold_case(cfg)
    for spec in SE_SPECS:
        if spec.name == name:
            return _se_case(spec)
    return _prelu_case(next(s for s in PRELU_SPECS if s.name == name))


@functools.cache
def _golden(name: str) -> list[np.ndarray]:
    case = _case(name)
    return kind_of(case.node.config).execute(case.node.config, case.node.params, case.inputs)


@pytest.mark.parametrize("name", [c.name for c in THRESHOLD_CONFIGS])
def test_insta_threshold_csim_matches_golden(name, tmp_path):
    """One compile and one process per configuration (the edge tests below need no compiler, so
    parallel workers never build the same binary twice)."""
    case = _case(name)
    got, expected = csim_streams(case.node, case.inputs, tmp_path), _golden(name)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape
        np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize("name", [c.name for c in THRESHOLD_CONFIGS])
def test_insta_threshold_data_reaches_the_edges(name):
    """The frames exercise what the kernel could get wrong: S at both ends of acc_type (which is
    the narrowest type), thresholds clamped at both ends, ties in both directions, and M
    matters (zeroing it changes bits)."""
    case = _case(name)
    cfg, params, (x,) = case.node.config, case.node.params, case.inputs
    t = cfg.input_type
    s = _threshold_statistic(cfg, x, params["mu"])
    bound = cfg.num_vectors * cfg.max_deviation**3
    assert s.min() == -bound and s.max() == bound
    assert not INT(cfg.acc_type.bits - 1).allowed(np.array([-bound, bound]))
    th = thresholds(cfg, params, s)
    assert th.min() == t.min - 1 and th.max() == t.max + 1  # clamped on both sides
    ties = x[-5:-2] == th[-5:-2, None, :]  # the permutations of the tie frame
    pos, neg = params["sign"] > 0, params["sign"] < 0
    assert ties[..., pos].sum() >= 3 and ties[..., neg].sum() >= 3
    got = _golden(name)[0]  # equal to the C-simulation (test_*_csim_matches_golden)
    assert np.all(got[-5:-2][ties] == 1)  # x == ceil(T) resp. floor(T) gives +1
    flat = dict(params, M=np.zeros_like(params["M"]))
    without_m = kind_of(cfg).execute(cfg, flat, [x])[0]
    assert np.mean(without_m[:FRAMES] != got[:FRAMES]) > 0.05


@pytest.mark.parametrize("name", [s.name for s in PRELU_SPECS])
def test_insta_prelu_csim_matches_golden(name, tmp_path):
    case = _case(name)
    got, expected = csim_streams(case.node, case.inputs, tmp_path), _golden(name)
    assert len(got) == len(expected) == 1
    assert got[0].shape == expected[0].shape
    np.testing.assert_array_equal(got[0], expected[0])


def _assert_ties(raw: np.ndarray, shift: int, t: DataType) -> None:
    """Rounding ties of raw * 2^-shift with an even and with an odd floor inside t's range (where
    half-to-even differs from rounding half up resp. half down)."""
    raw = np.asarray(raw, dtype=object)
    floor = raw >> shift
    tie = (raw - (floor << shift) == 1 << (shift - 1)) & (floor >= t.min) & (floor < t.max)
    assert (tie & (floor % 2 == 0)).any() and (tie & (floor % 2 == 1)).any()


@pytest.mark.parametrize("name", [s.name for s in PRELU_SPECS])
def test_insta_prelu_data_reaches_the_edges(name):
    """v saturates at both ends and has rounding ties; y saturates at both ends and has rounding
    ties; Mv matters (zeroing it changes outputs of the random frames)."""
    case = _case(name)
    cfg, params = case.node.config, case.node.params
    x, stat = case.inputs[0], (case.inputs[1] if len(case.inputs) > 1 else None)
    s = _own_statistic(cfg, params, x, stat)
    raw = _v_raw(params, s)
    v = rne_shift(raw, cfg.stat_exponent)
    vt = INT(cfg.v_bits)
    assert (v < vt.min).any() and (v > vt.max).any()
    if cfg.stat_exponent:
        _assert_ties(raw, cfg.stat_exponent, vt)
    g = _gamma(cfg, params, s)[:, None, :]
    d = (x << cfg.gamma_frac_bits) - g
    y = np.where(d >= 0, params["mul_pos"] * d, params["mul_neg"] * d) + params["add"]
    shift = cfg.shift + cfg.gamma_frac_bits
    ot = cfg.output_type
    _assert_ties(y, shift, ot)
    q = rne_shift(y, shift)
    assert (q < ot.min).any() and (q > ot.max).any()
    assert (d < 0).any() and (d > 0).any()
    got = _golden(name)[0]  # equal to the C-simulation (test_*_csim_matches_golden)
    flat = dict(params, Mv=np.zeros_like(params["Mv"]))
    without = kind_of(cfg).execute(cfg, flat, case.inputs)[0]
    assert np.mean(without[:FRAMES] != got[:FRAMES]) > 0.05


@pytest.mark.parametrize("name", [s.name for s in SE_SPECS])
def test_insta_se_csim_matches_golden(name, tmp_path):
    """INSTA-Th+ (all outputs, the S port included) and INSTA-PReLU+ vs the golden functions."""
    case = _case(name)
    got, expected = csim_streams(case.node, case.inputs, tmp_path), _golden(name)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape
        np.testing.assert_array_equal(g, e)


def _se_reached(cfg, params: dict, x: np.ndarray) -> dict[str, int]:
    """How often the SE of the frames x saturates and ties, per rescaler (before the clamp)."""
    se = cfg.se
    s = statistic(x << cfg.mu_frac_bits, params["mu"])
    it = internals(se, params, s)
    assert np.array_equal(it["v"], se_v(cfg.name, se, params, s, cfg.acc_type.bits))
    m3 = rne_shift(it["pm"], se.m3_shift)
    h = rne_shift(it["ph"], se.hidden_shift)
    v = rne_shift(it["pv"], se.v_shift)
    vt = se.v_type
    return {
        "m3_below": int(np.sum(m3 < -128)), "m3_above": int(np.sum(m3 > 127)),
        "h_above": int(np.sum(h > 255)),
        "v_below": int(np.sum(v < vt.min)), "v_above": int(np.sum(v > vt.max)),
        "m3_ties": _ties(it["pm"], se.m3_shift, -128, 127),
        "h_ties": _ties(it["ph"], se.hidden_shift, 0, 255),
        "v_ties": _ties(it["pv"], se.v_shift, vt.min, vt.max),
    }  # fmt: skip


@pytest.mark.parametrize("name", [s.name for s in SE_SPECS])
def test_insta_se_data_reaches_the_edges(name):
    """m3 saturates at both ends, h at 255, v at both ends of INT(v_bits) (the extremes), and
    every rescaler rounds ties inside its range (m3 on frame A, h on frame B, v where w2 was
    placed); the SE matters: with w2 = 0 (v = 0) outputs of the random frames change."""
    case = _case(name)
    cfg, params, x = case.node.config, case.node.params, case.inputs[0]
    reached = _se_reached(cfg, params, x)
    assert all(n > 0 for n in reached.values()), reached
    on_a = _se_reached(cfg, params, x[FRAME_A : FRAME_A + 1])
    assert on_a["m3_ties"] == (cfg.channels + 1) // 2 and on_a["v_ties"] > 0  # even channels
    got = _golden(name)[0]  # equal to the C-simulation (test_insta_se_csim_matches_golden)
    flat = dict(params, se_w2=np.zeros_like(params["se_w2"]))
    without = kind_of(cfg).execute(cfg, flat, case.inputs)[0]
    assert np.mean(without[:FRAMES] != got[:FRAMES]) > 0.05
    if isinstance(cfg, InstaThreshold):  # the permutations of frame A hit T exactly
        th = thresholds(cfg, params, _threshold_statistic(cfg, x, params["mu"]))
        ties = x[-3:] == th[-3:, None, :]
        assert ties.sum() >= 3 and np.all(got[-3:][ties] == 1)
    else:  # y rounds ties (frame 0, _tie_adds), saturates at both ends, both slopes occur
        s = statistic(x << cfg.mu_frac_bits, params["mu"])
        v = se_v(cfg.name, cfg.se, params, s, cfg.acc_type.bits)
        d = (x << cfg.gamma_frac_bits) - params["table"][v - cfg.se.v_type.min][:, None, :]
        y = np.where(d >= 0, params["mul_pos"] * d, params["mul_neg"] * d) + params["add"]
        shift, ot = cfg.shift + cfg.gamma_frac_bits, cfg.output_type
        _assert_ties(y, shift, ot)
        q = rne_shift(y, shift)
        assert (q < ot.min).any() and (q > ot.max).any()
        assert (d < 0).any() and (d > 0).any()  # both slopes


@pytest.mark.parametrize(
    "name", [c.name for c in THRESHOLD_CONFIGS] + [s.name for s in PRELU_SPECS + SE_SPECS]
)
def test_generated_insta_kernel_passes_lint(name, tmp_path):
    top, testbench = emit_hls(_case(name).node, tmp_path)
    assert lint_file(top) == []
    assert lint_file(testbench) == []


def test_widths_follow_the_config():
    """The types the emitter passes in are the exact ones (numerics 8-10 examples)."""
    ctx = hls_kernel(_case("hls_insta_i8").node).context
    types = dict(ctx["types"])
    assert types["acc_t"] == "ap_int<29>" and types["d_t"] == "ap_int<9>"  # 16*255^3 < 2^28
    assert types["cube_t"] == "ap_int<25>" and types["th_t"] == "ap_int<9>"
    ctx = hls_kernel(_case("hls_insta_i8_k4").node).context
    types, consts = dict(ctx["types"]), {n: v for n, _, v in ctx["consts"]}
    # k = 4: x 2^4 and mu in -2048..2032, d = 255*16 (13 bits), S 16*(255*16)^3 < 2^40
    assert types["shifted_t"] == types["mu_t"] == "ap_int<12>" and types["d_t"] == "ap_int<13>"
    assert types["cube_t"] == "ap_int<37>" and types["acc_t"] == "ap_int<41>"
    assert types["sum_t"] == "ap_int<59>" and consts["MU_SHIFT"] == 4  # 2^17 * 2^40 + 2^47 + 2^38
    ctx = hls_kernel(_case("hls_prelu_own_i8").node).context
    types, consts = dict(ctx["types"]), {n: v for n, _, v in ctx["consts"]}
    assert types["d_t"] == "ap_int<13>" and types["acc_t"] == "ap_int<41>"  # (255*16)^3*16
    assert consts["VSUM_BITS"] == 18 + 41 and consts["Y_SHIFT"] == 22
    consts = {n: v for n, _, v in hls_kernel(_case("hls_prelu_reuse_i8").node).context["consts"]}
    assert consts["VSUM_BITS"] == 66  # 2^17 * 2^47 + 2^47 needs 66 bits: beyond 64
    node = _case("hls_th_se_i8").node
    ctx, se = hls_kernel(node).context, node.config.se
    types, consts = dict(ctx["types"]), {n: v for n, _, v in ctx["consts"]}
    # w1 m3: 8 * [-128*127, 128*128] needs 19 bits; w2 h: 2 * [-128*255, 127*255] 17
    assert types["fc1_t"] == "ap_int<19>" and types["fc2_t"] == "ap_int<17>"
    assert types["tanh_t"] == "ap_int<15>" and types["sum_t"] == "ap_int<49>"  # +-3 * 2^12
    assert consts["M3_W"] == max(29 + 18, se.m3_shift + 9)  # Mm * S (INT29), or the shift
    assert consts["HID_W"] == max(19 + 18, se.hidden_shift + 9)
    assert consts["V_W"] == max(17 + 18, se.v_shift + 13)


def test_refusals_are_clear(tmp_path):
    cfg = THRESHOLD_CONFIGS[0]
    plus = _case("hls_th_se_i8").node
    wide_tanh = dict(plus.params, tanh=np.append(plus.params["tanh"][:-1], (3 << 12) + 1))
    with pytest.raises(ConfigError, match=r"hls_th_se_i8: the tanh table holds -12170\.\.12289, "
                       r"outside \+-3 \* 2\^tanh_frac_bits = -12288\.\.12288"):  # fmt: skip
        hls_kernel(Node(plus.config, ["x"], ["y", "z", "s"], wide_tanh))
    th_k = _case("hls_insta_i8_k4").node
    bad_th_mu = dict(th_k.params, mu=np.full(8, 127 * 16 + 1))
    with pytest.raises(ConfigError, match=r"hls_insta_i8_k4: mu must lie in the input range "
                       r"\(-2048\.\.2032 in units of 2\^-mu_frac_bits\)"):  # fmt: skip
        hls_kernel(Node(th_k.config, ["x"], ["y", "z", "s"], bad_th_mu))
    prelu_plus = _case("hls_prelu_se_i8").node
    bad_se_mu = dict(prelu_plus.params, mu=np.full(8, 127 * 16 + 1))
    with pytest.raises(ConfigError, match=r"mu must lie in the input range \(-2048\.\.2032"):
        hls_kernel(Node(prelu_plus.config, ["x"], ["y"], bad_se_mu))
    own = _case("hls_prelu_own_i8").node
    bad_mu = dict(own.params, mu=np.full(8, 127 * 16 + 1))
    with pytest.raises(ConfigError, match=r"mu must lie in the input range \(-2048\.\.2032"):
        hls_kernel(Node(own.config, ["x"], ["y"], bad_mu))
    reuse = _case("hls_prelu_reuse_u4").node
    wide = replace(reuse.config, pe=16)
    with pytest.raises(ConfigError, match="PE=16 lanes per word, which must divide stat_chan"):
        hls_kernel(Node(wide, ["x", "s"], ["y"], reuse.params))
    with pytest.raises(ConfigError, match="3 output streams; use csim_streams"):
        csim(_case(cfg.name).node, _case(cfg.name).inputs[0], tmp_path)


# --- snapshots of the generated code -------------------------------------------------------------
SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"
REGENERATE = ".venv/bin/python -m tests.hls.test_insta_hls --update"


def _pattern(n: int, period: int, offset: int = 0) -> np.ndarray:
    return (5 * np.arange(n) + offset) % period


def snapshot_nodes() -> list[Node]:
    """Closed-form parameters (no random generator), so the snapshots are stable."""
    th = InstaThreshold(name="snap_insta_th", channels=4, height=3, width=3, input_type=UINT(4),
                        exponent=8, pe=2, statistic_output=True)  # fmt: skip
    th_params = {"mu": _pattern(4, 16), "A": 1000 * _pattern(4, 7, 1), "M": _pattern(4, 9) - 4,
                 "sign": np.array([1, -1, 1, -1])}  # fmt: skip
    th_k = InstaThreshold(name="snap_insta_th_k", channels=4, height=3, width=3,
                          input_type=UINT(4), exponent=14, pe=2, mu_frac_bits=2)  # fmt: skip
    common = dict(channels=4, height=3, width=3, input_type=INT(4), output_type=INT(4),
                  v_exponent=2, stat_exponent=6, shift=3, table_type=INT(6), gamma_frac_bits=2,
                  v_bits=4, add_type=INT(12), pe=2)  # fmt: skip
    own = InstaPReLU(name="snap_insta_prelu_own", form="alpha", mu_frac_bits=1, **common)
    reuse = InstaPReLU(name="snap_insta_prelu_reuse", form="reuse", stat_channels=2,
                       stat_type=INT(14), **common)  # fmt: skip
    prelu = {"Mv": 300 * _pattern(4, 5) - 600, "Bv": _pattern(4, 64) - 32,
             "table": gamma_table(2, 0.25, 2, 4), "mul_pos": 8 + _pattern(4, 4),
             "mul_neg": _pattern(4, 6) - 2, "add": 100 * _pattern(4, 11) - 500}  # fmt: skip
    se = SEConfig(channels=4, hidden=2, m3_exponent=4, hidden_exponent=4, v_exponent=2,
                  v_bits=4, m3_shift=10, hidden_shift=8, v_shift=12)  # fmt: skip
    se_params = {"se_Mm": 900 * _pattern(4, 7) - 2000, "se_w1": _pattern(8, 13).reshape(2, 4) - 6,
                 "se_Mh": 300 * _pattern(2, 5, 1), "se_w2": _pattern(8, 11, 2).reshape(4, 2) - 5,
                 "se_Mo": 700 * _pattern(4, 9, 3) - 2500}  # fmt: skip
    th_se = InstaThreshold(name="snap_insta_th_se", channels=4, height=4, width=4,
                           input_type=UINT(4), exponent=14, pe=2, se=se)  # fmt: skip
    prelu_se = InstaPReLU(name="snap_insta_prelu_se", form="se", mu_frac_bits=1, se=se,
                          **(common | {"height": 4, "width": 4}))  # fmt: skip
    return [
        Node(th, ["x"], ["y", "x_delayed", "s"], th_params),
        Node(th_k, ["x"], ["y", "x_delayed"], th_params | {"mu": 3 * _pattern(4, 21)}),
        Node(own, ["x"], ["y"], prelu | {"mu": 2 * _pattern(4, 16) - 16}),
        Node(reuse, ["x", "s"], ["y"], prelu),
        Node(th_se, ["x"], ["y", "x_delayed"],
             th_params | se_params | {"tanh": tanh_table(2, 4, 12)}),
        Node(prelu_se, ["x"], ["y"], prelu | se_params | {"mu": 2 * _pattern(4, 16) - 16}),
    ]  # fmt: skip


def _rendered() -> dict[str, str]:
    return {name: text for node in snapshot_nodes() for name, text in render_hls(node).items()}


@pytest.mark.parametrize("name", sorted(_rendered()))
def test_generated_code_matches_snapshot(name):
    stored = SNAPSHOT_DIR / name
    assert stored.is_file(), f"missing snapshot {stored}; run {REGENERATE}"
    assert _rendered()[name] == stored.read_text(), (
        f"generated {name} differs from {stored}; if the change is intended, run {REGENERATE}"
    )


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit(f"usage: {REGENERATE}")
    for snapshot_name, text in _rendered().items():
        (SNAPSHOT_DIR / snapshot_name).write_text(text)
        print(f"wrote {SNAPSHOT_DIR / snapshot_name}")
