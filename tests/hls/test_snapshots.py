"""Generated C++ of one small configuration per kernel vs the stored snapshots.

A change to the HLS templates or emitters shows up here as a diff in review. After an intended
change, regenerate the snapshots (`make snapshots`, tests/snapshots.py) and commit them with the
change. The parameters are closed-form patterns, not random numbers, so the snapshots do not
depend on numpy's generators. Kernels: XnorMVAU, IntMVAU, Threshold, and six INSTA forms
(INSTA-Th with its statistic port and with mu on a finer grid, INSTA-PReLU own and reuse, and
the INSTA+ forms with their SE).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flows.codegen.hls import render_hls
from flows.datatypes import INT, UINT
from flows.graph import Node
from flows.layers import InstaPReLU, InstaThreshold, IntMVAU, Threshold, XnorMVAU
from flows.layers.insta_prelu.config import gamma_table
from flows.layers.insta_se import SEConfig
from flows.transforms.insta_to_integer import tanh_table
from tests.snapshots import SnapshotSet, check


def _pattern(shape: tuple[int, int], period: int) -> np.ndarray:
    rows, cols = np.indices(shape)
    return (3 * rows + 5 * cols) % period


def snapshot_nodes() -> list[Node]:
    xnor = XnorMVAU(name="snap_xnor", mw=8, mh=4, simd=4, pe=2, num_vectors=2)
    intm = IntMVAU(name="snap_int", mw=4, mh=2, simd=2, pe=1, num_vectors=1,
                   input_type=INT(4), weight_type=INT(4))  # fmt: skip
    thr = Threshold(name="snap_threshold", channels=4, num_thresholds=3, input_type=UINT(4),
                    bipolar_output=False, pe=2)  # fmt: skip
    return [
        Node(xnor, ["x"], ["y"], {"weights": 2 * (_pattern((4, 8), 2)) - 1}),
        Node(intm, ["x"], ["y"], {"weights": _pattern((2, 4), 16) - 8}),
        Node(thr, ["x"], ["y"], {"thresholds": np.sort(_pattern((4, 3), 17), axis=1)}),
    ]


def _sequence(n: int, period: int, offset: int = 0) -> np.ndarray:
    return (5 * np.arange(n) + offset) % period


def insta_nodes() -> list[Node]:
    """Closed-form parameters (no random generator), so the snapshots are stable."""
    th = InstaThreshold(name="snap_insta_th", channels=4, height=3, width=3, input_type=UINT(4),
                        exponent=8, pe=2, statistic_output=True)  # fmt: skip
    th_params = {"mu": _sequence(4, 16), "A": 1000 * _sequence(4, 7, 1), "M": _sequence(4, 9) - 4,
                 "sign": np.array([1, -1, 1, -1])}  # fmt: skip
    th_k = InstaThreshold(name="snap_insta_th_k", channels=4, height=3, width=3,
                          input_type=UINT(4), exponent=14, pe=2, mu_frac_bits=2)  # fmt: skip
    common = dict(channels=4, height=3, width=3, input_type=INT(4), output_type=INT(4),
                  v_exponent=2, stat_exponent=6, shift=3, table_type=INT(6), gamma_frac_bits=2,
                  v_bits=4, add_type=INT(12), pe=2)  # fmt: skip
    own = InstaPReLU(name="snap_insta_prelu_own", form="alpha", mu_frac_bits=1, **common)
    reuse = InstaPReLU(name="snap_insta_prelu_reuse", form="reuse", stat_channels=2,
                       stat_type=INT(14), **common)  # fmt: skip
    prelu = {"Mv": 300 * _sequence(4, 5) - 600, "Bv": _sequence(4, 64) - 32,
             "table": gamma_table(2, 0.25, 2, 4), "mul_pos": 8 + _sequence(4, 4),
             "mul_neg": _sequence(4, 6) - 2, "add": 100 * _sequence(4, 11) - 500}  # fmt: skip
    se = SEConfig(channels=4, hidden=2, m3_exponent=4, hidden_exponent=4, v_exponent=2,
                  v_bits=4, m3_shift=10, hidden_shift=8, v_shift=12)  # fmt: skip
    se_params = {"se_Mm": 900 * _sequence(4, 7) - 2000, "se_w1": _sequence(8, 13).reshape(2, 4) - 6,
                 "se_Mh": 300 * _sequence(2, 5, 1), "se_w2": _sequence(8, 11, 2).reshape(4, 2) - 5,
                 "se_Mo": 700 * _sequence(4, 9, 3) - 2500}  # fmt: skip
    th_se = InstaThreshold(name="snap_insta_th_se", channels=4, height=4, width=4,
                           input_type=UINT(4), exponent=14, pe=2, se=se)  # fmt: skip
    prelu_se = InstaPReLU(name="snap_insta_prelu_se", form="se", mu_frac_bits=1, se=se,
                          **(common | {"height": 4, "width": 4}))  # fmt: skip
    return [
        Node(th, ["x"], ["y", "x_delayed", "s"], th_params),
        Node(th_k, ["x"], ["y", "x_delayed"], th_params | {"mu": 3 * _sequence(4, 21)}),
        Node(own, ["x"], ["y"], prelu | {"mu": 2 * _sequence(4, 16) - 16}),
        Node(reuse, ["x", "s"], ["y"], prelu),
        Node(th_se, ["x"], ["y", "x_delayed"],
             th_params | se_params | {"tanh": tanh_table(2, 4, 12)}),
        Node(prelu_se, ["x"], ["y"], prelu | se_params | {"mu": 2 * _sequence(4, 16) - 16}),
    ]  # fmt: skip


def _rendered() -> dict[str, str]:
    nodes = snapshot_nodes() + insta_nodes()
    return {name: text for node in nodes for name, text in render_hls(node).items()}


SNAPSHOTS = [SnapshotSet("hls", Path(__file__).resolve().parent / "snapshots", _rendered)]


def test_generated_code_matches_snapshot() -> None:
    check(SNAPSHOTS[0])
