"""Binary activations: forward sign with sign(0) = +1, selectable backward, BipolarQuant export."""

from __future__ import annotations

import onnx
import pytest
import torch
from brevitas.nn import QuantIdentity

from flows.errors import ConfigError
from sw.export import export
from sw.quant import BinaryAct, BinaryActivation
from sw.ste import STE_KINDS, sign_ste

X = torch.tensor([-2.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0])


def signswish(x: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """BNN+ eq. 2: SS_beta(x) = 2 sigma(beta x) [1 + beta x (1 - sigma(beta x))] - 1."""
    s = torch.sigmoid(beta * x)
    return 2 * s * (1 + beta * x * (1 - s)) - 1


@pytest.mark.parametrize("kind", STE_KINDS)
def test_forward_is_sign_with_zero_positive(kind):
    act = BinaryActivation(ste=kind)
    x = X.clone().requires_grad_(True)
    expected = [-1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0]  # -0.0 and 0.0 both give +1
    assert act(x).tolist() == expected
    assert act.eval()(X).tolist() == expected
    assert sign_ste(x, kind, torch.tensor(5.0)).tolist() == expected


@pytest.mark.parametrize(
    ("kind", "grad"),
    [
        ("clipped", [0, 1, 1, 1, 1, 1, 1, 0]),  # 1 for |x| <= 1
        ("approx_sign", [0, 0, 1, 2, 2, 1, 0, 0]),  # 2 - 2|x| for |x| < 1
    ],
)
def test_piecewise_backward(kind, grad):
    x = X.clone().requires_grad_(True)
    BinaryActivation(ste=kind)(x).sum().backward()
    assert x.grad.tolist() == grad


def test_signswish_backward_is_the_derivative_of_eq2_for_x_and_beta():
    x = torch.linspace(-3, 3, 61, requires_grad=True)
    act = BinaryActivation(ste="sign_swish", ste_beta=2.0, trainable_beta=True)
    weights = torch.rand(61, generator=torch.Generator().manual_seed(0))
    (act(x) * weights).sum().backward()
    x_ref = x.detach().clone().requires_grad_(True)
    beta_ref = torch.tensor(2.0, requires_grad=True)
    (signswish(x_ref, beta_ref) * weights).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(act.ste_beta.grad, beta_ref.grad, rtol=1e-5, atol=1e-6)
    # eq. 3 at x = 0: the derivative is beta.
    assert x.grad[30] == pytest.approx(2.0 * float(weights[30]))


def test_fixed_beta_gets_no_gradient():
    act = BinaryActivation(ste="sign_swish", ste_beta=5.0)
    act(torch.randn(8, requires_grad=True)).sum().backward()
    assert act.ste_beta.grad is None


def test_unknown_ste_is_refused():
    with pytest.raises(ConfigError, match="unknown STE 'tanh'; choose one of clipped"):
        BinaryActivation(ste="tanh")
    with pytest.raises(ConfigError, match="sign_swish STE needs a beta"):
        sign_ste(X, "sign_swish")


class _Net(torch.nn.Module):
    input_shape = (1, 8)

    def __init__(self, act: torch.nn.Module) -> None:
        super().__init__()
        self.act = act

    def forward(self, x):
        return self.act(x)


@pytest.mark.parametrize("act", [*STE_KINDS, "brevitas"])
def test_every_backward_choice_exports_as_one_bipolarquant(act, tmp_path):
    if act == "brevitas":  # the existing clipped BinaryAct quantiser (digits_bnn)
        net = _Net(QuantIdentity(act_quant=BinaryAct, return_quant_tensor=False))
    else:
        net = _Net(BinaryActivation(ste=act))
    graph = onnx.load(export(net, tmp_path / "act.onnx")).graph
    assert [n.op_type for n in graph.node] == ["BipolarQuant"]
    scale = {i.name: onnx.numpy_helper.to_array(i) for i in graph.initializer}[
        graph.node[0].input[1]
    ]
    assert scale.size == 1 and scale.item() == 1.0
