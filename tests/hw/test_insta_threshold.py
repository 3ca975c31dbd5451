"""InstaThreshold RTL vs the golden function: both outputs exact over random skewed frames, the
accumulator extremes and constructed threshold ties, under independent back-pressure on both
outputs, input gaps and mid-frame resets; steady-state cycles per frame and latency.

The test data is checked first for the reasons the tests exist: zeroing M (the statistic's
coefficient) must change a stated fraction of the output bits, ties x == ceil(T) (resp.
x == floor(T)) must occur, and the accumulator extremes +-H*W*(2^n - 1)^3 must be reached.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from flows.codegen import rtl
from flows.datatypes import INT, UINT, DataType
from flows.graph import Node
from flows.layers import InstaThreshold, insta_statistics, kind_of
from flows.layers.insta_statistics import statistic
from flows.layers.insta_threshold.constants import fold_insta_constants
from flows.layers.insta_threshold.golden import thresholds
from flows.sim import runner as sim
from tests.hw.icarus import assert_plain_verilog_2005
from tests.hw.stimuli import seed_of

BENCH = "flows.sim.insta_bench"
RANDOM_FRAMES = 4
TIE_FRAMES = 3  # permutations of one frame: the same S, hence the same thresholds


@dataclass(frozen=True)
class Spec:
    channels: int
    height: int
    width: int
    input_type: DataType
    pe: int
    negative: float  # fraction of channels with sigma < 0
    scale: float  # real value of one input step
    evaluators: int | None = None
    mu_frac_bits: int = 0  # k: mu on a grid 2^-k finer than x's
    multipliers: str = "parallel"
    constants: str = "chip"  # "dram": mu and the evaluators' constants stream in (fed with gaps)
    evaluation: str = "overlap"  # "hold": no snapshot, the input waits for the evaluators


SPECS = {
    "int8_4x4x8_pe2": Spec(8, 4, 4, INT(8), 2, 0.0, 2.0**-4),
    "uint4_3x3x16_pe4_negsigma_k3": Spec(
        16, 3, 3, UINT(4), 4, 0.5, 2.0**-2, evaluators=2, mu_frac_bits=3
    ),
    # shared multipliers: d 11 bits, d^2 in 2 slices (3 cycles per word), S in 3 slices
    "int8_4x4x8_pe2_k2_shared": Spec(
        8, 4, 4, INT(8), 2, 0.25, 2.0**-4, mu_frac_bits=2, multipliers="shared"
    ),
    # constants from DRAM (mu; the evaluators' A', M, sigma < 0), with the shared multipliers' pace
    "int8_4x4x8_pe2_k2_shared_cdram": Spec(
        8, 4, 4, INT(8), 2, 0.25, 2.0**-4, mu_frac_bits=2, multipliers="shared", constants="dram"
    ),
    # held evaluation: the evaluators (G = 1, 16 steps) read the accumulators; G = 2 by hand
    "int8_4x4x16_pe2_hold": Spec(16, 4, 4, INT(8), 2, 0.25, 2.0**-4, evaluation="hold"),
    "uint4_3x3x16_pe4_g2_k3_hold": Spec(
        16, 3, 3, UINT(4), 4, 0.5, 2.0**-2, evaluators=2, mu_frac_bits=3, evaluation="hold"
    ),
}
# held, with the shared multipliers and the evaluators' constants from DRAM (stalled steps)
SPECS["int8_4x4x8_pe2_k2_shared_cdram_hold"] = dataclasses.replace(
    SPECS["int8_4x4x8_pe2_k2_shared_cdram"], evaluation="hold"
)
# serial evaluators (hw/lib/eval_serial.v, N + 1 cycles a step): held as on insta_resnet18, held
# with stalled DRAM constants, and overlapped with a snapshot and two serial evaluators per word
SPECS["int8_4x4x16_pe2_k2_serial_hold"] = dataclasses.replace(
    SPECS["int8_4x4x16_pe2_hold"], mu_frac_bits=2, multipliers="serial"
)
SPECS["int8_4x4x8_pe2_k2_serial_cdram_hold"] = dataclasses.replace(
    SPECS["int8_4x4x8_pe2_k2_shared_cdram_hold"], multipliers="serial"
)
SPECS["uint4_6x6x16_pe4_k3_serial"] = Spec(
    16, 6, 6, UINT(4), 4, 0.5, 2.0**-2, mu_frac_bits=3, multipliers="serial"
)
SLOW_SPECS = {
    "int8_2x2x32_pe8_tight": Spec(32, 2, 2, INT(8), 8, 0.25, 2.0**-4),  # G = PE just keeps up
    "uint2_5x5x3_pe3_nf1": Spec(3, 5, 5, UINT(2), 3, 0.34, 1.0),  # NF = 1: back-to-back S
    "int5_6x6x12_pe6_g3": Spec(12, 6, 6, INT(5), 6, 0.5, 2.0**-3, evaluators=3),
}


def skewed_frames(spec: Spec, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, H*W, C): per frame and channel a skewed distribution (gamma, random direction and
    shape), so m3 differs between frames and the statistic moves the thresholds."""
    t, hw, c = spec.input_type, spec.height * spec.width, spec.channels
    span = t.max - t.min
    centre = rng.uniform(t.min + 0.3 * span, t.max - 0.3 * span, size=(n, 1, c))
    spread = rng.uniform(0.08, 0.25, size=(n, 1, c)) * span
    k = rng.uniform(0.5, 4.0, size=(n, 1, c))
    g = (rng.gamma(k, size=(n, hw, c)) - k) / np.sqrt(k)
    x = centre + spread * rng.choice([-1, 1], size=(n, 1, c)) * g
    return np.clip(np.round(x), t.min, t.max).astype(np.int64)


