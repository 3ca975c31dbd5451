"""The ULX3S (ECP5 LFE5U-85F, CABGA381) shell: `ulx3s_top` and its pin constraints.

`emit_shell` renders hw/boards/ulx3s/shell.v.j2 (25 MHz oscillator -> EHXPLLL -> design clock,
reset synchroniser, UART image loader and result return around the accelerator) and the LPF.
The PLL dividers come from `pll_config`, which repeats the search of Project Trellis' `ecppll`
(the tool the ECP5 community uses; shipped as `yowasp-ecppll`) in the same float32 arithmetic, so
both give the same parameters (tests/boards/test_ulx3s.py compares them). The host protocol is in
flows.boards and docs/ulx3s.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import jinja2
import numpy as np

from flows import boards
from flows.artifacts import write_text
from flows.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "hw" / "boards" / "ulx3s"
LIB = ROOT / "hw" / "lib"
LIB_SOURCES = ("uart_rx.v", "uart_tx.v", "uart_image_loader.v", "uart_result_return.v")
BOARD_CLOCK_MHZ = 25.0
MAX_BAUD_ERROR = 0.02  # 8N1 tolerates ~4-5 % total; keep the shell's own share small

# EHXPLLL limits as used by ecppll (MHz): input, output, phase detector, VCO.
PLL_OUT = (10.0, 400.0)
PLL_PFD = (3.125, 400.0)
PLL_VCO = (400.0, 800.0)


@dataclass(frozen=True)
class PllConfig:
    """EHXPLLL dividers: f_out = f_in * CLKFB_DIV / CLKI_DIV, f_vco = f_out * CLKOP_DIV."""

    clki_div: int
    clkfb_div: int
    clkop_div: int
    clkop_cphase: int
    in_mhz: float
    out_mhz: float  # exact achieved output frequency
    vco_mhz: float


def pll_config(clock_mhz: float, clkin_mhz: float = BOARD_CLOCK_MHZ) -> PllConfig:
    """Dividers for `clock_mhz` from `clkin_mhz`, found as `ecppll` finds them.

    Search: CLKI_DIV 1..128 (PFD 3.125..400 MHz), CLKFB_DIV 1..80, CLKOP_DIV 1..128 (VCO 400..800
    MHz); minimise |f_out - f_target|, then |f_vco - 600 MHz|, then take the first in loop order.
    ecppll computes in float32; so does this search, so ties resolve identically. CLKOP_CPHASE is
    ecppll's half-period shift of the primary output (also in its arithmetic).
    """
    if not PLL_OUT[0] <= clock_mhz <= PLL_OUT[1]:
        raise ConfigError(
            f"clock {clock_mhz} MHz is outside the ECP5 PLL output range "
            f"{PLL_OUT[0]:g}..{PLL_OUT[1]:g} MHz; choose a clock in that range"
        )
    f32 = np.float32
    idiv = np.arange(1, 129, dtype=f32)[:, None, None]
    fbdiv = np.arange(1, 81, dtype=f32)[None, :, None]
    odiv = np.arange(1, 129, dtype=f32)[None, None, :]
    fpfd = f32(clkin_mhz) / idiv
    fvco = fpfd * fbdiv * odiv
    fout = fvco / odiv
    ok = (fpfd >= PLL_PFD[0]) & (fpfd <= PLL_PFD[1]) & (fvco >= PLL_VCO[0]) & (fvco <= PLL_VCO[1])
    err = np.where(ok, np.abs(fout - f32(clock_mhz)), np.inf).ravel()
    dist = np.abs(fvco - f32(600)).ravel()
    order = np.lexsort((np.arange(err.size), dist, err))  # last key is the primary one
    i, fb, o = np.unravel_index(order[0], ok.shape)
    # ecppll: ns_phase (float) = 1 / (fout * 1e6) * 0.5 in double; cphase = int(ns_phase * fvco*1e6)
    fout_sel, fvco_sel = float(fout[i, fb, o]), float(fvco[i, fb, o])
    ns_phase = float(f32(1.0 / (fout_sel * 1e6) * 0.5))
    out_exact = Fraction(clkin_mhz) * (int(fb) + 1) / (int(i) + 1)
    return PllConfig(
        clki_div=int(i) + 1,
        clkfb_div=int(fb) + 1,
        clkop_div=int(o) + 1,
        clkop_cphase=int(ns_phase * (fvco_sel * 1e6)),
        in_mhz=clkin_mhz,
        out_mhz=float(out_exact),
        vco_mhz=float(out_exact * (int(o) + 1)),
    )


# The SDRAM clock runs SDRAM_PHASE_DEG behind the design clock, as LiteX's ULX3S target does at a
# full-rate PHY (sys_ps at 90 degrees), so commands and data are stable at the chip's clock edge.
SDRAM_PHASE_DEG = 90.0
# ULX3S v2.x/v3.0.x SDRAM sites, bit 0 first (the reference LPF cited in ulx3s_v20.lpf.j2 and
# litex-boards' radiona_ulx3s.py agree).
SDRAM_SITES = {
    "sdram_a": "M20 M19 L20 L19 K20 K19 K18 J20 J19 H20 N19 G20 G19",
    "sdram_dq": "J16 L18 M18 N18 P18 T18 T17 U20 E19 D20 D19 C20 E18 F18 J18 J17",
    "sdram_we_n": "T20",
    "sdram_ras_n": "R20",
    "sdram_cas_n": "T19",
    "sdram_cs_n": "P20",
    "sdram_cke": "F20",
    "sdram_ba": "P19 N20",
    "sdram_dm": "U19 E20",
}


def phase_shift(pll: PllConfig, degrees: float) -> tuple[int, int]:
    """(CPHASE, FPHASE) of a secondary EHXPLLL output with CLKOP's divider, `degrees` behind
    CLKOP: the shift in VCO cycles (whole ones, eighths) added to CLKOP's own CPHASE."""
    eighths = round(degrees / 360 * pll.clkop_div * 8)
    return pll.clkop_cphase + eighths // 8, eighths % 8


