"""cnv_w1a1 (small, randomised) lowers completely to the integer dataflow graph, exactly.

Reference: qonnx `execute_onnx` of the exported model. Compared: the predicted class and every
binary activation map (BipolarQuant and MaxPool outputs, NCHW vs the (H*W, C) streams).
"""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from qonnx.core.onnx_exec import execute_onnx

from flows.errors import NumericContractError, UnsupportedPatternError
from flows.folding import auto_fold, check_lanes, cycles_per_frame
from flows.frontend.qonnx_import import import_model, load
from flows.layers import all_kinds
from flows.transforms import apply_repeatedly, infer_types
from flows.transforms.affine_sign_to_threshold import AffineSignToThreshold
from flows.transforms.collapse_affines import CollapseAffines
from flows.transforms.factor_weight_scales import FactorWeightScales
from flows.transforms.final_affine_to_fixed_point import FinalAffineToFixedPoint
from flows.transforms.matmul_to_mvau import MatMulToMVAU
from flows.transforms.streamline import streamline

SMALL = {"channels": (8, 8, 16, 16, 32, 32), "fc": (32, 32)}
TRANSIENT = {k.name for k in all_kinds() if not k.hardware}
N_IMAGES = 6


def export(path, **config):
    from sw.export import export_untrained

    return export_untrained("cnv_w1a1", path, seed=3, **SMALL, **config)


@pytest.fixture(scope="module")
def cnv_onnx(tmp_path_factory):
    return export(tmp_path_factory.mktemp("cnv") / "cnv.onnx")


@pytest.fixture(scope="module")
def padded_onnx(tmp_path_factory):
    """36x36 input (last map 2x2: a real flatten permutation) with Pad(-1) before Conv_1."""
    d = tmp_path_factory.mktemp("cnv36")
    return insert_pad(export(d / "cnv36.onnx", input_size=36), d / "padded.onnx", -1.0)


def insert_pad(src, dst, value: float, conv: str = "Conv_1"):
    m = load(src).model  # cleaned: qonnx node names
    g = m.graph
    idx, node = next((i, n) for i, n in enumerate(g.node) if n.name == conv)
    g.initializer.append(helper.make_tensor("pad_pads", TensorProto.INT64, [8], [0, 0, 1, 1] * 2))
    g.initializer.append(helper.make_tensor("pad_value", TensorProto.FLOAT, [], [value]))
    pad = helper.make_node(
        "Pad", [node.input[0], "pad_pads", "pad_value"], ["pad_out"], name="Pad_x"
    )
    node.input[0] = "pad_out"
    g.node.insert(idx, pad)
    del g.value_info[:]
    onnx.save(m, str(dst))
    return dst


def images(n: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 3, size, size))


def to_stream(x: np.ndarray) -> np.ndarray:
    """NCHW -> (N, H*W, C): raster order, channels last."""
    n, c, h, w = x.shape
    return x.transpose(0, 2, 3, 1).reshape(n, h * w, c)


def compare(model, graph, x):
    """Run both; return (classes equal, maps compared, maps identical) over the images."""
    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    vals = graph.execute({graph.inputs[0]: to_stream(x)}, keep_all=True)
    labels = vals[graph.outputs[0]][:, 0, 0]
    same_class, maps, identical = 0, 0, 0
    for i, img in enumerate(x):
        ctx = execute_onnx(model, {iname: img[None].astype(np.float32)}, True)
        same_class += int(np.argmax(ctx[oname]) == labels[i])
        for node in model.graph.node:
            t = node.output[0]
            if node.op_type in ("BipolarQuant", "MaxPool") and t in vals and ctx[t].ndim == 4:
                maps += 1
                identical += int(np.array_equal(to_stream(ctx[t])[0], vals[t][i]))
    return same_class, maps, identical


def test_cnv_lowers_completely_and_exactly(cnv_onnx):
    model = load(cnv_onnx)
    g = streamline(import_model(model))
    kinds = [n.kind for n in g.topological()]
    assert not TRANSIENT & set(kinds)
    assert kinds.count("SlidingWindow") == 6 and kinds.count("MaxPool") == 2
    assert kinds[:2] == ["SlidingWindow", "IntMVAU"]  # pixels: integer first layer
    assert kinds.count("XnorMVAU") == 8 and kinds[-2:] == ["Affine", "LabelSelect"]
    first = g.topological()[1].config
    assert (first.mw, first.mh, first.num_vectors) == (27, 8, 900)
    same, maps, identical = compare(model, g, images(N_IMAGES, 32))
    assert (same, identical) == (N_IMAGES, maps) and maps == 8 * N_IMAGES


