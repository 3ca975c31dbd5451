"""RPReLU RTL vs the golden function (flows/layers/rprelu.py): every input value on every channel
(so x lands exactly on each threshold), thresholds at the type's ends (one segment only), rounding
ties above even and odd quotients on both segments, saturation on both sides; back-pressure, input
gaps, mid-frame reset and cycles per frame through the shared layer bench."""

from __future__ import annotations

import numpy as np
import pytest

from flows.datatypes import INT, UINT
from flows.graph import Node
from flows.layers import RPReLU, kind_of
from flows.sim import runner as sim
from tests.hw.stimuli import frames_with_edges, seed_of
from tests.hw.test_affine import requant_coverage, sweep_frames, tie_params

CONFIGS = [
    # ReActNet block on the INT8 residual stream: 16-bit mantissas, shift 10
    RPReLU("rprelu", channels=8, input_type=INT(8), output_type=INT(8), mul_type=INT(16),
           add_type=INT(20), shift=10, pe=4, num_vectors=2),
    # shift 1, unsigned input, NF = 1, a narrow output
    RPReLU("rprelu", channels=5, input_type=UINT(5), output_type=INT(4), mul_type=INT(6),
           add_type=INT(8), shift=1, pe=5, num_vectors=3),
]  # fmt: skip

SWEEP = [
    RPReLU("rprelu", channels=6, input_type=INT(6), output_type=UINT(5), mul_type=INT(8),
           add_type=INT(12), shift=3, pe=2),
    RPReLU("rprelu", channels=4, input_type=INT(8), output_type=INT(8), mul_type=INT(4),
           add_type=INT(4), shift=0, pe=1, num_vectors=2),
]  # fmt: skip


def _id(c: RPReLU) -> str:
    return (f"{c.input_type}_to_{c.output_type}_m{c.mul_type}_a{c.add_type}_shift{c.shift}"
            f"_c{c.channels}_pe{c.pe}_nv{c.num_vectors}")  # fmt: skip


def make_node(cfg: RPReLU, rng: np.random.Generator) -> Node:
    """Ties on both segments (tie_params for hi, the same reversed for lo), thresholds at the
    input's min (always hi) and max + 1 (always lo) on two channels, random elsewhere."""
    x, c = cfg.input_type, cfg.channels
    mul_hi, add_hi = tie_params(cfg.shift, cfg.mul_type, cfg.add_type, c, rng)
    mul_lo, add_lo = (a[::-1].copy() for a in tie_params(cfg.shift, cfg.mul_type, cfg.add_type,
                                                         c, rng))  # fmt: skip
    th = rng.integers(x.min, x.max + 1, size=c)  # on the input's range: x reaches it
    th[0], th[-1] = x.min, x.max + 1
    return Node(cfg, ["x"], ["y"], {"threshold": th, "mul_hi": mul_hi, "add_hi": add_hi,
                                    "mul_lo": mul_lo, "add_lo": add_lo})  # fmt: skip


def make_frames(cfg: RPReLU, rng: np.random.Generator) -> np.ndarray:
    x = cfg.input_type
    rand = frames_with_edges(x, cfg.num_vectors, cfg.channels, [x.max, x.min], rng)
    return np.concatenate([rand, sweep_frames(x, cfg.num_vectors, cfg.channels, rng)])


def _pre(node: Node, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = {k: np.asarray(v, np.int64) for k, v in node.params.items()}
    upper = frames >= p["threshold"]
    pre = np.where(upper, p["mul_hi"] * frames + p["add_hi"], p["mul_lo"] * frames + p["add_lo"])
    return pre, upper


def _run(cfg: RPReLU, request: pytest.FixtureRequest) -> dict:
    rng = np.random.default_rng(seed_of(request.node.nodeid))
    node, frames = make_node(cfg, rng), make_frames(cfg, rng)
    pre, upper = _pre(node, frames)
    for seg in (upper, ~upper):  # both segments reach ties and saturation
        assert all(requant_coverage(pre[seg], cfg.shift, cfg.output_type).values())
    at_th = frames == node.params["threshold"]
    assert at_th[..., 1:-1].any(axis=(0, 1)).all(), "x equals every inner channel's threshold"
    golden = kind_of(cfg).execute(cfg, node.params, [frames])[0]
    assert golden.min() == cfg.output_type.min and golden.max() == cfg.output_type.max
    r = sim.run_layer(node, frames)
    assert r["cycles_per_frame_out"][-4:] == [cfg.cycles_per_frame] * 4
    return r


@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_rprelu(cfg: RPReLU, request: pytest.FixtureRequest) -> None:
    _run(cfg, request)


@pytest.mark.slow
@pytest.mark.parametrize("cfg", SWEEP, ids=_id)
def test_rprelu_sweep(cfg: RPReLU, request: pytest.FixtureRequest) -> None:
    _run(cfg, request)


def test_bipolar_input_is_refused(tmp_path) -> None:
    from flows.codegen import rtl
    from flows.datatypes import BIPOLAR
    from flows.errors import ConfigError

    cfg = RPReLU("rprelu_bin", channels=2, input_type=BIPOLAR, output_type=INT(4),
                 mul_type=INT(4), add_type=INT(4), shift=1)  # fmt: skip
    node = make_node(cfg, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="rprelu_bin: the RPReLU RTL needs an INT or UINT input"):
        rtl.emit_layer(node, tmp_path)
