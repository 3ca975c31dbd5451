"""Design-space exploration (flows/explore.py): the cheapest design for a throughput, the fastest
that fits a device, the Pareto front, the no-fit message, and the CLI (`make explore`)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from flows import estimate, explore, memtier, targets
from flows.__main__ import main
from flows.errors import ResourceError
from flows.folding import FoldingWarning, auto_fold, cycles_per_frame, need_of
from flows.frontend.qonnx_import import import_model, load
from flows.graph import DataflowGraph
from flows.targets import Target
from flows.transforms.streamline import streamline
from tests.flows.test_folding_dag import _cost

SMALL_RESNET = dict(width=8, blocks=(1, 1), input_size=32, num_classes=10)


def _lowered(path: Path, name: str, **options) -> DataflowGraph:
    from sw.export import export_untrained

    p = export_untrained(name, path / f"{name}.onnx", **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return streamline(import_model(load(p)))


@pytest.fixture(scope="module")
def graphs(tmp_path_factory) -> dict[str, DataflowGraph]:
    d = tmp_path_factory.mktemp("explore")
    return {
        "digits_bnn": _lowered(d, "digits_bnn"),
        "cnv_w1a1": _lowered(d, "cnv_w1a1"),
        "insta_resnet18": _lowered(d, "insta_resnet18", **SMALL_RESNET),
        "insta_resnet18_lat": _lowered(d, "insta_resnet18_lat", **SMALL_RESNET),
    }


def test_throughput_gives_the_cheapest_design_that_reaches_it(graphs):
    g = graphs["digits_bnn"]
    slow = explore.for_throughput(g, 1_000, 100.0, "ulx3s")
    fast = explore.for_throughput(g, 1_000_000, 100.0, "ulx3s")
    assert slow.fps(100.0) >= 1_000 and fast.fps(100.0) >= 1_000_000
    assert _cost(slow.graph) < _cost(fast.graph)  # each resource as its share of the ULX3S
    assert slow.need["LUT"] < fast.need["LUT"]
    with pytest.raises(ResourceError, match="must be positive"):
        explore.for_throughput(g, 0, 100.0, "ulx3s")
    with pytest.warns(FoldingWarning, match="no legal folding meets 100 cycles per frame"):
        d = explore.for_throughput(graphs["cnv_w1a1"], 1e6, 100.0, "pynq-z2")
    assert d.cycles == 1024  # the 32x32 input, one pixel per cycle


@pytest.mark.parametrize(("name", "device"), [("digits_bnn", "ulx3s"), ("cnv_w1a1", "pynq-z2")])
def test_fastest_fitting_fits_and_the_next_faster_does_not(graphs, name, device):
    g = graphs[name]
    limits = explore.limits_of(device)
    best = explore.fastest_fitting(g, device)
    assert explore.fits(best.need, limits)
    family = best_family(device)
    total = need_of(estimate.total(memtier.design_estimate(best.graph, device)), family)
    assert total == best.need  # the design's figures are the estimator's
    cands = explore.candidate_cycles(g)
    faster = [c for c in cands if c < best.cycles]
    if faster:  # the search's premise: the next faster target overflows even reweighted
        assert not explore.fits(explore._fitted(g, faster[-1], device, limits).need, limits)


def best_family(device: str) -> str:
    from flows.targets import get

    return get(device).family


def test_cnv_on_pynq_z2_at_finn_throughput_fits(graphs):
    """FINN's CNV-W1A1 operating point on the PYNQ-Z2: >= 9,150 frames/s at 100 MHz. Before the
    width converters the shared lanes forced the first binary convolution to SIMD 64 x PE 64,
    whose weights alone took 114 RAMB18 (299 > 280)."""
    d = explore.for_throughput(graphs["cnv_w1a1"], 9_150, 100.0, "pynq-z2")
    assert d.fps(100.0) >= 9_150
    assert explore.fits(d.need, explore.limits_of("pynq-z2"))


def test_latency_optimised_variant_costs_less_at_the_same_throughput(graphs):
    """insta_resnet18_lat (INSTA-PReLU reusing the block's statistic) needs less of every
    resource than insta_resnet18 at the same frames/s."""
    for device in ("zcu104", "ulx3s"):
        full = auto_fold(graphs["insta_resnet18"], 12544, device)
        lat = auto_fold(graphs["insta_resnet18_lat"], 12544, device)
        assert cycles_per_frame(lat) == cycles_per_frame(full) == 12544
        assert _cost(lat, device) < _cost(full, device)


def test_no_fit_names_what_and_by_how_much(graphs):
    tiny = Target("tiny", "LFE5U-12F", "ecp5", {"LUT": 2_000, "FF": 2_000, "BRAM": 4, "DSP": 2})
    with pytest.raises(explore.NoFitError) as e:
        explore.fastest_fitting(graphs["insta_resnet18_lat"], tiny)
    msg = str(e.value)
    assert msg.startswith("no folding fits tiny (LFE5U-12F): even the smallest (")
    assert "LUT " in msg and "> 1,700 (85% of 2,000) by " in msg and "(most in l" in msg
    assert msg.endswith("pick a larger target")


def test_scarce_dsp_gives_lut_multipliers(graphs):
    """A device with few DSPs: the design that fits builds the IntMVAUs' multipliers from LUTs
    where the same folding on the zcu104 puts them in DSPs (the folder weighs each resource by
    its share of the device, so the trade needs no special case)."""
    g = graphs["insta_resnet18_lat"]
    plain = explore._design(g, 12544, "zcu104")
    assert plain.need["DSP"] > 0.95 * 40
    assert any(getattr(n.config, "mult_style", None) == "dsp" for n in plain.graph.nodes)
    scarce = Target("scarce", "x", "xcup", {"LUT": 230_400, "FF": 460_800, "BRAM": 624, "DSP": 40})
    d = explore._fitted(g, 12544, scarce, explore.limits_of(scarce))
    assert explore.fits(d.need, explore.limits_of(scarce)) and d.cycles == 12544
    styles = {getattr(n.config, "mult_style", None) for n in d.graph.nodes} - {None}
    assert styles == {"lut"}


def test_pareto_front_is_non_dominated_and_sorted(graphs):
    front = explore.pareto(graphs["cnv_w1a1"], "pynq-z2", 100.0, points=8)
    assert len(front) >= 3
    assert [d.cycles for d in front] == sorted({d.cycles for d in front})
    for a in front:
        for b in front:
            assert not explore._dominates(a, b)
    assert front[0].need["LUT"] > front[-1].need["LUT"]  # speed costs area


def test_explore_cli_prints_the_front_and_writes_json(tmp_path, capsys):
    args = ["explore", "--model", "digits_bnn", "--target", "ulx3s", "--fps", "100000"]
    assert main([*args, "--points", "5", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Pareto front of digits_bnn on ulx3s" in out and "fastest that fits:" in out
    data = json.loads((tmp_path / "digits_bnn" / "ulx3s" / "explore.json").read_text())
    assert data["pareto"] and data["fastest_fitting"]["fits"] is True
    assert data["for_fps"]["fps"] >= 100_000
    assert data["limits"]["LUT"] == round(0.85 * 83_640)


def test_when_the_slowest_folding_does_not_fit_the_design_may_become_dram_bound(
    graphs, monkeypatch
):
    """The small insta_resnet18 folded at 2,304 cycles (made the only candidate): with a block
    RAM ceiling its placement cannot meet within those cycles of DRAM time, the search allows
    the tier more (`DRAM_SLACKS`, the fewest first) and returns the first design that fits,
    DRAM-bound (slower than its compute) but fitting; a ceiling that no slack meets is still a
    NoFitError."""
    g = graphs["insta_resnet18"]
    monkeypatch.setattr(explore, "candidate_cycles", lambda graph: [2304])
    tight = explore._design(g, 2304, "ulx3s", ceilings={"BRAM": 0.0})
    loose = explore._design(g, 2304, "ulx3s", slack=explore.DRAM_SLACKS[-1],
                            ceilings={"BRAM": 0.0})  # fmt: skip
    assert loose.need["BRAM"] < tight.need["BRAM"]  # more DRAM time, less block RAM
    blocks = targets.get("ulx3s").resources["BRAM"]
    ceiling = {"BRAM": (loose.need["BRAM"] + 0.5) / blocks}  # met only with the DRAM's time
    d = explore.fastest_fitting(g, "ulx3s", ceiling)
    limits = explore.limits_of("ulx3s", ceiling)
    assert explore.fits(d.need, limits)
    assert d.cycles > cycles_per_frame(d.graph)  # DRAM-bound, slower than its compute
    assert d.cycles <= explore.DRAM_SLACKS[-1] * 2304
    with pytest.raises(explore.NoFitError, match="no folding fits"):
        explore.fastest_fitting(g, "ulx3s", {"BRAM": (loose.need["BRAM"] - 1) / blocks})


def test_distributed_ram_is_a_limit_of_its_own_on_the_ecp5():
    """The LFE5U-85F holds at most 2,613 TRELLIS_DPR16X4 cells (10,455 RAM-capable LUTs): a need
    within every LUT budget but over 95 % of those cells does not fit; the Xilinx parts carry no
    such limit (their LUT RAM counts in LUT only)."""
    from flows.folding import need_of

    cells = targets.get("ulx3s").resources["LUTRAM"]
    assert cells == 10455 // 4
    limits = explore.limits_of("ulx3s")
    assert limits["LUTRAM"] == pytest.approx(0.95 * cells)
    small = {"LUT": 1000, "FF": 1000, "BRAM": 0, "URAM": 0, "DSP": 0}
    assert explore.fits(need_of(small | {"LUTRAM": 2400}, "ecp5"), limits)
    over = need_of(small | {"LUTRAM": 2500}, "ecp5")
    assert over["LUT"] == 1000 + 9 * 2500 < limits["LUT"]  # within the LUTs, yet
    assert not explore.fits(over, limits)
    assert "LUTRAM" not in explore.limits_of("pynq-z2")
