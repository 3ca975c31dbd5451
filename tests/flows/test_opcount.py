"""The papers' OPs / parameter accounting (flows.opcount; docs/ops.md).

Part 1: one small hand-built graph per rule, expected values computed by hand in the test.
Part 2 (tests/flows/test_ops_resnet18.py): full-size ResNet-18 variants pinned to hand derivations.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from flows.__main__ import main
from flows.errors import UnsupportedOpError, UnsupportedPatternError
from flows.opcount import count_ops
from tests.flows.opcount_graphs import OURS, Net

H = W = 6  # every small test map is 6 x 6


def rows(report, kind: str) -> list:
    return [r for r in report.layers if r.kind == kind]


def binary_block(c_in: int, c_out: int, *, after) -> tuple[Net, str]:
    """x -> sign -> pad(-1) -> binary 3x3 conv (per-channel scale) -> `after(net, y)`."""
    net = Net((1, c_in, H, W))
    y = net.conv(net.pad(net.sign("x")), net.binary_weight((c_out, c_in, 3, 3)))
    return net, after(net, y)


def test_binary_conv_then_bn_before_sign():
    # conv-BN order: the weight scale merges into BN; BN directly before sign: C params, no FLOPs.
    net, out = binary_block(8, 16, after=lambda n, y: n.sign(n.bn(y, 16)))
    r = count_ops(net.model(out))
    assert r.bops == H * W * 16 * 8 * 9  # 41,472 binary MACs
    assert r.flops == 0
    assert rows(r, "bn before sign")[0].params == 16
    assert rows(r, "weight scale")[0].flops == 0
    assert r.params_bits == 16 * 8 * 9 * 1 + 16 * 32  # 1-bit weights + C BN params
    assert r.ops == r.bops / 64


def test_bn_not_before_sign_costs_2c_params_and_hwc_flops():
    net, out = binary_block(8, 8, after=lambda n, y: n.op("Add", [n.bn(y, 8), "x"]))
    r = count_ops(net.model(out))
    (bn,) = rows(r, "batchnorm")
    assert (bn.flops, bn.params, bn.params_bits) == (H * W * 8, 2 * 8, 2 * 8 * 32)
    assert rows(r, "residual add")[0].flops == 0  # residual adds are free
    assert r.flops == H * W * 8


def test_bn_feeding_sign_and_a_shortcut_is_a_full_bn():
    def after(n, y):
        b = n.bn(y, 8)
        return n.op("Add", [n.sign(b), b])

    net, out = binary_block(8, 8, after=after)
    assert rows(count_ops(net.model(out)), "batchnorm")[0].flops == H * W * 8


def test_weight_scale_without_bn_costs_hout_wout_cout():
    # No BN after the conv: the per-channel scale is Hout*Wout*Cout multiplications + Cout params.
    net, out = binary_block(8, 8, after=lambda n, y: n.op("Add", [y, "x"]))
    r = count_ops(net.model(out))
    (scale,) = rows(r, "weight scale")
    assert (scale.flops, scale.params, scale.params_bits) == (H * W * 8, 8, 8 * 32)


def test_stride_two_scale_uses_output_size():
    net = Net((1, 8, 6, 6))
    y = net.conv(net.pad(net.sign("x")), net.binary_weight((8, 8, 3, 3)), stride=2)
    r = count_ops(net.model(net.op("Relu", [y])))
    assert r.bops == 3 * 3 * 8 * 8 * 9
    assert rows(r, "weight scale")[0].flops == 3 * 3 * 8


def test_unit_scale_is_no_scaling_factor():
    net = Net((1, 8, H, W))
    y = net.conv(net.pad(net.sign("x")), net.binary_weight((8, 8, 3, 3), scale=None))
    r = count_ops(net.model(net.op("Add", [y, "x"])))
    assert rows(r, "weight scale") == []
    assert r.flops == 0


def test_binary_weights_on_pixels_are_flops():
    # Reading: a MAC is binary only if both operands are; binary weights x UINT8 pixels are FLOPs
    # (the weights still take 1 bit each).
    net = Net((1, 3, H, W))
    y = net.conv(net.pixels(), net.binary_weight((4, 3, 3, 3)), pad=1)
    r = count_ops(net.model(net.sign(net.bn(y, 4))))
    (conv,) = rows(r, "real conv")
    assert (conv.flops, conv.bops, conv.params_bits) == (H * W * 4 * 27, 0, 4 * 27)


def test_zero_padding_makes_the_input_non_binary():
    net = Net((1, 8, H, W))
    y = net.conv(net.pad(net.sign("x"), value=0.0), net.binary_weight((8, 8, 3, 3)))
    r = count_ops(net.model(net.sign(net.bn(y, 8))))
    assert r.bops == 0 and r.flops == H * W * 8 * 8 * 9


def test_int8_stem_and_classifier_are_real_valued():
    # Reading: int8 weights (first conv, downsample 1x1, last FC) count as real-valued, as the
    # papers count the first conv and last FC: 32-bit parameters, MACs as FLOPs. Their per-channel
    # quantiser scale folds into the real weights (no scaling-factor cost).
    net = Net((1, 3, 8, 8))
    y = net.conv(net.pixels(), net.int_weight((4, 3, 3, 3)), pad=1)  # 8x8x4 out
    y = net.op("GlobalAveragePool", [net.op("Relu", [net.bn(y, 4)])])
    y = net.op("Flatten", [y])
    out = net.op("Gemm", [y, net.int_weight((10, 4)), net.const([0.0] * 10)], transB=1)
    r = count_ops(net.model(out))
    conv_macs, bn_mults, fc_macs = 8 * 8 * 4 * 27, 8 * 8 * 4, 4 * 10
    assert r.flops == conv_macs + bn_mults + fc_macs
    assert r.bops == 0
    assert r.params == 108 + 2 * 4 + 40 + 10  # conv, BN, FC weights, FC bias
    assert r.params_bits == 32 * r.params
    assert rows(r, "weight scale") == []


def test_shifts_prelu_and_residual_add_are_free_but_have_params():
    # RPReLU = shift -> PReLU -> shift: 3C parameters, no FLOPs (PReLU cost ignored, supp. C).
    net = Net((1, 8, H, W))
    slope = net.const([[[0.25]]] * 8)
    y = net.shift(net.op("PRelu", [net.shift("x", 8), slope]), 8)
    r = count_ops(net.model(net.op("Add", [y, "x"])))
    assert (r.flops, r.bops, r.params, r.params_bits) == (0, 0, 3 * 8, 3 * 8 * 32)


def test_per_channel_multiply_costs_one_flop_per_element():
    net = Net((1, 8, H, W))
    r = count_ops(net.model(net.op("Mul", ["x", net.const([[[1.5]]] * 8)])))
    assert (r.flops, r.params) == (H * W * 8, 8)


def test_unsupported_op_names_op_and_node():
    net = Net((1, 8, H, W))
    out = net.op("Softmax", [net.sign("x")], name="my_softmax")
    with pytest.raises(UnsupportedOpError, match=r"op Softmax \(node 'my_softmax'\) has no OPs"):
        count_ops(net.model(out))


def test_dynamic_shape_is_rejected():
    net = Net((1, 8, H, W))
    m = net.model(net.op("Relu", [net.bn("x", 8)]))
    del m.graph.value_info[:]
    for v in (m.graph.input[0], m.graph.output[0]):
        v.type.tensor_type.shape.dim[0].dim_param = "N"
    with pytest.raises(UnsupportedPatternError, match="dynamic or unknown shape"):
        count_ops(m)


def test_json_has_the_totals(tmp_path):
    net, out = binary_block(8, 8, after=lambda n, y: n.op("Add", [y, "x"]))
    r = count_ops(net.model(out))
    data = r.to_json()
    for key in ("flops", "bops", "ops", "params", "params_bits"):
        assert data[key] == getattr(r, key)
    assert data["ops"] == data["flops"] + data["bops"] / 64
    assert len(data["layers"]) == len(r.layers)
    json.dumps(data)


def test_cli_writes_ops_json(tmp_path, capsys):
    net, out = binary_block(8, 16, after=lambda n, y: n.sign(n.bn(y, 16)))
    path = tmp_path / "tiny.onnx"
    net.model(out).save(str(path))
    assert main(["ops", "--file", str(path), "--out", str(tmp_path / "build")]) == 0
    data = json.loads((tmp_path / "build" / "tiny" / "ops.json").read_text())
    assert (data["bops"], data["flops"]) == (H * W * 16 * 8 * 9, 0)
    assert "OPs = FLOPs + BOPs/64" in capsys.readouterr().out


def test_cli_model_is_exported_untrained_and_counted(tmp_path):
    # digits_bnn (hidden 128, 3 layers), no checkpoint under --out: exported untrained, seed 0.
    # Layer 1: binary weights on UINT8 pixels -> 64*128 = 8,192 FLOPs; layers 2-3: binary x
    # binary 2 * 128*128 = 32,768 BOPs; classifier 128*10 = 1,280 BOPs whose per-channel scale is
    # not followed by BN: 10 FLOPs + 10 params; 3 BNs before sign: 3 * 128 params; bias 10.
    assert main(["ops", "--model", "digits_bnn", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "digits_bnn" / "ops.json").read_text())
    assert (data["flops"], data["bops"]) == (8_192 + 10, 32_768 + 1_280)
    bits = 8_192 + 32_768 + 1_280 + 32 * (3 * 128 + 10 + 10)
    assert data["params_bits"] == bits
    assert data["weights"].startswith("untrained")


def test_cli_unknown_model_is_one_line(tmp_path, capsys):
    assert main(["ops", "--model", "nope_net", "--out", str(tmp_path)]) == 2
    assert "unknown model 'nope_net'" in capsys.readouterr().err


# --- INSTA modules (supplementary C). C = 8 channels, H x W = 6 x 6, SE reduction r = 4. ---

C, HIDDEN = 8, 2  # SE: C -> C/r -> C with r = 4


def per_channel(net: Net) -> str:
    return net.const(np.ones(C))


def se_inputs(net: Net) -> list[str]:
    """w1 (C/r, C), s1 (C/r), w2 (C, C/r), s2 (C): integer-valued 8-bit weights + step sizes."""
    return [
        net.const(np.ones((HIDDEN, C))),
        net.const(np.ones(HIDDEN)),
        net.const(np.ones((C, HIDDEN))),
        net.const(np.ones(C)),
    ]


def insta_th(net: Net, x: str, *, se: bool = False) -> tuple[str, str]:
    """(bipolar activation, m3) of an InstaThreshold in the export's input order."""
    factor = se_inputs(net) if se else [per_channel(net)]  # SE weights, or alpha
    ins = [x, per_channel(net), per_channel(net), per_channel(net), *factor]  # x mu sigma beta
    y, m3 = net.op("InstaThreshold", ins, outputs=2, domain=OURS, form="se" if se else "alpha")
    return y, m3


