"""The Vivado script of a Xilinx build, run under tclsh with stub Vivado commands."""

import pytest

from flows import vivado
from flows.errors import ToolFailedError


@pytest.fixture
def rtl_dir(tmp_path):
    d = tmp_path / "rtl"
    d.mkdir()
    for name in ("accel_top.v", "l0_intmvau.v", "stream_fifo.v"):
        (d / name).write_text("module m; endmodule\n")
    (d / "l0_intmvau_w.mem").write_text("0\n")
    return d


def test_script_runs_through_stubs_in_order(rtl_dir):
    script = vivado.emit_ooc_script(
        rtl_dir, design="digits_bnn", target="pynq-z2", part="xc7z020clg400-1", clock_mhz=125.0
    )
    calls = vivado.check_with_stubs(script)
    names = [c.split()[0] for c in calls]
    assert (
        names.index("synth_design")
        < names.index("route_design")
        < names.index("report_utilization")
    )
    assert sum(n == "read_verilog" for n in names) == 3
    assert "create_clock -name clk -period 8.000 clk" in calls
    assert any("-part xc7z020clg400-1" in c for c in calls if c.startswith("create_project"))


def test_stubs_catch_a_missing_source(rtl_dir):
    script = vivado.emit_ooc_script(
        rtl_dir, design="d", target="zcu104", part="xczu7ev-ffvc1156-2-e", clock_mhz=200.0
    )
    (rtl_dir / "l0_intmvau.v").unlink()
    with pytest.raises(ToolFailedError, match="read_verilog: l0_intmvau.v does not exist"):
        vivado.check_with_stubs(script)


def test_stubs_catch_steps_out_of_order(rtl_dir):
    script = vivado.emit_ooc_script(
        rtl_dir, design="d", target="u250", part="xcu250-figd2104-2L-e", clock_mhz=250.0
    )
    text = script.read_text().replace("synth_design -top", "route_design\nsynth_design -top")
    script.write_text(text)
    with pytest.raises(ToolFailedError, match="route_design before synth_design"):
        vivado.check_with_stubs(script)


@pytest.mark.slow
def test_xilinx_build_stops_at_vivado_with_a_checked_script(tmp_path):
    from flows.build import BuildConfig
    from flows.pipeline import run_build

    ctx = run_build(
        BuildConfig(model="digits_bnn", target="pynq-z2", target_cycles=256, out_root=str(tmp_path))
    )
    s = ctx.summary
    assert s["bitstream"] is None and "needs Vivado" in s["needs_vivado"]
    assert s["vivado_script"]["status"] == vivado.UNVERIFIED
    assert s["parity"]["bit_exact"] == s["parity"]["images"] == 100
    assert all("yosys_xc7" in row for row in s["layer_synthesis"].values())
