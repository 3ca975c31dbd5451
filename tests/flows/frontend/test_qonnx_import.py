import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx

from flows.errors import MalformedModelError, UnsupportedOpError, UnsupportedPatternError
from flows.frontend.qonnx_import import import_model, load


def test_import_matches_qonnx_execution(digits_onnx, digits_float_graph, digits_images):
    model = load(digits_onnx)
    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    for x in digits_images[:8]:
        ref = execute_onnx(model, {iname: x.astype(np.float32)})[oname]
        got = digits_float_graph.run(x[None])[0]
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_malformed_file(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    with pytest.raises(MalformedModelError, match="not a valid ONNX model"):
        load(bad)
    with pytest.raises(MalformedModelError, match="no such ONNX file"):
        load(tmp_path / "missing.onnx")


def _with_extra_node(src, tmp_path, op: str, dynamic: bool = False):
    m = onnx.load(str(src))
    g = m.graph
    out = g.output[0]
    g.node.append(helper.make_node(op, [out.name], ["extra_out"], name="my_" + op.lower()))
    del g.output[:]
    g.output.append(helper.make_tensor_value_info("extra_out", TensorProto.FLOAT, [1, 10]))
    if dynamic:
        g.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    path = tmp_path / f"{op}.onnx"
    onnx.save(m, str(path))
    return path


def test_unsupported_op_is_named(digits_onnx, tmp_path):
    path = _with_extra_node(digits_onnx, tmp_path, "Sigmoid")
    with pytest.raises(UnsupportedOpError, match=r"op Sigmoid \(node 'Sigmoid_0'\)|op Sigmoid"):
        import_model(load(path))


def test_dynamic_shape_is_rejected(digits_onnx, tmp_path):
    m = ModelWrapper(str(digits_onnx))
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    path = tmp_path / "dyn.onnx"
    m.save(str(path))
    with pytest.raises(UnsupportedPatternError, match="dynamic or unknown shape"):
        import_model(load(path))
