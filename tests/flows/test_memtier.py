"""The memory tier's accounting and placement (flows/hwmodel/dram.py, flows/memtier.py)."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from pathlib import Path

import pytest

from flows import memtier, targets
from flows.codegen import links
from flows.codegen.stream_engine import BURST
from flows.errors import ConfigError, ResourceError
from flows.estimate import estimate_layer, total
from flows.folding import auto_fold
from flows.frontend.qonnx_import import import_model, load
from flows.hwmodel.dram import Dram, buffer_traffic, dram_cycles, fifo_word_bits
from flows.layers import kind_of
from flows.transforms.streamline import streamline
from sw.export import export_untrained

SDR16 = Dram("MT48LC16M16", 16, 32 << 20, 0.5)


@pytest.mark.parametrize("width, bits", [(1, 16), (8, 16), (16, 16), (17, 32), (24, 32),
                                         (64, 64), (72, 128)])  # fmt: skip
def test_fifo_word_is_the_chip_width_times_a_power_of_two(width: int, bits: int) -> None:
    assert fifo_word_bits(width, SDR16) == bits


@pytest.mark.parametrize("width, per_frame, bits", [(8, 100, 8), (8, 101, 16), (4, 100, 4),
                                                    (4, 102, 16), (1, 32, 1), (24, 100, 32)])  # fmt: skip
def test_narrow_words_are_packed_when_frames_fill_port_words(width, per_frame, bits) -> None:
    assert fifo_word_bits(width, SDR16, per_frame) == bits


def test_traffic_and_bound() -> None:
    assert buffer_traffic(8, 1000, SDR16) == 2 * 1000 * 1  # written once, read once, packed
    assert buffer_traffic(8, 1001, SDR16) == 2 * 1001 * 2  # a frame would end mid port word
    assert buffer_traffic(64, 10, SDR16) == 2 * 10 * 8
    assert dram_cycles(4000, SDR16) == 4000  # 0.5 x 2 bytes per clock
    assert dram_cycles(4001, SDR16) == 4001
    assert dram_cycles(0, SDR16) == 0


@pytest.fixture(scope="module")
def resnet20(tmp_path_factory):
    path = export_untrained(
        "insta_resnet20", tmp_path_factory.mktemp("m") / "m.onnx",
        width=8, blocks=(1, 1, 1), input_size=16, num_classes=10,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return auto_fold(streamline(import_model(load(Path(path)))), 2304)


def _insta(g):
    return [n for n in g.topological() if n.kind == "InstaThreshold"]


def _framed(g):
    """Every layer with a frame buffer: the INSTA-Th and the own-statistics INSTA-PReLU."""
    return [n for n in g.topological()
            if n.kind in ("InstaThreshold", "InstaPReLU") and n.config.buffer_words]  # fmt: skip


def test_buffer_field_is_checked(resnet20) -> None:
    n = _insta(resnet20)[0]
    with pytest.raises(ConfigError, match="buffer='sram'.*chip.*dram"):
        replace(n.config, buffer="sram")


def test_a_dram_buffer_leaves_block_ram_and_adds_traffic(resnet20) -> None:
    g = resnet20.copy()
    n = _insta(g)[0]
    on_chip = estimate_layer(n.config, "ecp5").bram
    g.replace_config(n, buffer="dram")
    assert estimate_layer(n.config, "ecp5").bram < on_chip
    use = memtier.dram_use(g, "ulx3s")
    (b,) = use.buffers
    cfg = n.config
    d = targets.get("ulx3s").dram
    word = fifo_word_bits(cfg.pe * cfg.input_type.bits, d, cfg.words_per_frame)
    assert word == max(16, 2 ** math.ceil(math.log2(cfg.pe * cfg.input_type.bits))) or (
        word < 16 and cfg.words_per_frame % (16 // word) == 0
    )
    # written once, read by the layer and once more by its tap (the shortcut's delayed input)
    assert b.taps == 1
    assert b.bytes_per_frame == 3 * cfg.words_per_frame * word // 8
    assert use.cycles == math.ceil(b.bytes_per_frame / (d.sustained * 2))
    # the ring holds the shortcut's backlog besides the frame buffer, and no link does
    assert b.words == cfg.buffer_words + links.tap_words(g)[n.name] + 2 * BURST
    assert links.tap_words(g)[n.name] > 0
    (join,) = [j for j in g.nodes if j.kind == "AddStreams" and n.outputs[1] in j.inputs]
    deep = {lk.stream: lk.shortcut_words for lk in links.plan_links(g)}
    assert [deep[s] for s in join.inputs] == [0, 0]
    est = memtier.design_estimate(g, "ulx3s")
    assert est[memtier.TIER_ROW].cycles == use.cycles and est[memtier.TIER_ROW].lut > d.base[0]


def test_a_target_without_dram_says_so(resnet20) -> None:
    g = resnet20.copy()
    g.replace_config(_insta(g)[0], buffer="dram")
    with pytest.raises(ResourceError, match="pynq-z2 has no external-memory tier"):
        memtier.dram_use(g, "pynq-z2")


def _mvaus(g):
    """The MVAUs with a DRAM form (a small one may have none: no pass would drain in time)."""
    return [n for n in memtier.placeable(g) if n.kind in ("XnorMVAU", "IntMVAU")]


def test_placement(resnet20) -> None:
    g = resnet20.copy()
    assert memtier.place(g, "ulx3s") == []  # it fits on chip: nothing moves
    buffers = memtier.place(g, "ulx3s", force="buffers")
    assert sorted(buffers) == sorted(n.name for n in _framed(g))
    assert any(n.kind == "InstaPReLU" for n in _framed(g))
    where = memtier.placement(g)
    assert {where[n.name] for n in _framed(g)} == {"dram"}
    assert _mvaus(g) and {where[n.name] for n in _mvaus(g)} == {"chip"}  # weights stay
    everything = memtier.place(g, "ulx3s", force="all")
    affines = {n.name for n in g.nodes if n.kind == "Affine"}  # their constants (docs/dram.md)
    assert affines and set(everything) == set(buffers) | {n.name for n in _mvaus(g)} | affines
    assert set(memtier.placement(g).values()) == {"dram"}
    # no block RAM allowed: every layer whose DRAM form frees block RAM moves
    memtier.place(g, "ulx3s", force="none")
    tgt = targets.get("ulx3s")
    ratios = {n.name: memtier.best_form(g, n, tgt) for n in memtier.placeable(g)}
    moved = memtier.place(g, "ulx3s", {"BRAM": 0.0})
    assert set(moved) == {name for name, best in ratios.items() if best is not None}
    # a ceiling a few blocks below the on-chip design: moves stop as soon as it is met
    memtier.place(g, "ulx3s", force="none")
    on_chip = total(memtier.design_estimate(g, tgt))["BRAM"]
    share = (on_chip - 6) / tgt.resources["BRAM"]
    few = memtier.place(g, "ulx3s", {"BRAM": share})
    assert few and len(few) < len(moved)
    assert total(memtier.design_estimate(g, tgt))["BRAM"] <= math.floor(
        share * tgt.resources["BRAM"]
    )
    last = g.node(few[-1])
    undo = {k: f.default for k, f in type(last.config).__dataclass_fields__.items()
            if k in kind_of(last.config).places}  # fmt: skip
    g.replace_config(last, **undo)  # without its last move the design is over again
    assert total(memtier.design_estimate(g, tgt))["BRAM"] > math.floor(
        share * tgt.resources["BRAM"]
    )
    assert memtier.place(g, "pynq-z2", {"BRAM": 0.0}) == []  # no tier: stays on chip
    assert memtier.place(g, "ulx3s", force="none") == []
    for force in ("buffers", "all"):
        with pytest.raises(ResourceError, match="pynq-z2 has no external-memory tier"):
            memtier.place(g, "pynq-z2", force=force)
    assert set(memtier.placement(g).values()) == {"chip"}


def test_placement_keeps_the_dram_bound_within_the_budget(resnet20) -> None:
    """With no block RAM allowed every move is wanted, but none that would make the DRAM bound
    exceed the cycles the design is folded for; a larger budget admits more (shorter passes)."""
    g = resnet20.copy()
    unbounded = memtier.place(g, "ulx3s", {"BRAM": 0.0})
    everything = memtier.dram_use(g, "ulx3s").cycles
    budget = everything // 3
    bounded = memtier.place(g, "ulx3s", {"BRAM": 0.0}, budget=budget)
    assert 0 < memtier.dram_use(g, "ulx3s").cycles <= budget < everything
    assert bounded and set(bounded) <= set(unbounded)
    assert memtier.place(g, "ulx3s", {"BRAM": 0.0}, budget=0) == []  # nothing affordable


def test_weights_in_dram_cost_their_passes_in_traffic_and_free_the_rom() -> None:
    """An MVAU's DRAM forms: every pass length that drains in time, longest first; the region is
    read once per pass; the ROM's block RAM gives way to the pass memories."""
    from flows.layers import XnorMVAU, kind_of

    tgt = targets.get("ulx3s")
    cfg = XnorMVAU("m", mw=4608, mh=512, simd=64, pe=4, num_vectors=49)
    forms = kind_of(cfg).dram_forms(cfg)
    assert [f["vectors_per_pass"] for f in forms] == [49, 7, 1]
    chip = estimate_layer(cfg, "ecp5")
    for f in forms:
        d = replace(cfg, **f)
        (region,) = kind_of(d).dram_regions(d)
        assert region.words == 72 * 128 and region.width == 256
        assert region.reads_per_frame == 49 // f["vectors_per_pass"]
        assert memtier.node_traffic(d, tgt) == region.reads_per_frame * 72 * 128 * 32
        assert estimate_layer(d, "ecp5").bram < chip.bram
        assert estimate_layer(d, "ecp5").cycles == chip.cycles  # same steps, streamed weights
    # a pass that could not drain its results in time is refused, with what to change
    with pytest.raises(ConfigError, match="lower SIMD, lower PE or raise vectors_per_pass"):
        XnorMVAU("m", mw=64, mh=4, simd=32, pe=4, num_vectors=4, weights="dram")
    with pytest.raises(ConfigError, match="needs weights='dram'"):
        XnorMVAU("m", mw=64, mh=4, simd=8, num_vectors=4, vectors_per_pass=2)
    with pytest.raises(ConfigError, match="not a weight place"):
        XnorMVAU("m", mw=64, mh=4, weights="ddr")


