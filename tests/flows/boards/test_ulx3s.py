"""ULX3S shell generation: PLL dividers vs ecppll, pin constraints, argument checks, snapshot.

The generated shell of one small configuration is stored in snapshots/; after an intended change
to the template or the emitter, regenerate it (`make snapshots`, tests/snapshots.py) and commit it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows import boards, tools
from flows.boards import ulx3s
from flows.errors import ConfigError
from tests.snapshots import SnapshotSet, check, emitted

HERE = Path(__file__).resolve().parent
SNAPSHOT = HERE / "snapshots" / "ulx3s_top_digits_lanes4.v"

# Sites from emard/ulx3s doc/constraints/ulx3s_v20.lpf (ULX3S v2.x and v3.0.x).
ULX3S_SITES = {
    "clk_25mhz": "G2", "ftdi_rxd": "L4", "ftdi_txd": "M1", "btn[0]": "D6", "wifi_gpio0": "L2",
    "led[0]": "B2", "led[1]": "C2", "led[2]": "C1", "led[3]": "D2",
    "led[4]": "D1", "led[5]": "E2", "led[6]": "E1", "led[7]": "H3",
}  # fmt: skip


def snapshot_shell(outdir: Path) -> dict:
    return ulx3s.emit_shell(
        outdir, clock_mhz=62.5, baud=115200, in_lanes=4, in_bytes_per_frame=64, out_bits=4,
        design_id="digits_bnn",
    )  # fmt: skip


def _ecppll(mhz: float, workdir: Path) -> dict[str, int]:
    tools.run(["yowasp-ecppll", "-i", "25", "-o", f"{mhz:g}", "-f", "pll.v"], cwd=workdir)
    text = (workdir / "pll.v").read_text()
    keys = ("CLKI_DIV", "CLKFB_DIV", "CLKOP_DIV", "CLKOP_CPHASE")
    return {k: int(re.search(rf"\.{k}\((\d+)\)", text).group(1)) for k in keys}


@pytest.mark.parametrize("mhz", [25, 33, 48, 50, 65, 100, 133, 200])
def test_pll_matches_ecppll(mhz: float, tmp_path: Path) -> None:
    pll = ulx3s.pll_config(mhz)
    assert _ecppll(mhz, tmp_path) == {
        "CLKI_DIV": pll.clki_div, "CLKFB_DIV": pll.clkfb_div,
        "CLKOP_DIV": pll.clkop_div, "CLKOP_CPHASE": pll.clkop_cphase,
    }  # fmt: skip
    assert pll.out_mhz == pytest.approx(25 * pll.clkfb_div / pll.clki_div)
    assert 400 <= pll.vco_mhz <= 800


def test_pll_reports_the_achieved_clock() -> None:
    assert ulx3s.pll_config(48).out_mhz == 46.875  # 48/25 needs a PFD below 3.125 MHz
    with pytest.raises(ConfigError, match="outside the ECP5 PLL output range"):
        ulx3s.pll_config(500)


def test_lpf_sites_and_clock(tmp_path: Path) -> None:
    lpf = snapshot_shell(tmp_path)["lpf"].read_text()
    sites = dict((p, s) for p, s in re.findall(r'LOCATE COMP "([^"]+)" SITE "([^"]+)";', lpf))
    assert sites == ULX3S_SITES
    iobuf = re.findall(r'IOBUF PORT "([^"]+)"[^;]*IO_TYPE=LVCMOS33', lpf)
    assert sorted(iobuf) == sorted(ULX3S_SITES)
    assert 'FREQUENCY PORT "clk_25mhz" 25 MHZ;' in lpf


def test_shell_records_clock_and_uart(tmp_path: Path) -> None:
    shell = snapshot_shell(tmp_path)
    assert shell["clock_mhz"] == 62.5 and shell["pll"]["clkfb_div"] == 5
    assert shell["clks_per_bit"] == round(62.5e6 / 115200)
    assert abs(shell["baud_achieved"] - 115200) / 115200 < 0.01
    text = shell["top"].read_text()
    assert "module ulx3s_top" in text and ".CLKFB_DIV(5)" in text
    assert shell["id_reply"][:2] == boards.ID_MAGIC


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"in_lanes": 3}, "not a positive multiple of in_lanes = 3"),
        ({"baud": 10_000_000}, "the UART needs at least 8"),
        ({"baud": 3_000_000, "clock_mhz": 25}, "is off by 4.2%"),
        ({"out_bits": 0}, "results of 1..88 bits only"),
        ({"in_bytes_per_frame": 1 << 24, "in_lanes": 1}, "24-bit frame size"),
        ({"clock_mhz": 5}, "outside the ECP5 PLL output range"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str, tmp_path: Path) -> None:
    args = {"clock_mhz": 50, "baud": 115200, "in_lanes": 4, "in_bytes_per_frame": 64,
            "out_bits": 4} | kwargs  # fmt: skip
    with pytest.raises(ConfigError, match=message):
        ulx3s.emit_shell(tmp_path, **args)


def _shell_files() -> dict[str, str]:
    return {SNAPSHOT.name: emitted(snapshot_shell)["ulx3s_top.v"]}


SNAPSHOTS = [SnapshotSet("ulx3s_shell", SNAPSHOT.parent, _shell_files)]


def test_generated_shell_matches_snapshot() -> None:
    check(SNAPSHOTS[0])


# --- the SDRAM form (docs/dram.md) -----------------------------------------------------------------
@pytest.mark.parametrize("mhz", [33, 50, 65, 100])
def test_sdram_clock_phase_matches_ecppll(mhz: float, tmp_path: Path) -> None:
    """CLKOS at the design clock, SDRAM_PHASE_DEG behind it: as ecppll's --clkout1/--phase1."""
    cmd = ["yowasp-ecppll", "-i", "25", "-o", f"{mhz:g}", "--clkout1", f"{mhz:g}", "--phase1",
           f"{ulx3s.SDRAM_PHASE_DEG:g}", "-f", "pll.v"]  # fmt: skip
    tools.run(cmd, cwd=tmp_path)
    text = (tmp_path / "pll.v").read_text()
    want = {k: int(re.search(rf"\.{k}\((\d+)\)", text).group(1))
            for k in ("CLKOS_DIV", "CLKOS_CPHASE", "CLKOS_FPHASE")}  # fmt: skip
    pll = ulx3s.pll_config(mhz)
    cphase, fphase = ulx3s.phase_shift(pll, ulx3s.SDRAM_PHASE_DEG)
    assert want == {"CLKOS_DIV": pll.clkop_div, "CLKOS_CPHASE": cphase, "CLKOS_FPHASE": fphase}