def float_module(spec: Spec, frames: np.ndarray, rng: np.random.Generator) -> dict:
    """Float parameters of the module (real units) that fit the frames: mu off the grid."""
    c = spec.channels
    real = frames * spec.scale
    sign = np.where(np.arange(c) < round(spec.negative * c), -1.0, 1.0)
    return dict(
        mu=real.mean(axis=(0, 1)) + rng.uniform(-0.5, 0.5, c) * spec.scale,
        sigma=sign * (real.std(axis=(0, 1)) + spec.scale),
        alpha=rng.normal(0.0, 1.0, c),
        beta=rng.normal(0.0, 0.3, c),
    )


def make_case(spec: Spec, rng: np.random.Generator) -> tuple[Node, np.ndarray, dict]:
    """The folded node, frames (random, extremes, ties) and the hardware node's parameters."""
    t, hw = spec.input_type, spec.height * spec.width
    rand = skewed_frames(spec, RANDOM_FRAMES, rng)
    f = float_module(spec, rand, rng)
    kb = spec.mu_frac_bits
    k = fold_insta_constants(**f, H=spec.height, W=spec.width, input_scale=spec.scale, input_type=t,
                             mu_frac_bits=kb)  # fmt: skip
    cfg = InstaThreshold(
        "insta_th",
        spec.channels,
        spec.height,
        spec.width,
        t,
        exponent=k.E,
        pe=spec.pe,
        evaluators=spec.evaluators,
        mu_frac_bits=kb,
        multipliers=spec.multipliers,
        constants=spec.constants,
        evaluation=spec.evaluation,
    )
    folded = Node(cfg, ["x"], ["y", "x_delayed"], k.params())
    params = {key: v.copy() for key, v in k.params().items()}
    params["mu"][0], params["mu"][1] = t.max << kb, t.min << kb  # S extremes with these frames
    extremes = np.stack([np.full((hw, spec.channels), t.min), np.full((hw, spec.channels), t.max)])
    base = skewed_frames(spec, 1, rng)[0]
    ties = np.stack([rng.permuted(base, axis=0) for _ in range(TIE_FRAMES)])
    # Channels 2, 4, ...: T = t0 + delta * 2^-E with delta = 0, -1, +1 in turn and t0 a value
    # of the channel, so x == t0 meets the threshold exactly or misses it by one LSB of T.
    s = statistic(base[None] << kb, params["mu"])[0]
    tie = {}
    for i, ch in enumerate(range(2, spec.channels, 2)):
        t0, delta = int(np.sort(base[:, ch])[hw // 2]), (0, -1, 1)[i % 3]
        a = (t0 << cfg.exponent) + delta - int(params["M"][ch]) * int(s[ch])
        if cfg.offset_type.allowed(np.array([a])):
            params["A"][ch], tie[ch] = a, (t0, delta)
    frames = np.concatenate([rand, extremes, ties])
    return Node(cfg, ["x"], ["y", "x_delayed"], params), frames, {"folded": folded, "tie": tie}


def golden(node: Node, frames: np.ndarray, **override) -> np.ndarray:
    params = {**node.params, **override}
    return kind_of(node.config).execute(node.config, params, [frames])[0]


def check_test_data(node: Node, frames: np.ndarray, info: dict) -> dict:
    """The data can expose what the tests exist for: returns the stated figures."""
    cfg, t = node.config, node.config.input_type
    # Zeroing M (the statistic) flips bits: on the folded constants and random frames, and on the
    # whole hardware data set.
    fd = info["folded"]
    rand = frames[:RANDOM_FRAMES]
    zero_folded = np.mean(golden(fd, rand) != golden(fd, rand, M=np.zeros(cfg.channels)))
    zero_all = np.mean(golden(node, frames) != golden(node, frames, M=np.zeros(cfg.channels)))
    assert zero_folded > 0.02 and zero_all > 0.02, (zero_folded, zero_all)
    # Ties: x equals the integer threshold of a delta = 0 channel and comes out +1.
    y = golden(node, frames)
    ties = frames[-TIE_FRAMES:]
    kb = cfg.mu_frac_bits
    th = thresholds(cfg, node.params, statistic(ties << kb, node.params["mu"]))
    exact = [ch for ch, (_, d) in info["tie"].items() if d == 0]
    hit = ties[:, :, exact] == th[:, None, exact]
    assert hit.sum() >= TIE_FRAMES, "no tie x == threshold in the tie frames"
    assert np.all(y[-TIE_FRAMES:][:, :, exact][hit] == 1), "a tie did not give +1"
    # The accumulator reaches both extremes of its type, which holds them.
    s = statistic(frames[RANDOM_FRAMES : RANDOM_FRAMES + 2] << kb, node.params["mu"])
    bound = cfg.num_vectors * ((t.max - t.min) << kb) ** 3
    assert s[0, 0] == -bound and s[1, 1] == bound
    cfg.acc_type.check(s, "S extremes")
    n, hw = t.bits + kb, cfg.num_vectors
    assert cfg.acc_type.bits <= 3 * n + math.ceil(math.log2(hw)) + 1
    return {
        "zero_M_flips_random_frames": round(float(zero_folded), 4),
        "zero_M_flips_all_frames": round(float(zero_all), 4),
        "tie_elements": int(hit.sum()),
    }


def with_statistic(node: Node) -> Node:
    """The same node with the third output (S per frame, m_axis_stat)."""
    cfg = dataclasses.replace(node.config, statistic_output=True)
    return Node(cfg, node.inputs, [*node.outputs, "s"], node.params)


def run(name: str, spec: Spec, request: pytest.FixtureRequest, stat: bool = False) -> dict:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    node, frames, info = make_case(spec, rng)
    stated = check_test_data(node, frames, info)
    if stat:
        node = with_statistic(node)
    b = sim.build(node.name, lambda d: rtl.emit_layer(node, d))
    r = sim.run_bench(b, node, frames, module=BENCH)
    cfg = node.config
    print(
        f"\n{name}: cycles/frame in {r['cycles_per_frame_in']}, out {r['cycles_per_frame_out']}, "
        f"delay {r['cycles_per_frame_delay']} (estimate {cfg.cycles_per_frame}); first output "
        f"after {r['first_output_latency']} cycles (estimate {cfg.first_output_latency}), "
        f"frame 0 complete after {r['first_frame_latency']}; buffer {cfg.buffer_words} words; "
        f"G={cfg.num_evaluators}; {stated}"
    )
    for port in ("in", "out", "delay", "stat") if stat else ("in", "out", "delay"):
        assert r[f"cycles_per_frame_{port}"][-4:] == [cfg.cycles_per_frame] * 4
    return r


@pytest.mark.parametrize("name", SPECS)
def test_insta_threshold(name: str, request: pytest.FixtureRequest) -> None:
    run(name, SPECS[name], request)


@pytest.mark.parametrize("name", SPECS)
def test_plain_verilog_2005(name: str, tmp_path: Path) -> None:
    """Icarus (a third tool besides Verilator and Yosys) compiles the generated module."""
    node, _, _ = make_case(SPECS[name], np.random.default_rng(0))
    assert_plain_verilog_2005(rtl.emit_layer(node, tmp_path), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_SPECS)
def test_insta_threshold_sweep(name: str, request: pytest.FixtureRequest) -> None:
    run(name, SLOW_SPECS[name], request)


@pytest.mark.slow
@pytest.mark.parametrize("cut", ["buffer_word", "evaluator_cycle", "held_buffer_word"])
def test_buffer_and_evaluator_rule_are_tight(
    cut: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One buffer word less, or one cycle less of evaluator budget than the rule asks, costs a
    cycle per frame: the steady-state check fails. (2x2x12 PE 2 meets the rule with equality:
    12 steps + 6 = 3 vectors x 6 words; 2x2x10 with G = 1 misses it by one cycle.) The same for
    the held evaluation's buffer (`held_slack`)."""
    channels = 10 if cut == "evaluator_cycle" else 12
    if cut == "buffer_word":
        monkeypatch.setattr(
            InstaThreshold,
            "buffer_words",
            property(lambda c: c.cycles_per_frame + c.threshold_latency - 1),
        )
    elif cut == "held_buffer_word":
        monkeypatch.setattr(
            InstaThreshold,
            "buffer_words",
            property(
                lambda c: (
                    c.words_per_frame + insta_statistics.held_slack(c, c.threshold_latency) - 1
                )
            ),
        )
    else:
        monkeypatch.setattr(insta_statistics, "SNAPSHOT_SLACK", insta_statistics.SNAPSHOT_SLACK - 1)
    held = "hold" if cut == "held_buffer_word" else "overlap"
    spec = Spec(channels, 2, 2, INT(8), 2, 0.0, 2.0**-4, evaluators=1, evaluation=held)
    node, frames, _ = make_case(spec, np.random.default_rng(seed_of(request.node.nodeid)))
    b = sim.build(node.name, lambda d: rtl.emit_layer(node, d))
    with pytest.raises(AssertionError, match=r"steady-state cycles per frame .* != estimate"):
        sim.run_bench(b, node, frames, module=BENCH)


# --- statistic output (m_axis_stat) --------------------------------------------------------------
STAT_SPECS = {"int8_4x4x8_pe2": SPECS["int8_4x4x8_pe2"]}
SLOW_STAT_SPECS = {
    "uint4_3x3x16_pe4_negsigma_k3": SPECS["uint4_3x3x16_pe4_negsigma_k3"],
    "int4_4x4x4_pe4_nf1": Spec(4, 4, 4, INT(4), 4, 0.5, 2.0**-2),
    "int8_2x2x32_pe8_tight": SLOW_SPECS["int8_2x2x32_pe8_tight"],
}


def test_statistic_output_golden() -> None:
    """The third output is S per frame (frames, 1, C) of acc_type; the other two are unchanged."""
    node, frames, _ = make_case(SPECS["int8_4x4x8_pe2"], np.random.default_rng(1))
    stat = with_statistic(node)
    y, x, s = kind_of(stat.config).execute(stat.config, stat.params, [frames])
    assert s.shape == (len(frames), 1, node.config.channels)
    assert np.array_equal(s[:, 0], statistic(frames, node.params["mu"]))
    assert np.array_equal(y, golden(node, frames))
    assert stat.config.output_types[2] == stat.config.acc_type


def _run_stat(name: str, spec: Spec, request: pytest.FixtureRequest) -> None:
    """m_axis_stat exact under its own random back-pressure (stalls longer than a frame
    included), the other ports unchanged, and at full rate one S vector per frame interval:
    the S port costs no cycle."""
    r = run(name, spec, request, stat=True)
    print(f"{name}: S of frame 0 complete {r['stat_latency']} cycles after its first input")


@pytest.mark.parametrize("name", STAT_SPECS)
def test_statistic_port(name: str, request: pytest.FixtureRequest) -> None:
    _run_stat(name, STAT_SPECS[name], request)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_STAT_SPECS)
def test_statistic_port_sweep(name: str, request: pytest.FixtureRequest) -> None:
    _run_stat(name, SLOW_STAT_SPECS[name], request)
