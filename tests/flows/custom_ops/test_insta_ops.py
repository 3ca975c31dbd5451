"""The INSTA custom ops of the domain flows.custom_ops: numpy semantics and qonnx integration.

No `sw` here: the reference functions are checked on inputs whose results are derived by hand,
and the CustomOp classes are checked through qonnx (registry lookup, shape and datatype
inference, cleanup, execute_onnx) on hand-built graphs. The PyTorch side is compared with these
functions in tests/sw/test_insta.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.cleanup import cleanup_model

from flows.custom_ops import DOMAIN, PRELU_INPUTS, THRESHOLD_INPUTS, custom_op, insta_reference

C, H, W = 4, 3, 3
RNG = np.random.default_rng(0)


def test_registry_resolves_our_domain():
    node = helper.make_node("InstaThreshold", ["x"], ["y", "m3"], domain=DOMAIN)
    assert type(getCustomOp(node)) is custom_op["InstaThreshold"]
    node = helper.make_node("InstaPReLU", ["x"], ["y"], domain=DOMAIN)
    assert type(getCustomOp(node)) is custom_op["InstaPReLU"]


def test_threshold_by_hand():
    # One channel, 2x2 map, mu = 1, sigma = 2: x_hat = (-0.5, 0, 0.5, 2.5),
    # m3 = (-0.125 + 0 + 0.125 + 15.625) / 4 = 3.90625; alpha = 0.1, beta = 0.1 -> t = 0.490625.
    x = np.array([0.0, 1.0, 2.0, 6.0], np.float32).reshape(1, 1, 2, 2)
    one = np.ones(1, np.float32)
    y, m3 = insta_reference.insta_threshold(x, one, 2 * one, 0.1 * one, alpha=0.1 * one)
    assert m3[0, 0] == np.float32(3.90625)
    assert y.ravel().tolist() == [-1.0, -1.0, 1.0, 1.0]
    # alpha = beta = 0: t = 0, and the tie x_hat = 0 gives +1 (sign(0) = +1).
    y0, _ = insta_reference.insta_threshold(x, one, 2 * one, 0 * one, alpha=0 * one)
    assert y0.ravel().tolist() == [-1.0, 1.0, 1.0, 1.0]


def test_zeroing_m3_changes_a_stated_fraction_of_bits():
    # A right-skewed channel (exponential): m3 > 0, so alpha = 0.5 raises the threshold by
    # 0.5 * m3 and exactly the x_hat in [0, 0.5 * m3) turn from +1 to -1.
    x = RNG.exponential(2.0, size=(1, 1, 16, 16)).astype(np.float32)
    mu, sigma = np.array([2.0], np.float32), np.array([2.0], np.float32)
    zero, half = np.zeros(1, np.float32), np.full(1, 0.5, np.float32)
    y, m3 = insta_reference.insta_threshold(x, mu, sigma, zero, alpha=half)
    y0, _ = insta_reference.insta_threshold(x, mu, sigma, zero, alpha=zero)
    x_hat = (x - mu[0]) / sigma[0]
    t = np.float32(0.5 * np.float64(m3[0, 0]))
    expected = np.mean((x_hat >= 0) & (x_hat < t))
    assert m3[0, 0] > 1.0 and expected > 0.1  # the construction does what it claims
    assert np.mean(y != y0) == expected


def test_prelu_forms_by_hand():
    x = np.array([-2.0, 0.0, 1.0, 4.0], np.float32).reshape(1, 1, 2, 2)
    one = np.ones(1, np.float32)
    # reuse: gamma = 3 tanh((p m3 + q) / 3) with p m3 + q = 0 -> gamma = 0: plain PReLU + zeta.
    y = insta_reference.insta_prelu(
        x, 0.25 * one, one, m3=np.ones((1, 1), np.float32), p=one, q=-one
    )
    assert y.ravel().tolist() == [0.5, 1.0, 2.0, 5.0]
    # alpha form with a = 0 is the same PReLU.
    y_a = insta_reference.insta_prelu(x, 0.25 * one, one, mu=one, sigma=one, a=0 * one)
    assert y_a.ravel().tolist() == [0.5, 1.0, 2.0, 5.0]
    # a = 3: gamma = 3 tanh(m3) > 0 moves the kink right.
    y_b = insta_reference.insta_prelu(x, 0.25 * one, 0 * one, mu=one, sigma=one, a=3 * one)
    m3 = np.mean(((x - 1.0) / 1.0) ** 3)
    gamma = np.float32(3 * np.tanh(m3))
    z = x - gamma
    np.testing.assert_array_equal(y_b, np.where(z >= 0, z, 0.25 * z))


def test_reuse_tiles_m3_over_a_doubled_channel_count():
    x = np.zeros((1, 4, 1, 1), np.float32)
    m3 = np.array([[1.0, -1.0]], np.float32)
    one = np.ones(4, np.float32)
    y = insta_reference.insta_prelu(x, one, 0 * one, m3=m3, p=one, q=0 * one)
    g = -3 * np.tanh(np.array([1.0, -1.0, 1.0, -1.0]) / 3)
    np.testing.assert_allclose(y.ravel(), g.astype(np.float32))


def test_se_uses_full_int8_range_and_step_sizes():
    m3 = np.array([[1.0, 2.0]], np.float32)
    w1 = np.array([[-128.0, 127.0]], np.float32)  # C/r = 1
    w2 = np.array([[1.0], [-1.0]], np.float32)
    s1, s2 = np.array([0.5], np.float32), np.array([0.25, 2.0], np.float32)
    v = insta_reference.se_block(m3, w1, s1, w2, s2)
    hidden = max(0.0, (-128 * 1 + 127 * 2) * 0.5)  # 63
    np.testing.assert_array_equal(v, [[hidden * 0.25, -hidden * 2.0]])


def _graph(op: str, form: str, inputs: dict[str, np.ndarray], n_out: int) -> ModelWrapper:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(inputs["x"].shape))
    outs = ["y", "m3"][:n_out]
    out_vi = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs]
    node = helper.make_node(op, list(inputs), outs, domain=DOMAIN, form=form)
    inits = [numpy_helper.from_array(v, k) for k, v in inputs.items() if k != "x"]
    graph = helper.make_graph([node], "g", [x], out_vi, initializer=inits)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(DOMAIN, 1)]
    return ModelWrapper(helper.make_model(graph, opset_imports=opsets))


def _params(roles, se_hidden: int = 2) -> dict[str, np.ndarray]:
    shapes = {"w1": (se_hidden, C), "s1": (se_hidden,), "w2": (C, se_hidden), "m3": (1, C)}
    out = {"x": np.round(RNG.normal(size=(1, C, H, W)) * 4).astype(np.float32)}
    for r in roles[1:]:
        v = RNG.normal(size=shapes.get(r, (C,))).astype(np.float32)
        if r in ("sigma", "s1", "s2"):
            v = np.abs(v) + 0.5
        if r in ("w1", "w2"):
            v = RNG.integers(-128, 128, size=v.shape).astype(np.float32)
        out[r] = v
    return out


@pytest.mark.parametrize("form", sorted(THRESHOLD_INPUTS))
def test_threshold_node_executes_in_qonnx(form):
    inputs = _params(THRESHOLD_INPUTS[form])
    model = cleanup_model(_graph("InstaThreshold", form, inputs, 2))
    assert model.get_tensor_shape(model.graph.node[0].output[1]) == [1, C]
    model = model.transform(InferDataTypes())
    node = model.graph.node[0]
    assert model.get_tensor_datatype(node.output[0]) == DataType["BIPOLAR"]
    se_names = getCustomOp(node).se_input_names()
    assert all(model.get_tensor_datatype(n) == DataType["INT8"] for n in se_names)
    assert len(se_names) == (2 if form == "se" else 0)
    got = execute_onnx(model, {model.graph.input[0].name: inputs["x"]}, True)
    se = tuple(inputs[r] for r in ("w1", "s1", "w2", "s2")) if form == "se" else None
    y, m3 = insta_reference.insta_threshold(
        inputs["x"], inputs["mu"], inputs["sigma"], inputs["beta"], alpha=inputs.get("alpha"), se=se
    )
    np.testing.assert_array_equal(got[node.output[0]], y)
    np.testing.assert_array_equal(got[node.output[1]], m3)
    assert set(np.unique(y)) <= {-1.0, 1.0}


@pytest.mark.parametrize("form", sorted(PRELU_INPUTS))
def test_prelu_node_executes_in_qonnx(form):
    inputs = _params(PRELU_INPUTS[form])
    model = _graph("InstaPReLU", form, inputs, 1).transform(InferShapes())
    assert getCustomOp(model.graph.node[0]).verify_node() == ["ok"]
    got = execute_onnx(model, {"x": inputs["x"]})["y"]
    v = dict(inputs)
    se = tuple(v.pop(r) for r in ("w1", "s1", "w2", "s2")) if form == "se" else None
    want = insta_reference.insta_prelu(v.pop("x"), v.pop("slope"), v.pop("zeta"), se=se, **v)
    np.testing.assert_array_equal(got, want)


def test_verify_node_names_a_wrong_input_count():
    node = helper.make_node("InstaPReLU", ["x", "s", "z"], ["y"], domain=DOMAIN, form="reuse")
    (msg,) = getCustomOp(node).verify_node()
    assert "form 'reuse' needs 6 inputs" in msg
