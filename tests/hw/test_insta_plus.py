"""INSTA-Th+ / INSTA-PReLU+ RTL (the InstaSE sub-block inside the INSTA blocks) vs the golden
functions: exact over random skewed frames, the statistic extremes (which saturate the SE's m3, h
and v) and threshold ties, under back-pressure, input gaps and mid-frame resets; steady-state
cycles per frame equal the estimate, and the SE's MAC rule is tight.

The SE block's own rounding ties are proven on the sub-block alone (tests/hw/test_insta_se.py);
here the data must show that the SE matters (zeroing its FC2 weights changes a stated fraction of
the outputs) and that its saturations are reached through the block's own statistic.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest

from flows.codegen import rtl
from flows.datatypes import INT, UINT, DataType
from flows.errors import ConfigError
from flows.graph import Node
from flows.layers import InstaThreshold, kind_of
from flows.layers.insta_se import config as insta_se
from flows.layers.insta_se import fold_se, se_cycles, se_v
from flows.layers.insta_statistics import statistic
from flows.layers.insta_threshold.constants import fold_insta_constants
from flows.layers.insta_threshold.golden import thresholds
from flows.sim import runner as sim
from flows.transforms.insta_to_integer import TANH_FRAC_BITS, V_BITS, V_EXPONENT, tanh_table
from tests.hw import test_insta_prelu as tp
from tests.hw.stimuli import seed_of
from tests.hw.test_insta_se import FIXED, internals
from tests.hw.test_insta_threshold import Spec as ThSpec
from tests.hw.test_insta_threshold import float_module, skewed_frames

RANDOM_FRAMES = 4
TIE_FRAMES = 2


@dataclass(frozen=True)
class Spec:
    channels: int
    height: int
    width: int
    input_type: DataType
    pe: int
    hidden: int
    se_macs: int | None = None  # None: the fewest that keep up
    negative: float = 0.25
    scale: float = 2.0**-4

    def th_spec(self) -> ThSpec:
        return ThSpec(self.channels, self.height, self.width, self.input_type, self.pe,
                      self.negative, self.scale)  # fmt: skip


TH_SPECS = {
    "int8_4x4x8_pe2_h2": Spec(8, 4, 4, INT(8), 2, 2),
    "uint4_6x6x16_pe4_h4_m2": Spec(16, 6, 6, UINT(4), 4, 4, scale=2.0**-2),
}
SLOW_TH_SPECS = {
    "int6_4x4x16_pe4_h4_m4": Spec(16, 4, 4, INT(6), 4, 4, scale=2.0**-3),  # M = gcd(C, hidden)
    "int8_5x5x4_pe1_h1": Spec(4, 5, 5, INT(8), 1, 1),
}


def _se_params(spec: Spec, f: dict, frames: np.ndarray, kb: int, rng) -> tuple:
    """An integer SE (fold_se) whose m3, h and v sit mid-range on `frames`: FC steps rescaled
    once from the first fold's accumulators. Rows w1[0] = 100, w2[0] = 127 and w2[1] = -128
    make the extreme frames saturate h and v at both ends."""
    c, h, hw = spec.channels, spec.hidden, spec.height * spec.width
    sig_x = [Fraction(float(v)) / Fraction(spec.scale) for v in f["sigma"]]
    k = [1 / (hw * sx**3 * 2 ** (3 * kb)) for sx in sig_x]
    w1 = rng.integers(-128, 128, (h, c))
    w1[0] = 100
    w2 = rng.integers(-128, 128, (c, h))
    w2[0], w2[1] = 127, -128
    s1, s2 = np.full(h, 1 / 128), np.full(c, 1 / 512)
    se, p = fold_se(k, w1, s1, w2, s2, **FIXED)
    mu = np.asarray(f["mu_int"], dtype=np.int64)
    s = statistic(frames << kb, mu)
    acc1 = internals(se, p, s)["m3"] @ w1.T  # h = acc1 * s1 on the grids of numerics 10
    s1 = np.full(h, 48 / max(1.0, float(np.median(acc1[acc1 > 0])) if np.any(acc1 > 0) else 1.0))
    se, p = fold_se(k, w1, s1, w2, s2, **FIXED)
    acc2 = internals(se, p, s)["h"] @ w2.T
    s2 = np.full(c, 600 / (16 * max(1.0, float(np.median(np.abs(acc2))))))
    return fold_se(k, w1, s1, w2, s2, **FIXED)


def _extremes(t: DataType, hw: int, c: int) -> np.ndarray:
    """All-min and all-max frames: |S| far beyond the random frames', so m3 saturates."""
    return np.stack([np.full((hw, c), t.min), np.full((hw, c), t.max)])


