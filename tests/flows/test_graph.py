"""The dataflow graph is a DAG: a toy residual block (duplicate -> binary path -> add)."""

import numpy as np
import pytest

from flows.datatypes import INT
from flows.errors import ConfigError, UnsupportedPatternError
from flows.graph import DataflowGraph, Stream
from flows.layers import AddStreams, Affine, DuplicateStreams, Threshold, XnorMVAU

C = 16
rng = np.random.default_rng(7)


def residual_block():
    g = DataflowGraph([Stream("x", INT(8), (1, C))], ["y"])
    dup = DuplicateStreams(name="dup", channels=C, input_type=INT(8))
    g.add(dup, ["x"], [Stream("a", INT(8), (1, C)), Stream("short", INT(8), (1, C))])
    thr = Threshold(name="sign", channels=C, num_thresholds=1, input_type=INT(8))
    t = rng.integers(-20, 20, size=(C, 1))
    g.add(thr, ["a"], [Stream("b", None, (1, C))], thresholds=t)
    mvau = XnorMVAU(name="conv", mw=C, mh=C)
    w = rng.choice([-1, 1], size=(C, C))
    g.add(mvau, ["b"], [Stream("p", None, (1, C))], weights=w)
    aff = Affine(
        name="bn", channels=C, input_type=mvau.output_type, mul_type=INT(4), add_type=INT(8)
    )
    mul, add = rng.integers(-8, 8, C), rng.integers(-100, 100, C)
    g.add(aff, ["p"], [Stream("r", None, (1, C))], mul=mul, add=add)
    add_cfg = AddStreams(name="add", channels=C, input_types=(aff.output_type, INT(8)))
    g.add(add_cfg, ["r", "short"], [Stream("y", None, (1, C))])
    return g, (t, w, mul, add)


def test_residual_block_matches_numpy_reference():
    g, (t, w, mul, add) = residual_block()
    x = rng.integers(-128, 128, size=(10, 1, C))
    got = g.run(x)
    sign = np.where(x >= t[:, 0], 1, -1)
    pop = ((sign @ w.T) + C) // 2
    assert np.array_equal(got, pop * mul + add + x)


def test_fork_has_two_consumers_and_order_is_topological():
    g, _ = residual_block()
    assert [n.name for n in g.consumers("x")] == ["dup"]
    assert g.single_consumer("short") is not None
    order = [n.name for n in g.topological()]
    assert order.index("dup") < order.index("add") and order.index("bn") < order.index("add")


def test_shuffled_insertion_still_executes():
    g, _ = residual_block()
    g.nodes.reverse()
    x = rng.integers(-128, 128, size=(2, 1, C))
    ref, _ = residual_block()
    assert g.run(x).shape == (2, 1, C)


def test_missing_stream_is_an_error():
    g, _ = residual_block()
    with pytest.raises(ConfigError, match="input stream 'nope' does not exist"):
        g.add(DuplicateStreams(name="d2", channels=C, input_type=INT(8)), ["nope"], [])


def test_cycle_is_reported():
    g, _ = residual_block()
    g.node("dup").inputs = ["y"]
    with pytest.raises(UnsupportedPatternError, match="cycle or a missing stream"):
        g.topological()
