"""End to end: `make bitstream MODEL=digits_bnn TARGET=ulx3s` from nothing to a real .bit.

Trains, exports, streamlines, simulates accel_top on 100 test images, synthesises every layer out
of context, places and routes the chip with its ULX3S shell and packs the bitstream (~2-3 min).
"""

import json
import subprocess
import sys

import pytest

from flows.targets import get

KEYS = (
    "bitstream",
    "clock_mhz",
    "fmax_mhz",
    "cycles_per_frame",
    "fps",
    "resources",
    "parity",
    "provenance",
)


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("make_bitstream")
    proc = subprocess.run(
        [
            "make",
            "-s",
            "bitstream",
            "MODEL=digits_bnn",
            "TARGET=ulx3s",
            "CYCLES=256",
            f"OUT={out}",
            f"PY={sys.executable}",
        ],
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(proc.stdout[-2500:])
    return json.loads((out / "digits_bnn" / "ulx3s" / "summary.json").read_text()), out


@pytest.mark.synth
def test_summary_has_every_key(summary):
    s, _ = summary
    assert all(k in s for k in KEYS), [k for k in KEYS if k not in s]
    assert set(s["provenance"]) >= {"git_revision", "tools", "seeds"}
    assert s["provenance"]["tools"]["yosys"].startswith("Yosys")


@pytest.mark.synth
def test_real_bitstream(summary):
    s, out = summary
    bit = out / "digits_bnn" / "ulx3s" / "digits_bnn.bit"
    assert s["bitstream"] == str(bit)
    data = bit.read_bytes()
    assert len(data) > 100_000
    # ECP5 bitstreams open with a comment block then the 0xFFFF preamble 0xBD B3 (TN1260).
    assert b"\xbd\xb3" in data[:4096]


@pytest.mark.synth
def test_parity_on_100_images_and_agreement(summary):
    s, _ = summary
    assert s["parity"]["images"] >= 100 and s["parity"]["bit_exact"] == s["parity"]["images"]
    # the whole accelerator, measured in simulation, runs at its slowest layer's estimate
    assert s["parity"]["cycles_per_frame_measured"] == s["cycles_per_frame"]
    assert s["parity"]["first_frame_latency_cycles"] > s["cycles_per_frame"]
    a = s["agreement"]
    assert a["images"] == 360 and a["unexplained"] == 0 and a["accuracy"] >= 0.93
    # every binary activation of the integer graph equals the float model's (numerics 3), and
    # the fixed-point logits stay within section 5's bound of the real ones
    rows = a["layer_flips"]
    binary = [r for r in rows if r["type"] == "BIPOLAR"]
    assert len(binary) == 3 and all(r["propagated_flips"] == 0.0 for r in binary)
    assert rows[-1]["max_abs_diff"] <= a["final_rounding_bound"]


@pytest.mark.synth
def test_resources_fit_and_clock_reported(summary):
    s, _ = summary
    avail = get("ulx3s").resources
    used = s["resources"]["used"]
    assert 0 < used["LUT"] <= avail["LUT"] and 0 < used["FF"] <= avail["FF"]
    assert s["resources"]["available"]["LUT"] == avail["LUT"]
    assert s["fmax_mhz"] > 0 and s["clock_mhz"] == 100.0
    assert s["cycles_per_frame"] == max(r["cycles"] for r in s["estimate"]["layers"].values())
    assert s["fps"] == pytest.approx(
        s["shell"]["clock_mhz"] * 1e6 / s["cycles_per_frame"], rel=1e-3
    )