def insta_prelu(net: Net, x: str, *, se: bool = False, m3: str | None = None) -> str:
    ins = [x, per_channel(net), per_channel(net)]  # x slope zeta
    if m3 is not None:
        form, ins = "reuse", [*ins, m3, per_channel(net), per_channel(net)]  # m3 p q
    elif se:
        form, ins = "se", [*ins, per_channel(net), per_channel(net), *se_inputs(net)]
    else:
        form = "alpha"
        ins = [*ins, per_channel(net), per_channel(net), per_channel(net)]  # mu sigma a
    return net.op("InstaPReLU", ins, domain=OURS, form=form)


def insta_block(*, th_se: bool = False, prelu: str = "alpha"):
    """x -> INSTA-Th -> pad(-1) -> binary 3x3 conv -> BN -> + x -> INSTA-PReLU (C -> C)."""
    net = Net((1, C, H, W))
    y, m3 = insta_th(net, "x", se=th_se)
    z = net.conv(net.pad(y), net.binary_weight((C, C, 3, 3)))
    z = net.op("Add", [net.bn(z, C), "x"])
    z = insta_prelu(net, z, se=prelu == "se", m3=m3 if prelu == "reuse" else None)
    return count_ops(net.model(z))


HWC = H * W * C  # 288
BLOCK_BOPS = H * W * C * C * 9  # the binary conv: 20,736
BLOCK_BN = (HWC, 2 * C)  # BN before the residual add: HWC FLOPs, 2C params