def test_folding_files_carry_the_placement(resnet20) -> None:
    """folding.json records where each frame buffer lives; applying it gives the same placement."""
    from flows.folding import apply_folding, folding_map

    g = resnet20.copy()
    memtier.place(g, "ulx3s", force="buffers")
    saved = folding_map(g)
    assert all(saved[n.name]["buffer"] == "dram" for n in _framed(g))
    fresh = resnet20.copy()
    memtier.place(fresh, "ulx3s", force="none")
    assert memtier.placement(apply_folding(fresh, saved)) == memtier.placement(g)


def test_no_fit_message_says_what_is_in_dram_and_what_cannot_be(resnet20) -> None:
    from flows import explore

    with pytest.raises(
        explore.NoFitError,
        match=r"layer\(s\) keep their frame buffer, weights or constants in DRAM already",
    ):
        explore.fastest_fitting(resnet20.copy(), "ulx3s", {"LUT": 0.01}, dram="all")


def test_report_lists_what_is_in_dram(resnet20) -> None:
    """report.md's external-memory section: a row per buffer and weight region, the total bytes
    per frame and the DRAM bound."""
    from flows.report import dram_section

    g = resnet20.copy()
    memtier.place(g, "ulx3s", force="all")
    use = memtier.dram_use(g, "ulx3s")
    text = dram_section(use, 50.0, "MT48LC16M16", 0.78)
    rows = [line for line in text.splitlines() if line.startswith("| ")][1:]  # after the header
    assert len(rows) == len(use.buffers)
    assert sum("| weights |" in r for r in rows) == sum(b.kind == "region" for b in use.buffers) > 0
    assert f"{use.bytes_per_frame:,} bytes per frame" in text and f"{use.cycles:,} cycles" in text


