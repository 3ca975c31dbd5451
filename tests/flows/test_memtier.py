"""The memory tier's accounting and placement (flows/hwmodel/dram.py, flows/memtier.py)."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from pathlib import Path

import pytest

from flows import memtier, targets
from flows.errors import ConfigError, ResourceError
from flows.estimate import estimate_layer
from flows.folding import auto_fold
from flows.frontend.qonnx_import import import_model, load
from flows.hwmodel.dram import Dram, buffer_traffic, dram_cycles, fifo_word_bits
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
    word = fifo_word_bits(cfg.pe * cfg.input_type.bits, d, cfg.cycles_per_frame)
    assert word == max(16, 2 ** math.ceil(math.log2(cfg.pe * cfg.input_type.bits))) or (
        word < 16 and cfg.cycles_per_frame % (16 // word) == 0
    )
    assert b.bytes_per_frame == 2 * cfg.cycles_per_frame * word // 8
    assert use.cycles == math.ceil(b.bytes_per_frame / (d.sustained * 2))
    est = memtier.design_estimate(g, "ulx3s")
    assert est[memtier.TIER_ROW].cycles == use.cycles and est[memtier.TIER_ROW].lut > d.lut


def test_a_target_without_dram_says_so(resnet20) -> None:
    g = resnet20.copy()
    g.replace_config(_insta(g)[0], buffer="dram")
    with pytest.raises(ResourceError, match="pynq-z2 has no external-memory tier"):
        memtier.dram_use(g, "pynq-z2")


def test_placement(resnet20) -> None:
    g = resnet20.copy()
    assert memtier.place_buffers(g, "ulx3s") == []  # it fits on chip: nothing moves
    everything = memtier.place_buffers(g, "ulx3s", force="all")
    assert sorted(everything) == sorted(n.name for n in _framed(g))
    assert any(n.kind == "InstaPReLU" for n in _framed(g))
    assert set(memtier.placement(g).values()) == {"dram"}
    # no block RAM allowed: buffers move, largest first, until the rest fits (here: all of them)
    moved = memtier.place_buffers(g, "ulx3s", {"BRAM": 0.0})
    sizes = [g.node(m).config.buffer_bits for m in moved]
    assert moved and sizes == sorted(sizes, reverse=True)
    assert memtier.place_buffers(g, "pynq-z2", {"BRAM": 0.0}) == []  # no tier: stays on chip
    assert memtier.place_buffers(g, "ulx3s", force="none") == []
    with pytest.raises(ResourceError, match="pynq-z2 has no external-memory tier"):
        memtier.place_buffers(g, "pynq-z2", force="all")
    assert set(memtier.placement(g).values()) == {"chip"}


def test_folding_files_carry_the_placement(resnet20) -> None:
    """folding.json records where each frame buffer lives; applying it gives the same placement."""
    from flows.folding import apply_folding, folding_map

    g = resnet20.copy()
    memtier.place_buffers(g, "ulx3s", force="all")
    saved = folding_map(g)
    assert all(saved[n.name]["buffer"] == "dram" for n in _framed(g))
    fresh = resnet20.copy()
    memtier.place_buffers(fresh, "ulx3s", force="none")
    assert memtier.placement(apply_folding(fresh, saved)) == memtier.placement(g)


def test_no_fit_message_says_what_is_in_dram_and_what_cannot_be(resnet20) -> None:
    from flows import explore

    with pytest.raises(explore.NoFitError, match=r"frame buffer\(s\) are in DRAM already, and "
                       r"weights cannot go there yet"):  # fmt: skip
        explore.fastest_fitting(resnet20.copy(), "ulx3s", {"LUT": 0.01}, dram="all")
