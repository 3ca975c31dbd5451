"""The cases of the INSTA HLS kernel tests (tests/hls/test_insta_*.py): configurations, parameters
and frames that reach every edge, and their golden outputs, each built once.

The kernels (docs/insta.md has the hardware; docs/hardware.md the HLS conventions):

* `InstaThreshold` (INSTA-Th, `flows/layers/insta_threshold/`): `hls/include/insta_threshold.hpp`,
  top `hls/templates/insta.cpp.j2`, emitter `flows/layers/insta_threshold/hls.py`. Per call one
  frame: read it into a buffer while `S_c = sum (x 2^k - mu_c)^3` accumulates exactly
  (`acc_type`; mu on a grid 2^-k finer than x's, k = `mu_frac_bits`, 0 or 4 here), evaluate
  `th_c = clamp((A'_c + M_c S_c) >> E, min, max + 1)` with `A' = A + 2^E - 1` (sigma > 0, ceil) or
  `A + 2^E` (sigma < 0, floor + 1) by G evaluators, then emit `(x >= th) XOR (sigma < 0)` on `out`
  and the buffered word on `out_delay` (numerics section 9); `out_stat` carries S
  (`statistic_output`).
* `InstaPReLU` (`flows/layers/insta_prelu/`), forms "alpha" (own S with `mu_frac_bits`, frame
  buffered) and "reuse" (S of the INSTA-Th on a second input `in_stat`, C_stat/PE words per frame
  read before the frame; no buffer): `hls/include/insta_prelu.hpp`, same template, emitter
  `insta_prelu/hls.py`.
  v = sat(rne((Mv S + Bv) 2^-Ev)), the gamma table (one copy per evaluator), d = x 2^Gf - g, the
  slope by the sign of d, y = sat(rne((f d + add) 2^-(shift + Gf))), round half to even written
  out (`InstaRne` in `hls/include/insta_common.hpp`). Refused: PE not dividing C_stat, mu
  outside the input range (as the RTL emitter).
* The SE forms (INSTA-Th+: `InstaThreshold` with `se`, INSTA-PReLU+: form "se"): the SE of
  `hls/include/insta_se.hpp` (m3, FC1 + ReLU + h, FC2 + v; exact products, three half-to-even
  rescalings with saturation) between the statistic and the thresholds resp. gamma; INSTA-Th+
  reads `tanh[v]` in place of S. Parameters from `fold_se` of random floats shaped for the edges
  (as tests/hw/test_insta_se.py, whose helpers are reused); frames reach m3 saturation at both
  ends, h at 255, v at both ends and ties in all three rescalers (tests/hls/insta_se_cases.py).
* Widths: every ap_int of the generated `<top>_cfg` struct is derived from the exact range of its
  value (the kinds' `hls.py`), so nothing wraps; the tests drive the extremes (S at
  +-H*W*(2^N - 1)^3 resp. the stat type's ends, v and y saturating at both ends).
* Schedule: the phases of a frame run one after the other (about 2*H*W*C/PE + C/G cycles per
  frame for INSTA-Th and the own-form PReLU; H*W*C/PE + C_stat/PE + C/G for the reuse form). The
  RTL overlaps them with its circular buffer; an HLS DATAFLOW version would need a ping-pong frame
  buffer, which docs/insta.md rules out. Not synthesised (no Vitis HLS here); held to this
  C-simulation and the lint.
* Several streams per kernel: `flows.codegen.csim.csim_streams` and the generic test bench
  `hls/templates/csim_streams_tb.cpp.j2`.

Parameters are built by hand, random but valid for the config types, with the constructed cases
of tests/hw: ties of the threshold (x == ceil(T), resp. floor(T)) and of both roundings, the S
extremes, saturation. Each configuration is compiled once (the binary is cached by content).
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass

import numpy as np

from flows.codegen.csim import csim_streams
from flows.datatypes import INT, UINT, DataType
from flows.fixedpoint import rne_shift
from flows.graph import Node
from flows.hwmodel.ranges import smallest_type
from flows.layers import kind_of
from flows.layers.insta_prelu import InstaPReLU
from flows.layers.insta_prelu.config import gamma_table
from flows.layers.insta_statistics import statistic
from flows.layers.insta_threshold import InstaThreshold

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


# --- cases and golden outputs, each built once -----------------------------------------------------
@functools.cache
def insta_case(name: str) -> Case:
    for cfg in THRESHOLD_CONFIGS:
        if cfg.name == name:
            return _threshold_case(cfg)
    return _prelu_case(next(s for s in PRELU_SPECS if s.name == name))


def golden_of(c: Case) -> list[np.ndarray]:
    """The golden function's outputs of a case."""
    return kind_of(c.node.config).execute(c.node.config, c.node.params, c.inputs)


@functools.cache
def insta_golden(name: str) -> list[np.ndarray]:
    return golden_of(insta_case(name))


def assert_ties(raw: np.ndarray, shift: int, t: DataType) -> None:
    """Rounding ties of raw * 2^-shift with an even and with an odd floor inside t's range (where
    half-to-even differs from rounding half up resp. half down)."""
    raw = np.asarray(raw, dtype=object)
    floor = raw >> shift
    tie = (raw - (floor << shift) == 1 << (shift - 1)) & (floor >= t.min) & (floor < t.max)
    assert (tie & (floor % 2 == 0)).any() and (tie & (floor % 2 == 1)).any()


def assert_csim_matches(c: Case, expected: list[np.ndarray], workdir) -> None:
    """C-simulate the case's kernel (every stream) and compare each output with the golden's."""
    got = csim_streams(c.node, c.inputs, workdir)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape
        np.testing.assert_array_equal(g, e)