def test_logic_moves_when_luts_are_over(resnet20) -> None:
    """Once the tier exists (block RAM moves made it) and LUTs are over their ceiling, layers move
    to DRAM forms that cost fewer LUTs with their streams (LUT-ROM constants as slow region
    streams), never holding more block memory; a move that would not lower the design's LUTs
    (the first stream, which brings the tier's shared part) is not made. With the LUTs under
    the ceiling no logic move is made."""
    from flows.hwmodel.memory import LUTRAM_LUTS

    g = resnet20.copy()
    tgt = targets.get("ulx3s")

    def need(graph) -> tuple[int, int]:
        tot = total(memtier.design_estimate(graph, tgt))
        return tot["LUT"] + LUTRAM_LUTS["ecp5"] * tot.get("LUTRAM", 0), tot["BRAM"]

    lut_chip, _ = need(g)
    # on chip, a first stream costs the tier's shared part: no logic move pays
    assert memtier.place(g, "ulx3s", {"LUT": (lut_chip - 300) / tgt.resources["LUT"]}) == []
    for_bram = memtier.place(g, "ulx3s", {"BRAM": 0.0})
    lut0, bram0 = need(g)
    again = memtier.place(g, "ulx3s", {"BRAM": 0.0, "LUT": 1.0})
    assert again == for_bram and need(g) == (lut0, bram0)
    moved = memtier.place(g, "ulx3s", {"BRAM": 0.0, "LUT": (lut0 - 100) / tgt.resources["LUT"]})
    lut1, bram1 = need(g)
    extra = [name for name in moved if name not in for_bram]
    assert extra and lut1 < lut0 and bram1 <= bram0, (extra, lut0, lut1, bram0, bram1)
