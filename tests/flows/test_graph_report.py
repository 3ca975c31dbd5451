"""The graph as Netron-viewable ONNX and the per-layer report."""

import dataclasses

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from flows.__main__ import main
from flows.datatypes import INT, DataType
from flows.graph import DataflowGraph, Stream
from flows.graph_onnx import DOMAIN, from_onnx, save_onnx, to_onnx
from flows.layers import InstaThreshold, MaxPool, SlidingWindow, Threshold, XnorMVAU
from flows.report import format_table, layer_report
from flows.transforms.streamline import streamline
from tests.flows.test_graph import residual_block

rng = np.random.default_rng(3)


@pytest.fixture(scope="module")
def digits_graph(digits_float_graph):
    return streamline(digits_float_graph)


def insta_pool_graph() -> DataflowGraph:
    """A two-output InstaThreshold feeding a SlidingWindow and a MaxPool (4x4 map, 4 channels)."""
    t = INT(8)
    g = DataflowGraph([Stream("x", t, (16, 4))], ["win", "pool"])
    insta = InstaThreshold("insta", channels=4, height=4, width=4, input_type=t, exponent=0)
    params = {
        "mu": rng.integers(-8, 8, 4),
        "A": rng.integers(-1000, 1000, 4),
        "M": rng.integers(-3, 4, 4),
        "sign": rng.choice([-1, 1], 4),
    }
    g.add(insta, ["x"], [Stream("act", None, (16, 4)), Stream("late", t, (16, 4))], **params)
    win = SlidingWindow("win", channels=4, in_h=4, in_w=4, kernel=2, stride=2)
    g.add(win, ["act"], [Stream("win", None, (4, 16))])
    pool = MaxPool("pool", channels=4, in_h=4, in_w=4, kernel=2, stride=2, input_type=t)
    g.add(pool, ["late"], [Stream("pool", t, (4, 4))])
    return g


def encoded(value):
    """How a config value reads back from an ONNX attribute (flows/graph_onnx.py docstring)."""
    if isinstance(value, DataType):
        return value.name
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, tuple):
        return [encoded(v) for v in value]
    return value


def attribute_values(node: onnx.NodeProto) -> dict:
    values = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return {
        k: [x.decode() if isinstance(x, bytes) else x for x in v] if isinstance(v, list) else v
        for k, v in ((k, v.decode() if isinstance(v, bytes) else v) for k, v in values.items())
    }


def check_export(graph: DataflowGraph) -> onnx.ModelProto:
    model = to_onnx(graph)
    onnx.checker.check_model(model, full_check=True)
    layers = graph.topological()
    assert [(n.name, n.op_type, n.domain) for n in model.graph.node] == [
        (n.name, n.kind, DOMAIN) for n in layers
    ]
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for layer, node in zip(layers, model.graph.node, strict=True):
        attrs = attribute_values(node)
        for f in dataclasses.fields(layer.config):
            value = getattr(layer.config, f.name)
            if f.name != "name" and value is not None:
                assert attrs[f.name] == encoded(value), (layer.name, f.name)
        for key, value in layer.params.items():
            if isinstance(value, DataType):  # an importer's note: kept as a text attribute
                assert attrs[f"param_{key}"] == value.name
                continue
            assert f"{layer.name}.{key}" in node.input
            np.testing.assert_array_equal(inits[f"{layer.name}.{key}"], value)
    return model


def stream_types(model: onnx.ModelProto) -> dict[str, str]:
    return {
        a.tensor_name: e.value
        for a in model.graph.quantization_annotation
        for e in a.quant_parameter_tensor_names
        if e.key == "finn_datatype"
    }


def test_streamlined_digits_graph_exports(digits_graph, digits_images):
    model = check_export(digits_graph)
    types = stream_types(model)
    assert types == {s.name: s.dtype.name for s in digits_graph.streams.values()}
    vi = {v.name: v for v in [*model.graph.input, *model.graph.value_info, *model.graph.output]}
    for s in digits_graph.streams.values():
        assert [d.dim_value for d in vi[s.name].type.tensor_type.shape.dim] == [1, *s.shape]
    back = from_onnx(model)
    x = digits_images[:50]
    np.testing.assert_array_equal(back.run(x), digits_graph.run(x))


def test_float_graph_with_transient_kinds_exports(digits_float_graph, digits_images):
    model = check_export(digits_float_graph)
    assert {"MatMul", "FloatAffine", "Sign"} <= {n.op_type for n in model.graph.node}
    back = from_onnx(model)
    x = digits_images[:20].astype(np.float64)
    np.testing.assert_allclose(back.run(x), digits_float_graph.run(x))