def test_pad_minus_one_and_flatten_permutation(padded_onnx):
    model = load(padded_onnx)
    g = streamline(import_model(model))
    swgs = [n.config for n in g.topological() if n.kind == "SlidingWindow"]
    assert swgs[1].pad == 1 and swgs[1].pad_value == -1
    assert (swgs[-1].kernel, swgs[-1].in_h, swgs[-1].channels) == (2, 2, 32)  # the flatten
    same, maps, identical = compare(model, g, images(N_IMAGES, 36, seed=1))
    assert (same, identical) == (N_IMAGES, maps) and maps == 8 * N_IMAGES


def test_float_import_matches_qonnx(cnv_onnx):
    model = load(cnv_onnx)
    g = import_model(model)
    x = images(2, 32, seed=2)
    vals = g.execute({g.inputs[0]: to_stream(x)}, keep_all=True)
    iname = model.graph.input[0].name
    compared = 0
    for i, img in enumerate(x):
        ctx = execute_onnx(model, {iname: img[None].astype(np.float32)}, True)
        for node in model.graph.node:
            t = node.output[0]
            if node.op_type in ("Conv", "BatchNormalization") and ctx[t].ndim == 4:
                np.testing.assert_allclose(vals[t][i], to_stream(ctx[t])[0], rtol=1e-4, atol=1e-3)
                compared += 1
    assert compared == len(x) * 2 * 6  # every image: the 6 convolutions and their BatchNorms


def test_each_step_before_after(cnv_onnx):
    g0 = import_model(load(cnv_onnx))
    infer_types(g0)
    feeds = {g0.inputs[0]: to_stream(images(4, 32, seed=4))}
    g1 = apply_repeatedly(g0, FactorWeightScales())
    g2 = apply_repeatedly(g1, CollapseAffines())
    g3 = apply_repeatedly(g2, AffineSignToThreshold())
    g4 = apply_repeatedly(g3, MatMulToMVAU())
    g5 = apply_repeatedly(g4, CollapseAffines(), FinalAffineToFixedPoint())
    runs = [g.execute(feeds, keep_all=True) for g in (g0, g1, g2, g3, g4, g5)]
    out = g0.outputs[0]
    for a, b in ((0, 1), (1, 2)):  # float re-association only
        np.testing.assert_allclose(runs[b][out], runs[a][out], rtol=1e-9, atol=1e-9)
    signs = [n.outputs[0] for n in g2.nodes if n.kind in ("Sign", "MaxPool", "SlidingWindow")]
    assert len(signs) == 6 + 8 + 2  # windows, signs, pools
    for s in signs:  # every binary map and window, exact
        for k in (3, 4, 5):
            assert np.array_equal(runs[2][s], runs[k][s]), s
    assert not {"MatMul", "Sign"} & {n.kind for n in g4.nodes}
    thr = [n.outputs[0] for n in g3.nodes if n.kind == "Threshold"]
    for s in thr:  # integer streams: exact through MatMulToMVAU
        assert np.array_equal(runs[3][s], runs[4][s]), s
    frac = next(n.config.frac_bits for n in g5.nodes if n.kind == "Affine")
    np.testing.assert_allclose(runs[5][out] * 2.0**-frac, runs[4][out], atol=2.0**-frac * 40)


def test_auto_fold_on_cnv(cnv_onnx):
    g = streamline(import_model(load(cnv_onnx)))
    x = to_stream(images(2, 32, seed=5))
    reported = {}
    for target in (100_000, 10_000):
        f = auto_fold(g, target)
        check_lanes(f)
        reported[target] = cycles_per_frame(f)
        assert reported[target] == max(n.config.cycles_per_frame for n in f.nodes) > 0
        np.testing.assert_array_equal(f.run(x), g.run(x))
    assert reported[100_000] <= 100_000 and reported[10_000] <= 10_000
    swg = f.topological()[0].config
    assert swg.pe == 3  # the pixel window meets 10,000 only with all 3 channels per word
    assert swg.cycles_per_frame == 30 * 30 * 27 // 3


def test_grouped_conv_is_rejected_naming_the_node(cnv_onnx):
    model = load(cnv_onnx)
    conv = next(n for n in model.graph.node if n.name == "Conv_1")
    next(a for a in conv.attribute if a.name == "group").i = 2
    with pytest.raises(UnsupportedPatternError, match=r"Conv_1: Conv with group=2"):
        import_model(model)


def test_zero_padding_of_a_binary_conv_is_rejected(cnv_onnx, tmp_path):
    with pytest.raises(NumericContractError, match="Conv_1: a binary convolution must be padded"):
        import_model(load(insert_pad(cnv_onnx, tmp_path / "zero.onnx", 0.0)))
    model = load(cnv_onnx)
    conv = next(n for n in model.graph.node if n.name == "Conv_2")
    pads = next(a for a in conv.attribute if a.name == "pads")
    pads.ints[:] = [1, 1, 1, 1]
    with pytest.raises(NumericContractError, match="Conv_2: the Conv pads its binary input"):
        import_model(model)