def _sites(pins: list[dict] | None) -> list[tuple[str, list[str]]]:
    """(port, sites bit 0 first) of every SDRAM pin; a pin the board does not have is an error."""
    out = []
    for p in pins or []:
        sites = SDRAM_SITES.get(p["name"], "").split()
        if len(sites) != p["bits"]:
            raise ConfigError(
                f"{p['name']} has {p['bits']} bit(s), the ULX3S has {len(sites)} site(s) for it: "
                "the SDRAM chip does not match the board (choose one of targets.ULX3S_SDRAM)"
            )
        out.append((p["name"], sites))
    return out


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _check(
    clock_mhz: float, baud: int, in_lanes: int, in_bytes_per_frame: int, out_bits: int
) -> None:
    if in_lanes < 1 or in_lanes > 255:
        raise ConfigError(f"in_lanes = {in_lanes}: the loader packs 1..255 bytes per stream word")
    if in_bytes_per_frame < 1 or in_bytes_per_frame % in_lanes:
        raise ConfigError(
            f"in_bytes_per_frame = {in_bytes_per_frame} is not a positive multiple of "
            f"in_lanes = {in_lanes}; a frame must fill whole stream words"
        )
    if in_bytes_per_frame > boards.FRAME_BYTES_MAX:
        raise ConfigError(
            f"in_bytes_per_frame = {in_bytes_per_frame} exceeds the protocol's 24-bit frame size "
            f"({boards.FRAME_BYTES_MAX} bytes); feed a smaller input"
        )
    if not 1 <= out_bits <= 8 * boards.ID_LEN:
        raise ConfigError(f"out_bits = {out_bits}: results of 1..{8 * boards.ID_LEN} bits only")
    if baud <= 0:
        raise ConfigError(f"baud = {baud} must be positive")


def _uart_divider(clock_mhz: float, baud: int) -> tuple[int, float]:
    clks_per_bit = round(clock_mhz * 1e6 / baud)
    if clks_per_bit < 8:
        raise ConfigError(
            f"{baud} baud at {clock_mhz:.3f} MHz leaves {clks_per_bit} clocks per bit; "
            f"the UART needs at least 8: lower the baud rate or raise the clock"
        )
    achieved = clock_mhz * 1e6 / clks_per_bit
    if abs(achieved - baud) / baud > MAX_BAUD_ERROR:
        raise ConfigError(
            f"{baud} baud at {clock_mhz:.3f} MHz is off by {abs(achieved - baud) / baud:.1%} "
            f"(> {MAX_BAUD_ERROR:.0%}); choose another baud rate or clock"
        )
    return clks_per_bit, achieved


