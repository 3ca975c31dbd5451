"""Simulation of the whole ULX3S shell (PLL bypassed) around the stand-in accelerator (Verilator)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cocotb_tools.runner import get_results, get_runner

from flows import tools
from flows.boards import ulx3s

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SIM_CLKS_PER_BIT = 8

# (lanes, frame bytes): the digits frame one pixel per word and eight pixels per word.
CONFIGS = [(1, 64), (8, 64)]


@pytest.mark.parametrize(("lanes", "frame"), CONFIGS, ids=[f"lanes{c[0]}" for c in CONFIGS])
def test_ulx3s_shell_sim(lanes: int, frame: int) -> None:
    tools.install_verilator_shim()
    build = ROOT / "build" / "sim" / "ulx3s_shell" / f"lanes{lanes}_frame{frame}"
    shell = ulx3s.emit_shell(
        build / "rtl",
        clock_mhz=50.0,
        baud=115200,
        in_lanes=lanes,
        in_bytes_per_frame=frame,
        out_bits=4,
        design_id="digits_bnn",
        accel_params={"IN_LANES": lanes, "FRAME_BYTES": frame},
    )
    runner = get_runner("verilator")
    runner.build(
        sources=[shell["top"], *shell["lib_sources"], HERE / "standin_accel.v"],
        hdl_toplevel="ulx3s_top",
        defines={"SIM": 1},
        parameters={"CLKS_PER_BIT": SIM_CLKS_PER_BIT},
        build_args=["-Wall"],
        build_dir=build / "sim_build",
        timescale=("1ns", "1ps"),
    )
    results = runner.test(
        hdl_toplevel="ulx3s_top",
        test_module="ulx3s_tb",
        test_dir=HERE,
        build_dir=build / "sim_build",
        results_xml=str(build / "results.xml"),
        plusargs=[
            f"+clks_per_bit={SIM_CLKS_PER_BIT}",
            f"+frame_bytes={frame}",
            f"+lanes={lanes}",
            "+out_bits=4",
            "+design_id=digits_bnn",
        ],
        timescale=("1ns", "1ps"),
    )
    n_tests, n_failed = get_results(Path(results))
    assert n_tests == 5 and n_failed == 0


def test_ulx3s_shell_loads_weights_before_frames() -> None:
    """The shell of a design with weights in DRAM (a stand-in accel_dram_top with the SDRAM pins):
    the weight image arrives after CMD_LOAD and gates the accelerator; a batch of frames is stored
    in the SDRAM and run, with its cycle count (ulx3s_load_tb.py)."""
    from flows.codegen.dram_tier import sdram_pins
    from flows.targets import ULX3S_SDRAM

    tools.install_verilator_shim()
    lanes, frame, load = 4, 64, 64
    build = ROOT / "build" / "sim" / "ulx3s_shell" / "load"
    shell = ulx3s.emit_shell(
        build / "rtl", clock_mhz=50.0, baud=115200, in_lanes=lanes, in_bytes_per_frame=frame,
        out_bits=4, design_id="digits_bnn", accel_module="accel_dram_top",
        accel_params={"IN_LANES": lanes, "FRAME_BYTES": frame, "LOAD_WORDS": load // 2},
        sdram=sdram_pins(ULX3S_SDRAM["MT48LC16M16"]), load_bytes=load, batch_frames=4,
    )  # fmt: skip
    runner = get_runner("verilator")
    runner.build(
        sources=[shell["top"], *shell["lib_sources"], HERE / "standin_accel.v",
                 HERE / "standin_accel_dram.v"],
        hdl_toplevel="ulx3s_top", defines={"SIM": 1},
        parameters={"CLKS_PER_BIT": SIM_CLKS_PER_BIT}, build_args=["-Wall"],
        build_dir=build / "sim_build", timescale=("1ns", "1ps"),
    )  # fmt: skip
    results = runner.test(
        hdl_toplevel="ulx3s_top", test_module="ulx3s_load_tb", test_dir=HERE,
        build_dir=build / "sim_build", results_xml=str(build / "results.xml"),
        plusargs=[f"+clks_per_bit={SIM_CLKS_PER_BIT}", f"+frame_bytes={frame}", f"+lanes={lanes}",
                  "+out_bits=4", "+design_id=digits_bnn", f"+load_bytes={load}"],
        timescale=("1ns", "1ps"),
    )  # fmt: skip
    n_tests, n_failed = get_results(Path(results))
    assert n_tests == 2 and n_failed == 0
