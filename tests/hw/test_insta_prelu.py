"""InstaPReLU RTL vs the golden function, both forms: exact over random skewed frames, the S and v
extremes, d == 0 and rounding ties, under random back-pressure, input gaps on every input and
mid-frame resets; steady-state cycles per frame and first-output latency equal the model.

Parameters are built by hand, random but valid for the config types, with the scales of numerics
section 10 (v on 2^-e, gamma with G fractional bits, one output rounding). The test data is
checked first for the reasons the tests exist: zeroing Mv (the statistic's coefficient) must
change a stated fraction of the outputs; v must saturate at both ends; d == 0 and rounding ties
(of v and of the output) must occur.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from flows.codegen import rtl
from flows.datatypes import INT, UINT, DataType
from flows.errors import ConfigError
from flows.fixedpoint import rne_shift
from flows.graph import Node
from flows.hwmodel.ranges import smallest_type
from flows.layers import InstaPReLU, insta_statistics, kind_of
from flows.layers.insta_prelu.config import gamma_table
from flows.layers.insta_statistics import statistic
from flows.sim import runner as sim
from tests.hw.icarus import assert_plain_verilog_2005
from tests.hw.stimuli import seed_of

BENCH = "flows.sim.insta_prelu_bench"
RANDOM_FRAMES = 4
TIE_FRAMES = 2


@dataclass(frozen=True)
class Spec:
    form: str
    channels: int
    height: int
    width: int
    input_type: DataType
    pe: int
    scale: float  # real value of one input step
    mu_frac_bits: int
    gamma_frac_bits: int
    v_bits: int
    v_exponent: int
    output_type: DataType
    stat_channels: int | None = None
    multipliers: str = "parallel"
    table_fold: bool = False  # store the odd gamma table's v >= 0 half
    constants: str = "chip"  # "dram": mul_pos/mul_neg/add (and mu) stream in, fed with gaps
    evaluation: str = "overlap"  # "hold": no snapshot, the input waits for the evaluators


SPECS = {
    "alpha_int8_4x4x8_pe2": Spec("alpha", 8, 4, 4, INT(8), 2, 2.0**-4, 4, 8, 12, 8, INT(8)),
    "alpha_uint4_3x3x16_pe8_g2": Spec("alpha", 16, 3, 3, UINT(4), 8, 2.0**-2, 2, 4, 8, 4, INT(4)),
    "reuse_int8_4x4x8_pe2_cs4": Spec("reuse", 8, 4, 4, INT(8), 2, 2.0**-4, 0, 8, 12, 8, INT(8), 4),
    "reuse_uint4_3x3x16_pe8_cs8": Spec(
        "reuse", 16, 3, 3, UINT(4), 8, 2.0**-2, 0, 4, 8, 4, INT(4), 8
    ),
    # shared multipliers: d 13 bits, d^2 in 2 slices (3 cycles per word), S in 3 slices; the
    # reuse form shares only Mv*S (one word per cycle); with the folded gamma table (v saturates
    # at both ends in channels 0 and 1, so the -2^(b-1) entry and the negated half are read)
    "alpha_int8_4x4x8_pe2_shared_fold": Spec(
        "alpha",
        8,
        4,
        4,
        INT(8),
        2,
        2.0**-4,
        4,
        8,
        12,
        8,
        INT(8),
        multipliers="shared",
        table_fold=True,
    ),
    "reuse_int8_4x4x8_pe2_cs4_shared": Spec(
        "reuse", 8, 4, 4, INT(8), 2, 2.0**-4, 0, 8, 12, 8, INT(8), 4, multipliers="shared"
    ),
    # constants from DRAM: the read side's on s_axis_c, the own form's mu on s_axis_mu
    "alpha_uint4_3x3x16_pe8_g2_cdram": Spec(
        "alpha", 16, 3, 3, UINT(4), 8, 2.0**-2, 2, 4, 8, 4, INT(4), constants="dram"
    ),
    "reuse_int8_4x4x8_pe2_cs4_cdram": Spec(
        "reuse", 8, 4, 4, INT(8), 2, 2.0**-4, 0, 8, 12, 8, INT(8), 4, constants="dram"
    ),
    # held evaluation (no snapshot; G = 1): plain, and shared + folded + constants from DRAM
    "alpha_uint4_3x3x16_pe8_hold": Spec(
        "alpha", 16, 3, 3, UINT(4), 8, 2.0**-2, 2, 4, 8, 4, INT(4), evaluation="hold"
    ),
}
SPECS["alpha_int8_4x4x8_pe2_shared_fold_cdram_hold"] = dataclasses.replace(
    SPECS["alpha_int8_4x4x8_pe2_shared_fold"], constants="dram", evaluation="hold"
)
# serial evaluators (hw/lib/eval_serial.v): held as on insta_resnet18 (folded table, constants
# from DRAM with stalls), held with on-chip constants, and the reuse form overlapped
SPECS["alpha_int8_4x4x8_pe2_serial_fold_cdram_hold"] = dataclasses.replace(
    SPECS["alpha_int8_4x4x8_pe2_shared_fold_cdram_hold"], multipliers="serial"
)
SPECS["alpha_int8_4x4x8_pe2_serial_hold"] = dataclasses.replace(
    SPECS["alpha_int8_4x4x8_pe2"], multipliers="serial", evaluation="hold"
)
SPECS["reuse_int8_8x8x8_pe2_cs4_serial"] = dataclasses.replace(
    SPECS["reuse_int8_4x4x8_pe2_cs4"], height=8, width=8, multipliers="serial"
)
SLOW_SPECS = {
    "alpha_int8_2x2x32_pe8_tight": Spec("alpha", 32, 2, 2, INT(8), 8, 2.0**-4, 4, 8, 12, 8, INT(8)),
    "alpha_int5_5x5x3_pe3_nf1": Spec("alpha", 3, 5, 5, INT(5), 3, 2.0**-3, 4, 0, 10, 6, INT(6)),
    "reuse_int8_2x2x32_pe8_cs8": Spec(
        "reuse", 32, 2, 2, INT(8), 8, 2.0**-4, 0, 8, 12, 8, INT(8), 8
    ),
    "reuse_int6_5x5x6_pe6_nf1": Spec("reuse", 6, 5, 5, INT(6), 6, 2.0**-3, 0, 8, 12, 8, INT(8), 6),
}


def skewed(t: DataType, n: int, hw: int, c: int, rng: np.random.Generator) -> np.ndarray:
    """(n, hw, c): per frame and channel a skewed distribution, so m3 differs between frames."""
    span = t.max - t.min
    centre = rng.uniform(t.min + 0.3 * span, t.max - 0.3 * span, size=(n, 1, c))
    spread = rng.uniform(0.08, 0.25, size=(n, 1, c)) * span
    k = rng.uniform(0.5, 4.0, size=(n, 1, c))
    g = (rng.gamma(k, size=(n, hw, c)) - k) / np.sqrt(k)
    x = centre + spread * rng.choice([-1, 1], size=(n, 1, c)) * g
    return np.clip(np.round(x), t.min, t.max).astype(np.int64)


def _fit(values: list[Fraction], bits: int, top: int) -> int:
    """Largest exponent in 0..top with every rne(v 2^e) in INT(bits)."""
    lim = 1 << (bits - 1)
    for e in range(top, -1, -1):
        if all(-lim <= round(v * 2**e) < lim for v in values):
            return e
    raise AssertionError("constants do not fit")


def _stat(spec: Spec, rng: np.random.Generator) -> tuple[dict, np.ndarray, np.ndarray]:
    """(config fields, S of the random frames (n, C), per-channel m3 scale) of the statistic."""
    t, hw, c = spec.input_type, spec.height * spec.width, spec.channels
    if spec.form == "alpha":
        return {"mu_frac_bits": spec.mu_frac_bits}, np.zeros(0), np.zeros(0)
    cs = spec.stat_channels
    xt = skewed(t, RANDOM_FRAMES, hw, cs, rng)  # the INSTA-Th's input frames
    mu_t = np.round(xt.mean(axis=(0, 1))).astype(np.int64)
    bound = hw * (t.max - t.min) ** 3
    sigma = np.tile(xt.std(axis=(0, 1)) + 1.0, c // cs)
    fields = {"stat_channels": cs, "stat_type": smallest_type(-bound, bound)}
    return fields, statistic(xt, mu_t), 1.0 / (hw * sigma**3)


def make_case(spec: Spec, rng: np.random.Generator) -> tuple[Node, object, dict]:
    """The node with hand-built parameters, the frames (random, extremes, ties) and info."""
    t, hw, c = spec.input_type, spec.height * spec.width, spec.channels
    k, gf, e = spec.mu_frac_bits, spec.gamma_frac_bits, spec.v_exponent
    x = skewed(t, RANDOM_FRAMES, hw, c, rng)
    fields, s_rand, m3_scale = _stat(spec, rng)
    params: dict = {}
    if spec.form == "alpha":
        mu = np.round((x.mean(axis=(0, 1)) + rng.uniform(-0.5, 0.5, c)) * 2**k)
        params["mu"] = np.clip(mu, t.min << k, t.max << k).astype(np.int64)
        m3_scale = 1.0 / (hw * (x.std(axis=(0, 1)) + 1.0) ** 3 * 2.0 ** (3 * k))
    a = rng.normal(0.0, 2.0, c)  # a_c (alpha) or p_c (reuse)
    a[:2] = 3.0  # channels 0, 1: v saturates at both ends at the S extremes
    q = rng.normal(0.0, 0.5, c) if spec.form == "reuse" else np.zeros(c)
    kv = [Fraction(float(v)) * 2**e for v in a * m3_scale]
    bv = [Fraction(float(v)) * 2**e for v in q]
    ev = min(_fit(kv, 18, 47), _fit(bv, 48, 47))
    params["Mv"] = np.array([round(v * 2**ev) for v in kv], dtype=np.int64)
    params["Bv"] = np.array([round(v * 2**ev) for v in bv], dtype=np.int64)
    table = gamma_table(e, spec.scale, gf, spec.v_bits)
    s_out = spec.scale  # x - gamma on x's grid: the output saturates at the extremes
    slope = rng.uniform(-0.3, 0.6, c)
    zeta = rng.normal(0.0, 4 * spec.scale, c)
    mant = np.concatenate([[spec.scale / s_out], slope * spec.scale / s_out])
    f = _fit([Fraction(float(v)) for v in mant], 16, 30)
    params["mul_pos"] = np.full(c, round(spec.scale / s_out * 2**f), dtype=np.int64)
    params["mul_neg"] = np.round(slope * spec.scale / s_out * 2**f).astype(np.int64)
    params["add"] = np.round(zeta / s_out * 2.0 ** (f + gf)).astype(np.int64)
    params["table"] = table
    cfg = InstaPReLU(
        "insta_prelu", c, spec.height, spec.width, t, spec.output_type, spec.form,
        v_exponent=e, stat_exponent=ev, shift=f,
        table_type=smallest_type(int(table.min()), int(table.max())), gamma_frac_bits=gf, v_bits=spec.v_bits, pe=spec.pe, multipliers=spec.multipliers, table_fold=spec.table_fold, constants=spec.constants, evaluation=spec.evaluation, **fields,
    )  # fmt: skip
    return _extremes_and_ties(cfg, params, x, s_rand, rng)


def internals(cfg: InstaPReLU, params: dict, ins: list) -> dict:
    """S, v, d and the pre-rounding sums of the golden model (for building the test data)."""
    x = ins[0]
    if cfg.form == "alpha":
        s = statistic(x << cfg.mu_frac_bits, params["mu"])
    else:
        s = np.tile(ins[1].reshape(len(x), -1), (1, cfg.channels // cfg.stat_channels))
    mv, bv = params["Mv"].astype(object), params["Bv"].astype(object)
    vsum = mv * s.astype(object) + bv
    vt = INT(cfg.v_bits)
    v = np.clip(rne_shift(vsum, cfg.stat_exponent), vt.min, vt.max).astype(np.int64)
    d = (x << cfg.gamma_frac_bits) - params["table"][v - vt.min][:, None, :]
    y = np.where(d >= 0, params["mul_pos"] * d, params["mul_neg"] * d) + params["add"]
    return {"s": s, "vsum": vsum, "v": v, "d": d, "y": y}


def _ins(cfg: InstaPReLU, x: np.ndarray, s: np.ndarray) -> list:
    return [x] if cfg.form == "alpha" else [x, s[:, None, :]]


def _extremes_and_ties(cfg: InstaPReLU, params: dict, x, s_rand, rng) -> tuple:
    t, c, hw = cfg.input_type, cfg.channels, cfg.num_vectors
    # Extremes: every input at min, then at max; own form: mu of channel 0 at max, of channel
    # 1 at min, so S reaches -+bound; reuse: S at the type's min and max.
    ext_x = np.stack([np.full((hw, c), t.min), np.full((hw, c), t.max)])
    if cfg.form == "alpha":
        k = cfg.mu_frac_bits
        params["mu"][0], params["mu"][1] = t.max << k, t.min << k
        ext_s = np.zeros((2, 0))
    else:
        st = cfg.stat_type
        ext_s = np.stack([np.full(cfg.stat_channels, st.min), np.full(cfg.stat_channels, st.max)])
    # Ties on permutations of one frame: d == 0 (table entry = x 2^G of a present value), the
    # rounding tie of v (Bv) and of the output (add), on every other channel.
    base = skewed(t, 1, hw, c, rng)[0]
    tie_x = np.stack([rng.permuted(base, axis=0) for _ in range(TIE_FRAMES)])
    tie_s = s_rand[:TIE_FRAMES] if cfg.form == "reuse" else np.zeros((TIE_FRAMES, 0))
    info = _place_ties(cfg, params, tie_x, tie_s)
    x_all = np.concatenate([x, ext_x, tie_x])
    if cfg.form == "alpha":
        frames = x_all
    else:
        frames = (x_all, np.concatenate([s_rand, ext_s, tie_s])[:, None, :])
    return Node(cfg, ["x", "s"][: 1 + (cfg.form == "reuse")], ["y"], params), frames, info


def _place_ties(cfg: InstaPReLU, params: dict, tie_x, tie_s) -> dict:
    ev, rs = cfg.stat_exponent, cfg.shift + cfg.gamma_frac_bits
    vt, tt, at = INT(cfg.v_bits), cfg.table_type, cfg.add_type
    chans = range(0, cfg.channels, 2)
    if ev > 0:  # v tie: Mv*S + Bv = half mod 2^Ev in frame 0 of the ties
        it = internals(cfg, params, _ins(cfg, tie_x, tie_s))
        for ch in chans:
            r = int(it["vsum"][0, ch]) % (1 << ev)
            b = int(params["Bv"][ch]) - r + (1 << (ev - 1))
            if INT(cfg.offset_bits).allowed(np.array([b])):
                params["Bv"][ch] = b
    it = internals(cfg, params, _ins(cfg, tie_x, tie_s))
    for ch in chans:  # d == 0: table[v] = x0 2^G for a value x0 of the channel
        vi = int(it["v"][0, ch]) - vt.min
        x0 = int(tie_x[0, 0, ch])
        if tt.allowed(np.array([x0 << cfg.gamma_frac_bits])):
            if cfg.table_fold:  # keep the table odd: the mirror entry too; v = 0 holds 0
                if vi == -vt.min or not tt.allowed(np.array([-x0 << cfg.gamma_frac_bits])):
                    continue
                if vi:
                    params["table"][-2 * vt.min - vi] = -x0 << cfg.gamma_frac_bits
            params["table"][vi] = x0 << cfg.gamma_frac_bits
    it = internals(cfg, params, _ins(cfg, tie_x, tie_s))
    for ch in range(1, cfg.channels, 2):  # output tie at element 0 of tie frame 0
        r = int(it["y"][0, 0, ch]) % (1 << rs)
        a = int(params["add"][ch]) - r + (1 << (rs - 1))
        if at.allowed(np.array([a])):
            params["add"][ch] = a
    return {}


def golden(node: Node, frames, **override) -> np.ndarray:
    params = {**node.params, **override}
    ins = list(frames) if isinstance(frames, tuple) else [frames]
    return kind_of(node.config).execute(node.config, params, ins)[0]


def check_test_data(node: Node, frames) -> dict:
    """The data exposes what the tests exist for; returns the stated figures."""
    cfg, p = node.config, node.params
    ins = list(frames) if isinstance(frames, tuple) else [frames]
    rand = [f[:RANDOM_FRAMES] for f in ins]
    rand_f = tuple(rand) if len(rand) > 1 else rand[0]
    zero = np.mean(golden(node, rand_f) != golden(node, rand_f, Mv=np.zeros(cfg.channels)))
    assert zero > 0.05, f"zeroing Mv changes only {zero:.3f} of the outputs"
    it = internals(cfg, p, ins)
    vt, ev, rs = INT(cfg.v_bits), cfg.stat_exponent, cfg.shift + cfg.gamma_frac_bits
    ext = slice(RANDOM_FRAMES, RANDOM_FRAMES + 2)
    assert (it["v"][ext] == vt.min).any() and (it["v"][ext] == vt.max).any(), "v not saturated"
    if cfg.form == "alpha":
        bound = (
            cfg.num_vectors * ((cfg.input_type.max - cfg.input_type.min) << cfg.mu_frac_bits) ** 3
        )
        assert it["s"][RANDOM_FRAMES, 0] == -bound and it["s"][RANDOM_FRAMES + 1, 1] == bound
    cfg.acc_type.check(it["s"], "S")
    y = golden(node, frames)
    out = cfg.output_type
    v_ties = int(sum(int(s) % (1 << ev) == 1 << (ev - 1) for s in it["vsum"].ravel())) if ev else 0
    y_ties = int(np.sum(np.mod(it["y"], 1 << rs) == 1 << (rs - 1)))
    stated = {
        "zero_Mv_changes": round(float(zero), 4),
        "d_zero": int(np.sum(it["d"] == 0)),
        "v_ties": v_ties,
        "y_ties": y_ties,
        "y_saturated": int(np.sum((y == out.min) | (y == out.max))),
    }
    assert stated["d_zero"] > 0 and stated["y_ties"] > 0 and (v_ties > 0 or ev == 0), stated
    return stated


def run(name: str, spec: Spec, request: pytest.FixtureRequest) -> dict:
    node, frames, _ = make_case(spec, np.random.default_rng(seed_of(request.node.nodeid)))
    stated = check_test_data(node, frames)
    b = sim.build(node.name, lambda d: rtl.emit_layer(node, d))
    r = sim.run_bench(b, node, frames, module=BENCH)
    cfg = node.config
    print(
        f"\n{name}: cycles/frame in {r['cycles_per_frame_in']}, out {r['cycles_per_frame_out']} "
        f"(estimate {cfg.cycles_per_frame}); first output after {r['first_output_latency']} "
        f"cycles (estimate {cfg.first_output_latency}), frame 0 complete after "
        f"{r['first_frame_latency']}; buffer {cfg.buffer_words} words; "
        f"G={cfg.num_evaluators}; {stated}"
    )
    for port in ("in", "out"):
        assert r[f"cycles_per_frame_{port}"][-4:] == [cfg.cycles_per_frame] * 4
    return r


@pytest.mark.parametrize("name", SPECS)
def test_insta_prelu(name: str, request: pytest.FixtureRequest) -> None:
    run(name, SPECS[name], request)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_SPECS)
def test_insta_prelu_sweep(name: str, request: pytest.FixtureRequest) -> None:
    run(name, SLOW_SPECS[name], request)


@pytest.mark.parametrize("name", ["alpha_int8_4x4x8_pe2", "reuse_uint4_3x3x16_pe8_cs8"])
def test_plain_verilog_2005(name: str, tmp_path: Path) -> None:
    """Icarus (a third tool besides Verilator and Yosys) compiles the generated module."""
    node, _, _ = make_case(SPECS[name], np.random.default_rng(0))
    assert_plain_verilog_2005(rtl.emit_layer(node, tmp_path), tmp_path)


def test_emitter_refusals(tmp_path: Path) -> None:
    """PE must divide the statistic's channels; mu outside the input range is refused."""
    node, _, _ = make_case(SPECS["reuse_int8_4x4x8_pe2_cs4"], np.random.default_rng(0))
    bad = dataclasses.replace(node.config, pe=8, stat_channels=4)
    with pytest.raises(ConfigError, match="must divide stat_channels=4"):
        rtl.emit_layer(Node(bad, node.inputs, node.outputs, node.params), tmp_path)
    own, _, _ = make_case(SPECS["alpha_int8_4x4x8_pe2"], np.random.default_rng(0))
    mu = own.params["mu"].copy()
    mu[0] = 2047  # above max << 4 = 2032
    with pytest.raises(ConfigError, match="mu must lie in the input range"):
        rtl.emit_layer(
            Node(own.config, own.inputs, own.outputs, {**own.params, "mu": mu}), tmp_path
        )