def emit_shell(
    outdir: Path,
    *,
    clock_mhz: float,
    baud: int,
    in_lanes: int,
    in_bytes_per_frame: int,
    out_bits: int,
    design_id: str = "accel",
    accel_module: str = "accel_top",
    accel_params: dict[str, int] | None = None,
    use_button: bool = True,
    rx_fifo_log2: int = 4,
    sdram: list[dict] | None = None,
    load_bytes: int = 0,
    batch_frames: int = 0,
) -> dict:
    """Write `ulx3s_top.v` and `ulx3s_v20.lpf` into `outdir`.

    `accel_module` (ports clk, rst, s_axis_*, m_axis_*) gets frames of `in_bytes_per_frame` UINT8
    pixels, `in_lanes` per word, and returns one `out_bits`-bit word per frame. `design_id` names
    the design in the board's ID reply (its 16-bit tag). With `sdram` (the tier's pins,
    `flows.codegen.dram_tier.sdram_pins`) the accelerator is `accel_dram_top`: the top gets the
    SDRAM pins, `sdram_clk` from a second PLL output SDRAM_PHASE_DEG behind the design clock,
    and the LPF their sites (SDRAM_SITES). `load_bytes` > 0 (weights in DRAM: the tier's
    `load_s_axis`/`loaded`) takes the weight image of that many bytes after CMD_LOAD and reports
    `loaded` in the ID reply's status (STATUS_WEIGHTS_LOADED). `batch_frames` > 0 (the tier's
    `batch` Region, `dram_tier.batch_region`) adds batch mode: CMD_BATCH stores up to that many
    frames in the SDRAM, CMD_RUN runs them and returns their results and the run's cycle count.
    Returns the file paths, the hw/lib sources
    the shell needs, the requested and achieved clock (MHz), the PLL dividers and the UART divider.
    """
    _check(clock_mhz, baud, in_lanes, in_bytes_per_frame, out_bits)
    if rx_fifo_log2 < 1:
        raise ConfigError(f"rx_fifo_log2 = {rx_fifo_log2}: the byte FIFO needs 2 entries or more")
    if batch_frames < 0 or batch_frames > 0xFFFF or (batch_frames and not sdram):
        raise ConfigError(
            f"batch_frames = {batch_frames}: a stored batch lives in the SDRAM tier (sdram pins) "
            "and holds 1 to 65535 frames"
        )
    if load_bytes < 0 or load_bytes % 2 or (load_bytes and not sdram):
        raise ConfigError(
            f"load_bytes = {load_bytes}: a weight image is a whole number of 16-bit words and "
            "needs the SDRAM tier (sdram pins)"
        )
    pll = pll_config(clock_mhz)
    cphase, fphase = phase_shift(pll, SDRAM_PHASE_DEG)
    clks_per_bit, baud_achieved = _uart_divider(pll.out_mhz, baud)
    ident = boards.id_reply(
        frame_bytes=in_bytes_per_frame, out_bits=out_bits, lanes=in_lanes, design_id=design_id
    )
    env = _environment()
    top = env.get_template("shell.v.j2").render(
        design_id=design_id,
        design_tag=boards.design_tag(design_id),
        accel_module=accel_module,
        accel_params=accel_params or {},
        clock_mhz=pll.out_mhz,
        clock_mhz_requested=clock_mhz,
        pll=pll,
        baud=baud,
        clks_per_bit=clks_per_bit,
        lanes=in_lanes,
        frame_bytes=in_bytes_per_frame,
        out_bits=out_bits,
        result_bytes=boards.result_bytes(out_bits),
        fifo_log2=rx_fifo_log2,
        cmd_infer=boards.CMD_INFER,
        cmd_id=boards.CMD_ID,
        cmd_load=boards.CMD_LOAD,
        load_bytes=load_bytes,
        cmd_batch=boards.CMD_BATCH,
        cmd_run=boards.CMD_RUN,
        batch_frames=batch_frames,
        id_bytes=list(ident),
        status_byte=boards.STATUS_BYTE,
        use_button=use_button,
        heartbeat_bits=max(2, int(pll.out_mhz * 1e6).bit_length()),
        sdram=sdram or [],
        sdram_phase=SDRAM_PHASE_DEG,
        sdram_cphase=cphase,
        sdram_fphase=fphase,
    )
    lpf = env.get_template("ulx3s_v20.lpf.j2").render(sdram=bool(sdram), sdram_sites=_sites(sdram))
    outdir = Path(outdir)
    top_path = write_text(outdir / "ulx3s_top.v", top)
    lpf_path = write_text(outdir / "ulx3s_v20.lpf", lpf)
    return {
        "top_module": "ulx3s_top",
        "top": top_path,
        "lpf": lpf_path,
        "lib_sources": [LIB / name for name in LIB_SOURCES],
        "clock_mhz_requested": clock_mhz,
        "clock_mhz": pll.out_mhz,
        "pll": asdict(pll),
        "baud": baud,
        "baud_achieved": baud_achieved,
        "clks_per_bit": clks_per_bit,
        "design_id": design_id,
        "design_tag": boards.design_tag(design_id),
        "id_reply": ident,
    }