@pytest.mark.parametrize(
    "make", [lambda: residual_block()[0], insta_pool_graph], ids=["residual", "insta-pool"]
)
def test_forks_joins_and_multi_output_nodes_export(make, tmp_path):
    graph = make()
    model = check_export(graph)
    path = save_onnx(graph, tmp_path / "g.onnx")
    assert onnx.load(str(path)) == model
    back = from_onnx(model)
    x = rng.integers(-128, 128, size=(3, *graph.streams[graph.inputs[0]].shape))
    got, want = back.execute({"x": x}), graph.execute({"x": x})
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])


def test_parameter_bits_from_shapes(digits_graph):
    rows = {r["name"]: r for r in layer_report(digits_graph, "ecp5")}
    kinds = {n.name: n.config for n in digits_graph.nodes}
    xnor = [c for c in kinds.values() if isinstance(c, XnorMVAU)]
    thr = [c for c in kinds.values() if isinstance(c, Threshold)]
    assert xnor and thr
    for c in xnor:  # one bit per binary weight
        assert rows[c.name]["param_bits"] == c.mh * c.mw
    for c in thr:  # thresholds span [min, max + 1] of the input: one bit wider than it
        t = digits_graph.node(c.name).params["thresholds"]
        assert t.shape == (c.channels, c.num_thresholds)
        bits = c.input_type.bits + 1
        assert rows[c.name]["param_bits"] == c.channels * c.num_thresholds * bits


def test_insta_mu_bits_on_its_refined_grid():
    """mu is stored on the input grid refined by mu_frac_bits fractional bits: INT4 x 2^3 spans
    -64..56, seven bits; A, M and sign are INT(offset_bits), INT(mantissa_bits) and one bit."""
    t, c = INT(4), 4
    cfg = InstaThreshold("insta", channels=c, height=2, width=2, input_type=t, exponent=0,
                         mantissa_bits=10, offset_bits=20, mu_frac_bits=3)  # fmt: skip
    g = DataflowGraph([Stream("x", t, (4, c))], ["y"])
    rng = np.random.default_rng(0)
    g.add(cfg, ["x"], [Stream("y", None, (4, c))], mu=rng.integers(-64, 57, c),
          A=rng.integers(-1000, 1000, c), M=rng.integers(-3, 4, c), sign=rng.choice([-1, 1], c))  # fmt: skip
    (row,) = layer_report(g, "ecp5")
    assert row["param_bits"] == c * (7 + 20 + 10 + 1)


def test_report_rows_and_table(digits_graph):
    rows = layer_report(digits_graph, "ecp5")
    assert [r["kind"] for r in rows] == [n.kind for n in digits_graph.topological()]
    first = rows[0]
    assert first["in_shape"] == [[1, 64]] and first["in_type"] == ["UINT8"]
    assert all(r["LUT"] is not None and r["cycles"] is not None for r in rows)
    table = format_table(rows)
    lines = table.splitlines()
    assert len(lines) == 2 + len(rows) + 1 and lines[-1].startswith("| total")
    assert len({len(line) for line in lines}) == 1  # aligned
    assert f" {sum(r['LUT'] for r in rows)} |" in lines[-1]
    assert f"max {max(r['cycles'] for r in rows)}" in lines[-1]


def test_report_of_residual_kinds_and_untyped_streams():
    from flows.estimate import estimate_layer

    graph, _ = residual_block()
    rows = {r["name"]: r for r in layer_report(graph, "xc7")}
    assert rows["dup"]["LUT"] == estimate_layer(graph.node("dup").config, "xc7").lut
    assert rows["dup"]["out_shape"] == [[1, 16], [1, 16]]
    assert rows["add"]["in_type"] == ["float", "INT8"] and rows["add"]["param_bits"] == 0
    assert rows["conv"]["LUT"] is not None and rows["conv"]["param_bits"] == 16 * 16
    # Affine: mul INT4 and add INT8 per channel
    assert rows["bn"]["param_bits"] == 16 * (4 + 8)
    assert "| total" in format_table(list(rows.values()))


def test_build_writes_report_and_graphs(tmp_path, digits_onnx, capsys):
    args = ["build", "--file", str(digits_onnx), "--out", str(tmp_path)]
    assert main([*args, "--until", "estimate"]) == 0
    out = tmp_path / digits_onnx.stem / "ulx3s"
    table = (out / "report.md").read_text()
    assert "| l0_intmvau" in table and "| total" in table
    assert "| l0_intmvau" in capsys.readouterr().out
    graphs = sorted(p.name for p in (out / "graphs").iterdir())
    assert graphs == ["02_streamline.onnx", "02_streamline_float.onnx", "04_fold.onnx"]
    for name in graphs:
        onnx.checker.check_model(onnx.load(str(out / "graphs" / name)))
    # a shorter build into the same directory leaves no graph of the longer one behind
    assert main([*args, "--until", "streamline"]) == 0
    assert sorted(p.name for p in (out / "graphs").iterdir()) == graphs[:2]
