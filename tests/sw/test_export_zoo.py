"""QONNX export of every zoo model: qonnx loads, cleans and executes it like PyTorch.

Measures (docs/models.md): the binary activations (BipolarQuant outputs, InstaThreshold outputs)
agree bit for bit; the logits agree within LOGIT_ATOL, the float32 reordering of BatchNorm, conv
and Gemm sums between PyTorch and onnxruntime (observed <= 1e-6 on these models).
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.util.cleanup import cleanup_model

from flows.errors import NumericContractError
from sw import models
from sw.export import build_untrained, export, export_model, roundtrip_error
from sw.insta_modules import InstaThreshold
from sw.quant import BinaryActivation, set_binary_weights
from tests.sw.small_models import SMALL

LOGIT_ATOL = 1e-4

RESNET_OPS = {"Add", "AveragePool", "BatchNormalization", "BipolarQuant", "Conv", "Flatten"}
RESNET_OPS |= {"Gemm", "GlobalAveragePool", "Pad", "Quant"}
OPS = {
    "digits_bnn": {"BatchNormalization", "BipolarQuant", "Gemm", "MatMul", "Quant", "Transpose"},
    "cnv_w1a1": {"BatchNormalization", "BipolarQuant", "Conv", "Flatten", "Gemm", "MatMul"}
    | {"MaxPool", "Quant", "Transpose"},
    "reactnet_resnet18": RESNET_OPS | {"MaxPool", "PRelu", "Sub"},
    "insta_resnet18": RESNET_OPS | {"MaxPool", "InstaThreshold", "InstaPReLU"},
    "insta_resnet18_plus": RESNET_OPS | {"MaxPool", "InstaThreshold", "InstaPReLU"},
    "insta_resnet18_lat": RESNET_OPS | {"MaxPool", "PRelu", "Sub", "InstaThreshold", "InstaPReLU"},
    "insta_resnet20": RESNET_OPS | {"InstaThreshold", "InstaPReLU"},
}


def _images(model, n: int = 2, seed: int = 0) -> np.ndarray:
    high = 17 if model.input_shape == (1, 64) else 256
    rng = np.random.default_rng(seed)
    return rng.integers(0, high, (n, *model.input_shape[1:])).astype(np.float32)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> (model, onnx path), exported once per test module."""
    cache = {}

    def get(name):
        if name not in cache:
            model = build_untrained(name, 0, **SMALL[name])
            cache[name] = (model, export(model, tmp_path_factory.mktemp(name) / "m.onnx"))
        return cache[name]

    return get


@pytest.mark.parametrize("name", sorted(SMALL))
def test_round_trip_through_qonnx(name, exported):
    model, path = exported(name)
    assert {n.op_type for n in onnx.load(path).graph.node} == OPS[name]
    err = roundtrip_error(model, path, _images(model))
    print(f"{name}: max |torch - qonnx| = {err:.3g}")
    assert err <= LOGIT_ATOL


def _bipolar_outputs(graph: ModelWrapper, ctx: dict) -> list[np.ndarray]:
    """Activation outputs of BipolarQuant (not weights) and InstaThreshold, in graph order."""
    out = []
    for node in graph.graph.node:
        if node.op_type == "InstaThreshold" or (
            node.op_type == "BipolarQuant" and graph.get_initializer(node.input[0]) is None
        ):
            out.append(ctx[node.output[0]])
    return out


def test_binary_activations_agree_bit_for_bit(exported):
    model, path = exported("insta_resnet18_lat")  # RSign in stage 0, INSTA-Th after
    torch_acts: list[torch.Tensor] = []
    for m in model.modules():
        if isinstance(m, BinaryActivation | InstaThreshold):
            m.register_forward_hook(
                lambda _m, _i, o: torch_acts.append(o[0] if isinstance(o, tuple) else o)
            )
    graph = cleanup_model(ModelWrapper(str(path)))
    x = _images(model, 1)
    ctx = execute_onnx(graph, {graph.graph.input[0].name: x}, return_full_exec_context=True)
    with torch.no_grad():
        model(torch.from_numpy(x))
    onnx_acts = _bipolar_outputs(graph, ctx)
    assert len(onnx_acts) == len(torch_acts) == 8
    for a, b in zip(onnx_acts, torch_acts, strict=True):
        np.testing.assert_array_equal(a, b.numpy())