def test_shell_with_sdram_places_every_pin(tmp_path: Path) -> None:
    from flows.codegen.dram_tier import sdram_pins
    from flows.targets import ULX3S_SDRAM

    pins = sdram_pins(ULX3S_SDRAM["MT48LC16M16"])
    out = ulx3s.emit_shell(
        tmp_path, clock_mhz=50, baud=115200, in_lanes=1, in_bytes_per_frame=64, out_bits=4,
        accel_module="accel_dram_top", sdram=pins,
    )  # fmt: skip
    lpf = out["lpf"].read_text()
    top = out["top"].read_text()
    bits = sum(p["bits"] for p in pins)
    assert bits == 13 + 2 + 5 + 2 + 16
    sites = re.findall(r'LOCATE COMP "(sdram_\w+(?:\[\d+\])?)" SITE "(\w+)"', lpf)
    assert len(sites) == bits + 1  # and sdram_clk
    assert len({s for _, s in sites}) == len(sites)  # no site twice
    assert ("sdram_dq[15]", "J17") in sites and ("sdram_clk", "F19") in sites
    assert "inout wire [15:0] sdram_dq" in top and "ODDRX1F" in top and ".CLKOS(clk_ps)" in top
    assert ".init_done(sdram_ready)" in top
    # the 64 MB chip has the same pins; a chip with other pins is refused
    assert sdram_pins(ULX3S_SDRAM["AS4C32M16"]) == pins
    with pytest.raises(ConfigError, match="does not match the board"):
        ulx3s.emit_shell(
            tmp_path, clock_mhz=50, baud=115200, in_lanes=1, in_bytes_per_frame=64, out_bits=4,
            sdram=[*pins[:-1], {"dir": "inout", "bits": 32, "name": "sdram_dq"}],
        )  # fmt: skip