def only(report, kind: str):
    (r,) = rows(report, kind)
    return r


def test_insta_th_and_insta_prelu():
    r = insta_block()
    th, pr = only(r, "insta-th"), only(r, "insta-prelu")
    assert (th.flops, th.params, th.params_bits) == (3 * HWC + 2 * C, 4 * C, 4 * C * 32)
    assert (pr.flops, pr.params, pr.params_bits) == (3 * HWC + 3 * C, 5 * C, 5 * C * 32)
    assert r.bops == BLOCK_BOPS  # INSTA-Th's output is binary: the conv stays XNOR
    assert r.flops == th.flops + pr.flops + BLOCK_BN[0]


def test_insta_th_plus_se():
    # SE replaces alpha: 3C real + 2C^2/r 8-bit + (C + C/r) step sizes; FLOPs add the SE MACs
    # and the step-size multiplications to 3HWC + 2C.
    th = only(insta_block(th_se=True), "insta-th+")
    se_weights, steps = 2 * C * HIDDEN, C + HIDDEN  # 32, 10
    assert th.flops == 3 * HWC + 2 * C + se_weights + steps
    assert th.params == 3 * C + se_weights + steps
    assert th.params_bits == 3 * C * 32 + se_weights * 8 + steps * 32


def test_insta_prelu_plus_se():
    pr = only(insta_block(prelu="se"), "insta-prelu+")
    se_weights, steps = 2 * C * HIDDEN, C + HIDDEN
    assert pr.flops == 3 * HWC + 3 * C + se_weights + steps
    assert pr.params_bits == 4 * C * 32 + se_weights * 8 + steps * 32


def test_insta_prelu_reuse_form():
    # Reading: the cube (2HWC) and the averaging go, the normalisation (HWC) stays; p, q are
    # added to the five per-channel parameters: 7C parameters, HWC + 2C FLOPs.
    pr = only(insta_block(prelu="reuse"), "insta-prelu reuse")
    assert (pr.flops, pr.params) == (HWC + 2 * C, 7 * C)


def test_reuse_form_needs_the_threshold_statistics():
    net = Net((1, C, H, W))
    fake_m3 = net.op("GlobalAveragePool", ["x"])
    fake_m3 = net.op("Flatten", [fake_m3])
    with pytest.raises(UnsupportedPatternError, match="second output of an InstaThreshold"):
        count_ops(net.model(insta_prelu(net, "x", m3=fake_m3)))