def th_case(spec: Spec, rng: np.random.Generator) -> tuple[Node, np.ndarray, dict]:
    """INSTA-Th+: the node, frames (random, extremes, ties) and what the ties are."""
    t, hw, c = spec.input_type, spec.height * spec.width, spec.channels
    rand = skewed_frames(spec.th_spec(), RANDOM_FRAMES, rng)
    f = float_module(spec.th_spec(), rand, rng)
    k = fold_insta_constants(**f, H=spec.height, W=spec.width, input_scale=spec.scale,
                             input_type=t, se_tanh_frac_bits=TANH_FRAC_BITS)  # fmt: skip
    params = k.params()
    se, sp = _se_params(spec, {**f, "mu_int": params["mu"]}, rand, 0, rng)
    cfg = InstaThreshold("insta_th", c, spec.height, spec.width, t, exponent=k.E, pe=spec.pe,
                         se=se, se_macs=spec.se_macs, tanh_frac_bits=TANH_FRAC_BITS)  # fmt: skip
    params |= sp | {"tanh": tanh_table(V_EXPONENT, V_BITS, TANH_FRAC_BITS)}
    base = skewed_frames(spec.th_spec(), 1, rng)[0]
    ties = np.stack([rng.permuted(base, axis=0) for _ in range(TIE_FRAMES)])
    # Channels 2, 4, ...: A chosen so that T = t0 exactly, t0 a value of the channel.
    tab_v = _table_operand(cfg, params, statistic(base[None], params["mu"]))[0]
    tie = []
    for ch in range(2, c, 2):
        t0 = int(np.sort(base[:, ch])[hw // 2])
        a = (t0 << cfg.exponent) - int(params["M"][ch]) * int(tab_v[ch])
        if cfg.offset_type.allowed(np.array([a])):
            params["A"][ch] = a
            tie.append(ch)
    frames = np.concatenate([rand, _extremes(t, hw, c), ties])
    return Node(cfg, ["x"], ["y", "x_delayed"], params), frames, {"tie": tie}


def _table_operand(cfg: InstaThreshold, params: dict, s: np.ndarray) -> np.ndarray:
    v = se_v(cfg.name, cfg.se, params, s, cfg.acc_type.bits)
    return params["tanh"][v - cfg.se.v_type.min]


def golden(node: Node, frames: np.ndarray, **override) -> list[np.ndarray]:
    return kind_of(node.config).execute(node.config, {**node.params, **override}, [frames])


def check_se_reaches(node: Node, frames: np.ndarray, s: np.ndarray) -> dict:
    """The SE matters and saturates: zeroing FC2 changes outputs; m3, h and v reach their ends."""
    cfg, p = node.config, node.params
    it = internals(cfg.se, p, s)
    y, y0 = golden(node, frames)[0], golden(node, frames, se_w2=np.zeros_like(p["se_w2"]))[0]
    vt = cfg.se.v_type
    stated = {
        "zero_se_flips": round(float(np.mean(y != y0)), 4),
        "m3_min": int(np.sum(it["m3"] == -128)),
        "m3_max": int(np.sum(it["m3"] == 127)),
        "h_255": int(np.sum(it["h"] == 255)),
        "v_min": int(np.sum(it["v"] == vt.min)),
        "v_max": int(np.sum(it["v"] == vt.max)),
        "v_moving_channels": int(np.sum(np.ptp(it["v"][:RANDOM_FRAMES], axis=0) > 0)),
    }
    assert stated["zero_se_flips"] > 0.02, stated
    assert all(v > 0 for v in stated.values()), stated
    assert 2 * stated["v_moving_channels"] >= cfg.channels, stated  # v moves between frames
    return stated


def check_th_data(node: Node, frames: np.ndarray, info: dict) -> dict:
    cfg, p = node.config, node.params
    stated = check_se_reaches(node, frames, statistic(frames, p["mu"]))
    ties = frames[-TIE_FRAMES:]
    th = thresholds(cfg, p, statistic(ties, p["mu"]))
    hit = ties[:, :, info["tie"]] == th[:, None, info["tie"]]
    y = golden(node, frames)[0][-TIE_FRAMES:][:, :, info["tie"]]
    neg = p["sign"][info["tie"]] < 0
    assert hit.sum() >= TIE_FRAMES, "no tie x == threshold"
    # A tie passes: +1 for sigma > 0 (x >= T); for sigma < 0 the stored floor(T) == x passes too.
    assert np.all(y[hit] == 1), "a tie did not give +1"
    return stated | {"tie_elements": int(hit.sum()), "tie_negative_channels": int(neg.sum())}


def run_th(name: str, spec: Spec, request: pytest.FixtureRequest) -> dict:
    node, frames, info = th_case(spec, np.random.default_rng(seed_of(request.node.nodeid)))
    stated = check_th_data(node, frames, info)
    b = sim.build(node.name, lambda d: rtl.emit_layer(node, d))
    r = sim.run_bench(b, node, frames, module="flows.sim.insta_bench")
    cfg = node.config
    print(
        f"\n{name}: cycles/frame in {r['cycles_per_frame_in']}, out {r['cycles_per_frame_out']} "
        f"(estimate {cfg.cycles_per_frame}); first output after {r['first_output_latency']} "
        f"(estimate {cfg.first_output_latency}); SE M={cfg.num_se_macs}, SE cycles "
        f"{se_cycles(cfg.se, cfg.pe, cfg.num_se_macs)}; buffer {cfg.buffer_words} words; {stated}"
    )
    for port in ("in", "out", "delay"):
        assert r[f"cycles_per_frame_{port}"][-4:] == [cfg.cycles_per_frame] * 4
    assert r["first_output_latency"] == cfg.first_output_latency
    return r


@pytest.mark.parametrize("name", TH_SPECS)
def test_insta_threshold_plus(name: str, request: pytest.FixtureRequest) -> None:
    run_th(name, TH_SPECS[name], request)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_TH_SPECS)
def test_insta_threshold_plus_sweep(name: str, request: pytest.FixtureRequest) -> None:
    run_th(name, SLOW_TH_SPECS[name], request)


def test_se_mac_rule() -> None:
    """The fewest MACs that keep up are picked; too few, or none at all, are refused by name."""
    spec = TH_SPECS["int8_4x4x8_pe2_h2"]
    node, _, _ = th_case(spec, np.random.default_rng(0))
    cfg = node.config
    m = cfg.num_se_macs
    assert cfg.nf + se_cycles(cfg.se, cfg.pe, m) <= cfg.cycles_per_frame
    smaller = [o for o in insta_se.mac_options(cfg.se) if o < m]
    for o in smaller:
        assert cfg.nf + se_cycles(cfg.se, cfg.pe, o) > cfg.cycles_per_frame
        with pytest.raises(ConfigError, match=f"se_macs={o} cannot keep up"):
            dataclasses.replace(cfg, se_macs=o)
    with pytest.raises(ConfigError, match="se_macs=3 must divide both C=8"):
        dataclasses.replace(cfg, se_macs=3)
    with pytest.raises(ConfigError, match="the SE block needs .* lower PE"):
        dataclasses.replace(cfg, pe=8)


@pytest.mark.parametrize("hw", [(1, 29), (4, 7)])
def test_se_mac_rule_is_tight(
    hw: tuple[int, int], request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PE 4, hidden 4, 4 channels: C/PE + se_cycles + SE_RESTART = 1 + 27 + 1 = 29 cycles with
    M = 4 (M = 2 would need 37). A 1x29 map (29 cycles) meets the rule with equality and runs at
    full rate; a 4x7 map (28 cycles) is one cycle short: the rule refuses it, and the hardware
    built anyway (the rule bypassed) loses a cycle per frame."""
    spec = Spec(4, *hw, INT(6), 4, 4, scale=2.0**-3)
    if hw == (1, 29):
        node, _, _ = th_case(spec, np.random.default_rng(0))
        assert node.config.num_se_macs == 4
        assert 1 + se_cycles(node.config.se, 4, 4) + insta_se.SE_RESTART == 29
        assert 1 + se_cycles(node.config.se, 4, 2) + insta_se.SE_RESTART == 37
        run_th("int6_1x29x4_pe4_h4_equal", spec, request)
        return
    with pytest.raises(ConfigError, match="needs 29 cycles per frame even with 4 MACs"):
        th_case(spec, np.random.default_rng(0))
    monkeypatch.setattr(insta_se, "SE_RESTART", 0)  # the rule without the restart cycle
    node, frames, _ = th_case(spec, np.random.default_rng(seed_of(request.node.nodeid)))
    monkeypatch.undo()
    b = sim.build(node.name, lambda d: rtl.emit_layer(node, d))
    with pytest.raises(AssertionError, match=r"steady-state cycles per frame .* != estimate"):
        sim.run_bench(b, node, frames, module="flows.sim.insta_bench")


# --- INSTA-PReLU+ ---------------------------------------------------------------------------------
PR_SPECS = {
    "se_int8_4x4x8_pe2_h2": (tp.SPECS["alpha_int8_4x4x8_pe2"], 2),
    "se_uint4_6x6x16_pe4_h4": (
        tp.Spec("alpha", 16, 6, 6, UINT(4), 4, 2.0**-2, 2, 4, 12, 8, INT(4)),
        4,
    ),
    # shared cube (the SE form's evaluator keeps its product) and the folded gamma table
    "se_uint4_6x6x16_pe4_h4_shared_fold": (
        tp.Spec("alpha", 16, 6, 6, UINT(4), 4, 2.0**-2, 2, 4, 12, 8, INT(4), None, "shared", True),
        4,
    ),
}
SLOW_PR_SPECS = {
    "se_int6_4x4x16_pe4_h4_g": (
        tp.Spec("alpha", 16, 4, 4, INT(6), 4, 2.0**-3, 4, 8, 12, 8, INT(6)),
        4,
    ),
    "se_int8_5x5x4_pe1_h1": (tp.Spec("alpha", 4, 5, 5, INT(8), 1, 2.0**-4, 4, 8, 12, 8, INT(8)), 1),
}


def pr_internals(cfg, p: dict, frames: np.ndarray) -> dict[str, np.ndarray]:
    """S, v = SE(S), d = x 2^G - gamma and the pre-rounding output sum y of an INSTA-PReLU+."""
    s = statistic(frames << cfg.mu_frac_bits, p["mu"])
    v = se_v(cfg.name, cfg.se, p, s, cfg.acc_type.bits)
    d = (frames << cfg.gamma_frac_bits) - p["table"][v - cfg.se.v_type.min][:, None, :]
    y = np.where(d >= 0, p["mul_pos"] * d, p["mul_neg"] * d) + p["add"]
    return {"s": s, "v": v, "d": d, "y": y}


def pr_case(base: tp.Spec, hidden: int, rng: np.random.Generator) -> tuple[Node, np.ndarray]:
    """INSTA-PReLU+: the alpha form's case (tests/hw/test_insta_prelu.py: output constants, the
    extreme and tie frames) with the SE in place of Mv/Bv, mu back on the data for channels 0
    and 1, and the d == 0 and output ties placed again for the SE's v."""
    node, frames, _ = tp.make_case(base, rng)
    k, gf, t = base.mu_frac_bits, base.gamma_frac_bits, base.input_type
    rand = frames[:RANDOM_FRAMES]
    p = {key: v.copy() for key, v in node.params.items() if key not in ("Mv", "Bv")}
    p["mu"][:2] = np.clip(np.round(rand.mean(axis=(0, 1))[:2] * 2**k), t.min << k, t.max << k)
    sigma = (rand.std(axis=(0, 1)) + 1.0) * base.scale
    spec = Spec(base.channels, base.height, base.width, t, base.pe, hidden, scale=base.scale)
    se, sp = _se_params(spec, {"sigma": sigma, "mu_int": p["mu"]}, rand, k, rng)
    cfg = dataclasses.replace(node.config, form="se", se=se, mu_frac_bits=k)
    p |= sp
    v = pr_internals(cfg, p, frames)["v"]
    tie = len(frames) - TIE_FRAMES  # the first tie frame (permutations of one frame)
    for ch in range(0, cfg.channels, 2):  # d == 0: table[v] = x0 2^G for a value x0 of ch that fits
        fits = [int(x) << gf for x in frames[tie, :, ch]
                if cfg.table_type.allowed(np.array([int(x) << gf, -int(x) << gf]))]  # fmt: skip
        x0, vi = (fits or [0])[0], int(v[tie, ch]) - se.v_type.min
        if fits:
            if cfg.table_fold:  # keep the table odd: the mirror entry too; v = 0 holds 0
                if vi == -se.v_type.min:
                    continue
                if vi:
                    p["table"][-2 * se.v_type.min - vi] = -x0
            p["table"][vi] = x0
    y = pr_internals(cfg, p, frames)["y"]
    rs = cfg.shift + gf
    for ch in range(1, cfg.channels, 2):  # output rounding tie at element 0 of the tie frame
        a = int(p["add"][ch]) - int(y[tie, 0, ch]) % (1 << rs) + (1 << (rs - 1))
        if cfg.add_type.allowed(np.array([a])):
            p["add"][ch] = a
    return Node(cfg, ["x"], ["y"], p), frames


def check_pr_data(node: Node, frames: np.ndarray) -> dict:
    cfg, p = node.config, node.params
    rs = cfg.shift + cfg.gamma_frac_bits
    it = pr_internals(cfg, p, frames)
    stated = check_se_reaches(node, frames, it["s"])
    d, y = it["d"], it["y"]
    stated |= {
        "d_zero": int(np.sum(d == 0)),
        "y_ties": int(np.sum(np.mod(y, 1 << rs) == 1 << (rs - 1))) if rs else 0,
    }
    assert stated["d_zero"] > 0 and (stated["y_ties"] > 0 or rs == 0), stated
    return stated


def run_pr(name: str, base: tp.Spec, hidden: int, request: pytest.FixtureRequest) -> dict:
    node, frames = pr_case(base, hidden, np.random.default_rng(seed_of(request.node.nodeid)))
    stated = check_pr_data(node, frames)
    b = sim.build(node.name, lambda d: rtl.emit_layer(node, d))
    r = sim.run_bench(b, node, frames, module=tp.BENCH)
    cfg = node.config
    print(
        f"\n{name}: cycles/frame in {r['cycles_per_frame_in']}, out {r['cycles_per_frame_out']} "
        f"(estimate {cfg.cycles_per_frame}); first output after {r['first_output_latency']} "
        f"(estimate {cfg.first_output_latency}); SE M={cfg.num_se_macs}; buffer "
        f"{cfg.buffer_words} words; {stated}"
    )
    for port in ("in", "out"):
        assert r[f"cycles_per_frame_{port}"][-4:] == [cfg.cycles_per_frame] * 4
    assert r["first_output_latency"] == cfg.first_output_latency
    return r


@pytest.mark.parametrize("name", PR_SPECS)
def test_insta_prelu_plus(name: str, request: pytest.FixtureRequest) -> None:
    run_pr(name, *PR_SPECS[name], request)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_PR_SPECS)
def test_insta_prelu_plus_sweep(name: str, request: pytest.FixtureRequest) -> None:
    run_pr(name, *SLOW_PR_SPECS[name], request)