def _scale(graph: ModelWrapper, tensor: str) -> float:
    node = graph.find_producer(tensor)
    assert node is not None and node.op_type == "Quant", f"{tensor} is not a Quant output"
    return float(graph.get_initializer(node.input[1]))


@pytest.mark.parametrize("name", ["reactnet_resnet18", "insta_resnet18_lat", "insta_resnet20"])
def test_residual_add_inputs_share_one_power_of_two_scale(name, exported):
    graph = cleanup_model(ModelWrapper(str(exported(name)[1])))
    adds = [
        n
        for n in graph.graph.node
        if n.op_type == "Add" and not any(graph.get_initializer(i) is not None for i in n.input)
    ]
    assert len(adds) == len(exported(name)[0].units)
    for add in adds:
        a, b = (_scale(graph, i) for i in add.input)
        (consumer,) = graph.find_consumers(add.output[0])
        assert a == b == float(graph.get_initializer(consumer.input[1])), add.name
        assert np.log2(a) == round(np.log2(a))


@pytest.mark.parametrize(
    "name", ["reactnet_resnet18", "insta_resnet18", "insta_resnet18_plus", "insta_resnet18_lat"]
)
def test_full_size_resnet18_exports(name, tmp_path):
    torch.manual_seed(0)
    model = models.build(name)
    g = onnx.load(export(model, tmp_path / f"{name}.onnx")).graph
    ops = [n.op_type for n in g.node]
    assert [d.dim_value for d in g.input[0].type.tensor_type.shape.dim] == [1, 3, 224, 224]
    assert [d.dim_value for d in g.output[0].type.tensor_type.shape.dim] == [1, 1000]
    insta = {"reactnet_resnet18": 0, "insta_resnet18_lat": 12}.get(name, 16)
    assert ops.count("InstaThreshold") == ops.count("InstaPReLU") == insta
    assert ops.count("Pad") == 16 and ops.count("AveragePool") == 3
    if name == "insta_resnet18_plus":
        se = [n for n in g.node if n.op_type == "InstaThreshold"]
        inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
        w1 = inits[se[-1].input[4]]
        assert w1.shape == (32, 512) and w1.min() >= -128 and w1.max() <= 127
        assert np.array_equal(w1, np.round(w1))


def test_stage_one_checkpoint_is_refused(tmp_path):
    model = models.build("cnv_w1a1", **SMALL["cnv_w1a1"])
    set_binary_weights(model, False)
    with pytest.raises(
        NumericContractError,
        match="layer 'features.1' must have binary weights but its weight quantiser is switched off",
    ):
        export(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_all_zero_binary_filter_is_refused(tmp_path):
    model = models.build("reactnet_resnet18", **SMALL["reactnet_resnet18"])
    with torch.no_grad():
        model.units[3].conv.weight[5].zero_()
    with pytest.raises(
        NumericContractError, match="layer 'units.3.conv' .* output channel 5 is not"
    ):
        export(model, tmp_path / "m.onnx")


def test_float_se_weights_are_refused(tmp_path):
    model = models.build("insta_resnet18_plus", **SMALL["insta_resnet18_plus"])
    model.units[0].act.se.fc2.quantize = False
    with pytest.raises(
        NumericContractError, match="SE layer 'units.0.act.se.fc2' has float weights"
    ):
        export(model, tmp_path / "m.onnx")


def test_export_model_without_checkpoint_exports_the_seeded_untrained_model(tmp_path):
    a = export_model("insta_resnet20", tmp_path / "a.onnx", checkpoint=tmp_path / "none.pt", seed=3)
    b = export_model("insta_resnet20", tmp_path / "b.onnx", seed=3)
    wa = {i.name: numpy_helper.to_array(i) for i in onnx.load(a).graph.initializer}
    wb = {i.name: numpy_helper.to_array(i) for i in onnx.load(b).graph.initializer}
    assert wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_export_model_prefers_the_checkpoint(tmp_path):
    from sw import checkpoint

    model = build_untrained("cnv_w1a1", 5, **SMALL["cnv_w1a1"])
    checkpoint.save(tmp_path / "c.pt", "cnv_w1a1", model)
    path = export_model("cnv_w1a1", tmp_path / "c.onnx", checkpoint=tmp_path / "c.pt")
    assert roundtrip_error(model, path, _images(model, 1)) <= LOGIT_ATOL
