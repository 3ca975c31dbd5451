"""INSTA modules in PyTorch: the definition of docs/models.md section 3, and agreement to the last bit
with the numpy reference that qonnx executes (flows.custom_ops.insta_reference)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from flows.custom_ops import insta_reference as ref
from sw.export import export, roundtrip_error
from sw.insta_modules import InstaPReLU, InstaThreshold

C = 16


def _randomised(module: nn.Module, seed: int = 0) -> nn.Module:
    """Every parameter drawn at random (zero-initialised factors would hide the m3 path)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if not (name.endswith("step") or name == "ste_beta"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        if module.se is not None:
            module.se.fc1.init_step()
            module.se.fc2.init_step()
        if hasattr(module, "stats"):
            module.stats.running_mean.copy_(torch.randn(C, generator=gen))
            module.stats.running_var.copy_(torch.rand(C, generator=gen) + 0.5)
    return module.eval()


def _grid_input(seed: int, shape=(2, C, 6, 6)) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.round(torch.randn(shape, generator=gen) * 24) / 16  # an 8-bit-like grid


def _se_args(module) -> tuple[np.ndarray, ...]:
    return tuple(t.detach().numpy() for t in module.se.inputs())


def _stats(module) -> tuple[np.ndarray, np.ndarray]:
    mu, sigma = module.stats(torch.zeros(1, C, 1, 1))
    return mu.numpy(), sigma.numpy()


@pytest.mark.parametrize("se", [False, True])
def test_threshold_matches_numpy_reference_bit_for_bit(se):
    th = _randomised(InstaThreshold(C, se=se, reduction=4))
    for seed in range(5):
        x = _grid_input(seed)
        with torch.no_grad():
            y, m3 = th(x)
        mu, sigma = _stats(th)
        kw = {"se": _se_args(th)} if se else {"alpha": th.alpha.detach().numpy()}
        y_ref, m3_ref = ref.insta_threshold(x.numpy(), mu, sigma, th.beta.detach().numpy(), **kw)
        np.testing.assert_array_equal(y.numpy(), y_ref)
        np.testing.assert_array_equal(m3.numpy(), m3_ref)


@pytest.mark.parametrize("form", ["alpha", "se", "reuse"])
def test_prelu_matches_numpy_reference_bit_for_bit(form):
    pr = _randomised(InstaPReLU(C, se=form == "se", reuse=form == "reuse", reduction=4))
    x = _grid_input(7)
    m3 = torch.randn(2, C, generator=torch.Generator().manual_seed(3))
    y = pr(x, m3 if form == "reuse" else None)
    args = (x.numpy(), pr.slope.detach().numpy(), pr.zeta.detach().numpy())
    if form == "reuse":
        kw = {"m3": m3.numpy(), "p": pr.p.detach().numpy(), "q": pr.q.detach().numpy()}
    else:
        mu, sigma = _stats(pr)
        kw = {"mu": mu, "sigma": sigma}
        kw.update({"se": _se_args(pr)} if form == "se" else {"a": pr.a.detach().numpy()})
    np.testing.assert_array_equal(y.detach().numpy(), ref.insta_prelu(*args, **kw))


def test_zeroing_m3_changes_the_output_on_a_constructed_input():
    # Channel 0 right-skewed (m3 > 0), channel 1 left-skewed (m3 < 0): with alpha = 1 the
    # threshold moves up on channel 0 and down on channel 1; alpha = 0 removes m3's influence.
    torch.manual_seed(0)
    e = torch.distributions.Exponential(torch.tensor(1.0)).sample((1, 1, 12, 12)) - 1.0
    x = torch.cat([e, -e], dim=1)
    th = InstaThreshold(2).eval()  # mu = 0, sigma = sqrt(1 + eps), beta = 0
    with torch.no_grad():
        th.alpha.fill_(1.0)
    y, m3 = th(x)
    assert m3[0, 0] > 0.5 and m3[0, 1] < -0.5
    with torch.no_grad():
        th.alpha.zero_()
    y0, _ = th(x)
    changed = (y != y0).float().mean(dim=(0, 2, 3))
    assert changed[0] > 0.2 and changed[1] > 0.2  # x_hat in [0, m3) and [m3, 0) flip
    assert torch.all(y[:, 0] <= y0[:, 0]) and torch.all(y[:, 1] >= y0[:, 1])


def test_threshold_ties_give_plus_one():
    th = InstaThreshold(1).eval()  # alpha = beta = 0: t = 0; running stats 0 / 1
    with torch.no_grad():
        th.stats.running_var.fill_(1.0 - th.stats.eps)  # sigma exactly 1
    x = torch.tensor([-1.0, 0.0, 0.0, 1.0]).reshape(1, 1, 2, 2)
    y, _ = th(x)
    assert y.flatten().tolist() == [-1.0, 1.0, 1.0, 1.0]


def test_statistics_are_tracked_like_batchnorm():
    th, bn = InstaThreshold(C), nn.BatchNorm2d(C, affine=False)
    x = _grid_input(1, (4, C, 5, 5)) * 3 + 2
    th.train()(x)
    bn.train()(x)
    torch.testing.assert_close(th.stats.running_mean, bn.running_mean)
    torch.testing.assert_close(th.stats.running_var, bn.running_var)
    # Training normalises with the batch: x_hat has zero mean, so m3 measures each instance.
    _, m3 = th(x)
    assert abs(float(m3.mean())) < 1.0 and float(m3.std()) > 0


def test_gradients_reach_every_insta_parameter():
    th = InstaThreshold(C, se=True, reduction=4, ste="sign_swish", trainable_beta=True)
    pr = InstaPReLU(C, reuse=True)
    with torch.no_grad():
        pr.p.fill_(0.5)
    x = _grid_input(2).requires_grad_(True)
    y, m3 = th.train()(x)
    pr.train()(y + x, m3).pow(2).sum().backward()
    for name, p in [*th.named_parameters(), *pr.named_parameters()]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_reuse_form_without_m3_is_refused():
    with pytest.raises(ValueError, match="reuse form of INSTA-PReLU needs"):
        InstaPReLU(C, reuse=True)(torch.zeros(1, C, 2, 2))


class _Pair(nn.Module):
    """INSTA-Th -> (+ x) -> INSTA-PReLU, optionally reusing m3."""

    input_shape = (1, C, 6, 6)

    def __init__(self, se: bool, reuse: bool) -> None:
        super().__init__()
        self.th = _randomised(InstaThreshold(C, se=se, reduction=4), 1)
        self.pr = _randomised(InstaPReLU(C, se=se, reuse=reuse, reduction=4), 2)

    def forward(self, x):
        y, m3 = self.th(x)
        return self.pr(x + y, m3)


@pytest.mark.parametrize(("se", "reuse"), [(False, False), (True, False), (False, True)])
def test_custom_ops_round_trip_through_qonnx_exactly(se, reuse, tmp_path):
    pair = _Pair(se, reuse).eval()
    path = export(pair, tmp_path / "pair.onnx")
    images = np.stack([_grid_input(s, (1, C, 6, 6))[0].numpy() for s in range(3)])
    assert roundtrip_error(pair, path, images) == 0.0