@pytest.mark.slow
@pytest.mark.parametrize("cut", ["buffer_word", "evaluator_cycle"])
def test_buffer_and_evaluator_rule_are_tight(
    cut: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Own form: one buffer word less than `buffer_words` (frame + gamma latency), or one cycle
    less of evaluator budget than InstaThreshold's rule, costs a cycle per frame: the
    steady-state check fails. (2x2x12 PE 2 with G = 1 meets the rule with equality and keeps
    up; 2x2x10 with G = 1 misses it by one cycle.)"""
    if cut == "buffer_word":
        monkeypatch.setattr(
            InstaPReLU,
            "buffer_words",
            property(lambda c: c.cycles_per_frame + c.gamma_latency - 1),
        )
    else:
        monkeypatch.setattr(insta_statistics, "SNAPSHOT_SLACK", insta_statistics.SNAPSHOT_SLACK - 1)
    channels = 12 if cut == "buffer_word" else 10
    spec = Spec("alpha", channels, 2, 2, INT(8), 2, 2.0**-4, 4, 8, 12, 8, INT(8))
    node, frames, _ = make_case(spec, np.random.default_rng(seed_of(request.node.nodeid)))
    assert node.config.num_evaluators == 1
    b = sim.build(node.name, lambda d: rtl.emit_layer(node, d))
    with pytest.raises(AssertionError, match=r"steady-state cycles per frame .* != estimate"):
        sim.run_bench(b, node, frames, module=BENCH)


@pytest.mark.slow
def test_evaluator_rule_equality_keeps_up(request: pytest.FixtureRequest) -> None:
    """2x2x12 PE 2, G = 1: C/G + 6 == (H*W - 1) * NF, exact and one frame per 24 cycles."""
    run("alpha_int8_2x2x12_pe2_equal", Spec("alpha", 12, 2, 2, INT(8), 2, 2.0**-4, 4, 8, 12, 8,
        INT(8)), request)  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("family", ["insta_resnet20", "insta_resnet18_lat"])
def test_lowered_parameters(family: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The first InstaPReLU that `streamline` (InstaToInteger) makes of an untrained model (own
    statistics in insta_resnet20, reuse in insta_resnet18_lat), at PE 2: exact on skewed frames
    (reuse: S drawn from the INSTA-Th's type), cycles and latency as the model."""
    from flows.frontend.qonnx_import import import_model, load
    from flows.transforms.streamline import streamline
    from sw.export import export_untrained

    blocks = (1, 1, 1) if family == "insta_resnet20" else (1, 1)
    onnx = export_untrained(family, tmp_path / "m.onnx", width=8, input_size=32, num_classes=10,
                            blocks=blocks)  # fmt: skip
    graph = streamline(import_model(load(onnx)))
    n = next(n for n in graph.nodes if n.kind == "InstaPReLU")
    cfg = dataclasses.replace(n.config, pe=2, name="insta_prelu_lowered")
    node = Node(cfg, n.inputs, n.outputs, n.params)
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    x = skewed(cfg.input_type, 6, cfg.num_vectors, cfg.channels, rng)
    frames = x
    if cfg.form == "reuse":
        t = cfg.stat_type
        frames = (x, rng.integers(t.min // 64, t.max // 64, (6, 1, cfg.stat_channels)))
    b = sim.build(node.name, lambda d: rtl.emit_layer(node, d))
    r = sim.run_bench(b, node, frames, module=BENCH)
    print(f"\n{family} {n.name} ({cfg.form}): {cfg.height}x{cfg.width}x{cfg.channels}, S "
          f"{cfg.acc_type}, table {cfg.table_type}; cycles/frame {r['cycles_per_frame_out'][-1]}, "
          f"first output {r['first_output_latency']}")  # fmt: skip
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4


def test_estimator_entry() -> None:
    """The estimator knows InstaPReLU: cycles as the RTL, the own form's frame buffer in BRAM
    (7x7x64 INT8 PE 8: 468 words x 64 bits = 2 blocks) on top of the gamma table (4 blocks)."""
    from flows.estimate import estimate_layer

    est = {}
    for form in ("alpha", "reuse"):
        spec = Spec(form, 64, 7, 7, INT(8), 8, 2.0**-4, 4 if form == "alpha" else 0, 8, 12, 8,
                    INT(8), 64 if form == "reuse" else None)  # fmt: skip
        cfg = make_case(spec, np.random.default_rng(0))[0].config
        est[form] = estimate_layer(cfg, "ecp5")
        assert est[form].cycles == cfg.cycles_per_frame == 392
    assert (est["alpha"].bram, est["reuse"].bram) == (6, 4)
    assert est["alpha"].dsp > est["reuse"].dsp
