"""FINN folding configuration files (flows/finn_folding.py): the mapping rule, a round trip, the
published CNV-W1A1 folding giving its cycles per frame, and the refusals."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from flows.errors import FoldingError
from flows.finn_folding import finn_folding, load_finn_folding, read_finn_folding
from flows.folding import apply_folding, auto_fold, cycles_per_frame, folding_map
from flows.frontend.qonnx_import import import_model, load
from flows.transforms.streamline import streamline

# FINN's CNV-W1A1 (BNN-PYNQ cnv-pynq hw/config.h; FINN's end-to-end CNV test): (PE, SIMD) of the
# nine MVAUs, the last with 10 outputs at PE 5.
FINN_CNV = [(16, 3), (32, 32), (16, 32), (16, 32), (4, 32), (1, 32), (1, 4), (1, 8), (5, 1)]
# The MVAUs' shapes: (output pixels, K*K*IFM, OFM) of the six convolutions (32x32 input,
# unpadded 3x3, two 2x2 max pools), then the three fully connected layers (1, in, out).
CNV_SHAPES = [(900, 27, 64), (784, 576, 64), (144, 576, 128), (100, 1152, 128), (9, 1152, 256),
              (1, 2304, 256), (1, 256, 512), (1, 512, 512), (1, 512, 10)]  # fmt: skip


@pytest.fixture(scope="module")
def cnv(tmp_path_factory):
    from sw.export import export_untrained

    p = export_untrained("cnv_w1a1", tmp_path_factory.mktemp("cnv") / "cnv.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return streamline(import_model(load(p)))


def _finn_file() -> dict:
    entries = {
        f"MatrixVectorActivation_{i}": {"PE": pe, "SIMD": simd, "ram_style": "auto"}
        for i, (pe, simd) in enumerate(FINN_CNV)
    }
    return {"Defaults": {"mem_mode": ["const", ["MatrixVectorActivation"]]}, **entries}


def test_finn_cnv_folding_gives_its_cycles_per_frame(cnv):
    """Every MVAU at FINN's folding, the other layers at the flow's fastest: the design runs at
    FINN's slowest MVAU, pixels x (K*K*IFM / SIMD) x (OFM / PE), here the two 512-wide fully
    connected layers: 64 x 512 = 32,768 cycles per frame (3,052 frames/s at 100 MHz)."""
    fast = auto_fold(cnv, 1)
    mvau_cycles = [
        px * (k // simd) * (ofm // pe)
        for (px, k, ofm), (pe, simd) in zip(CNV_SHAPES, FINN_CNV, strict=True)
    ]
    g = read_finn_folding(fast, _finn_file())
    mvaus = [n for n in g.topological() if n.kind in ("XnorMVAU", "IntMVAU")]
    assert [(n.config.pe, n.config.simd) for n in mvaus] == FINN_CNV
    assert [n.config.cycles_per_frame for n in mvaus] == mvau_cycles
    assert cycles_per_frame(g) == max(mvau_cycles) == 32_768
    x = np.random.default_rng(0).integers(0, 256, size=(1, 32 * 32, 3))
    np.testing.assert_array_equal(g.run(x), cnv.run(x))  # converters keep the function


def test_round_trip(cnv, tmp_path):
    f = auto_fold(cnv, 20_000, "pynq-z2")
    path = tmp_path / "finn.json"
    path.write_text(json.dumps(finn_folding(f)))
    back = load_finn_folding(auto_fold(cnv, 10**6), path)
    assert folding_map(back) == folding_map(f)
    data = json.loads(path.read_text())
    assert data["MVAU_0"]["SIMD"] == f.node("l1_intmvau").config.simd
    assert data["ConvolutionInputGenerator_0"] == {"SIMD": f.node("l0_slidingwindow").config.pe}
    assert apply_folding(cnv, folding_map(f)).nodes  # this flow's own format reads back too


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"MVAU_9": {"PE": 1}}, "the graph has 9 MVAU node(s) (XnorMVAU, IntMVAU), so no index 9"),
        ({"MVAU_0": {"PE": 3}}, "PE=3 does not divide 64"),
        ({"MVAU_0": {"mem_mode": "external"}}, "mem_mode 'external' puts the weights off chip"),
        ({"MVAU_0": {"ram_style": "ultra"}}, "UltraRAM cannot be initialised by the bitstream"),
        ({"Thresholding_0": {"ram_style": "block"}}, "has no weight memory"),
        ({"MVAU_0": {"PEs": 4}}, "unknown attribute(s) ['PEs']"),
        ({"Thresholding_0": {"SIMD": 4}}, "has no SIMD; use PE"),
        ({"mvau": {"PE": 4}}, "expected <op type>_<index>"),
        ({"Defaults": {"PE": 4}}, '"Defaults": expected {attribute: [value'),
    ],
)
def test_bad_entries_are_refused_with_advice(cnv, entry, message):
    with pytest.raises(FoldingError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):  # fmt: skip
        read_finn_folding(auto_fold(cnv, 10**6), entry)


def test_build_reads_either_format(cnv, tmp_path):
    """--folding takes FINN's format and this flow's; the fold step writes both."""
    from flows.build import apply_folding_file

    fast = auto_fold(cnv, 1)
    finn, own = tmp_path / "finn.json", tmp_path / "own.json"
    finn.write_text(json.dumps(_finn_file()))
    own.write_text(json.dumps({"l1_intmvau": {"simd": 3, "pe": 16}}))
    a, b = apply_folding_file(fast, finn), apply_folding_file(fast, own)
    assert (a.node("l1_intmvau").config.pe, b.node("l1_intmvau").config.pe) == (16, 16)
    assert a.node("l4_xnormvau").config.simd == 32 and b.node("l4_xnormvau").config.simd != 32
