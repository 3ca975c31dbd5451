"""InstaToInteger: a FloatInsta threshold / prelu on an integer input with a positive scalar scale
becomes an `InstaThreshold` / `InstaPReLU` (constants folded exactly, one rounding each;
docs/numerics.md sections 8-10); the m3 side tensor becomes the integer S stream (units of 2^-3k,
k = TH_MU_FRAC_BITS) followed by FloatAffine(1 / (H W sigma_x^3 2^3k))."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from flows.datatypes import INT
from flows.errors import UnsupportedPatternError
from flows.fixedpoint import rne
from flows.graph import DataflowGraph, Node, Stream
from flows.hwmodel.ranges import smallest_type
from flows.layers import (
    FloatAffine,
    FloatInsta,
    InstaPReLU,
    InstaThreshold,
    Requant,
)
from flows.layers.insta_prelu.config import gamma_table, is_odd_table
from flows.layers.insta_se.golden import fold_se
from flows.layers.insta_threshold.constants import _exponent, fold_insta_constants
from flows.transforms.base import Transformation
from flows.transforms.edits import affine_producer, positive_scale, remove_node
from flows.transforms.requant_to_integer import fixed_point

V_EXPONENT = 8  # INSTA-PReLU: v = a*m3 on the grid 2^-4, INT8 (|v| < 8; numerics section 10)
GAMMA_FRAC_BITS = 8  # INSTA-PReLU: gamma with 8 fractional bits below x's grid
V_BITS = 12  # INSTA-PReLU: the tanh table's index width
SE_M3_EXPONENT = 4  # INSTA+ SE input: m3 on the INT8 grid 2^-4 (|m3| < 8)
SE_HIDDEN_EXPONENT = 4  # INSTA+ SE hidden layer: UINT8 on the grid 2^-4 (0 .. 16)
TANH_FRAC_BITS = 12  # INSTA-Th+: 3 tanh(v/3) with 12 fractional bits
MU_FRAC_BITS = 4  # INSTA-PReLU: mu on a grid 2^-4 finer than x's (numerics section 10)
TH_MU_FRAC_BITS = 4  # INSTA-Th(+): mu on a grid 2^-4 finer than x's (numerics section 8)
TH_OFFSET_BITS = 48  # INSTA-Th(+): width of A; 48 + 3k gave no measurable gain (numerics 8)


def _fractions(v) -> list[Fraction]:
    return [Fraction(float(x)) for x in np.asarray(v, np.float64).ravel()]


def tanh_table(v_exponent: int, v_bits: int, frac_bits: int) -> np.ndarray:
    """rne(3 tanh(v 2^-e / 3) 2^G) for every INT(v_bits) v: the INSTA-Th+ table (numerics 10)."""
    vt = INT(v_bits)
    v = np.arange(vt.min, vt.max + 1, dtype=np.float64) * 2.0**-v_exponent
    return rne(3.0 * np.tanh(v / 3.0) * 2.0**frac_bits).astype(np.int64)


def _fold_se(p: dict, hw: int, s: float, mu_frac_bits: int):
    """The integer SE of an INSTA module with float parameters `p` (w1, s1, w2, s2, sigma)."""
    sig_x = [Fraction(float(v)) / Fraction(s) for v in np.asarray(p["sigma"], np.float64)]
    k = [1 / (hw * sx**3 * 2 ** (3 * mu_frac_bits)) for sx in sig_x]
    return fold_se(k, p["w1"], p["s1"], p["w2"], p["s2"], m3_exponent=SE_M3_EXPONENT,
                   hidden_exponent=SE_HIDDEN_EXPONENT, v_exponent=V_EXPONENT,
                   v_bits=V_BITS)  # fmt: skip


def _offset_bits(bv: np.ndarray) -> int:
    """Bits of INSTA-PReLU's Bv as the values need them (at least 2, at most the 48 the exponent
    was fitted for): the own-statistics forms have q = 0, so their Bv ROM would hold zeros (two
    block RAMs of zeros per 512-channel layer at 48 bits)."""
    lo, hi = (int(bv.min()), int(bv.max())) if bv.size else (0, 0)
    return max(2, smallest_type(min(lo, -1), hi).bits)


class InstaToInteger(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for node in graph.nodes:
            cfg = node.config
            if not isinstance(cfg, FloatInsta):
                continue
            found = positive_scale(graph, node, f"INSTA {cfg.module}")
            if found is None:
                continue
            aff, s = found
            if cfg.module == "threshold":
                self._threshold(graph, node, aff, s)
                return True
            if self._prelu(graph, node, aff, s):
                return True
        return False

    @staticmethod
    def _threshold(graph: DataflowGraph, node: Node, aff: Node, s: float) -> None:
        cfg, p = node.config, node.params
        x = aff.inputs[0]
        xt = graph.streams[x].dtype
        se = cfg.form == "se"
        alpha = np.zeros(cfg.channels) if se else p["alpha"]
        kb = TH_MU_FRAC_BITS  # S is in units of (2^-kb steps)^3
        k = fold_insta_constants(p["mu"], p["sigma"], alpha, p["beta"], cfg.height, cfg.width, s,
                                 input_type=xt, se_tanh_frac_bits=TANH_FRAC_BITS if se else None,
                                 mu_frac_bits=kb, offset_bits=TH_OFFSET_BITS)  # fmt: skip
        se_cfg, se_params = _fold_se(p, cfg.num_vectors, s, kb) if se else (None, {})
        y, m3 = node.outputs[0], (node.outputs[1] if len(node.outputs) > 1 else None)
        want_stat = m3 is not None and bool(graph.consumers(m3))
        icfg = InstaThreshold(
            name=cfg.name, channels=cfg.channels, height=cfg.height, width=cfg.width,
            input_type=xt, exponent=k.E, statistic_output=want_stat, se=se_cfg,
            tanh_frac_bits=TANH_FRAC_BITS, mu_frac_bits=kb, offset_bits=TH_OFFSET_BITS,
        )  # fmt: skip
        if se:
            se_params["tanh"] = tanh_table(V_EXPONENT, V_BITS, TANH_FRAC_BITS)
        remove_node(graph, aff)
        remove_node(graph, node)
        del graph.streams[aff.outputs[0]]
        delayed = Stream(graph.unique_name(cfg.name + "_delayed"), xt, graph.streams[x].shape)
        outs = [graph.streams.pop(y), delayed]
        if want_stat:
            outs.append(Stream(graph.unique_name(cfg.name + "_S"), None, (1, cfg.channels)))
        elif m3 is not None:
            graph.streams.pop(m3)
        graph.add(icfg, [x], outs, **k.params(), **se_params)
        if want_stat:
            sig_x = np.asarray(p["sigma"], np.float64) / s
            kf = FloatAffine(name=graph.unique_name(cfg.name + "_m3"), channels=cfg.channels)
            graph.nodes.append(Node(kf, [outs[2].name], [m3],
                                    {"mul": 1.0 / (cfg.num_vectors * sig_x**3 * 2.0 ** (3 * kb)),
                                     "add": np.zeros(cfg.channels)}))  # fmt: skip

    @staticmethod
    def _prelu(graph: DataflowGraph, node: Node, aff: Node, s: float) -> bool:
        cfg, p = node.config, node.params
        rq = graph.single_consumer(node.outputs[0])
        if rq is None or not isinstance(rq.config, Requant):
            raise UnsupportedPatternError(
                f"{cfg.name}: an INSTA-PReLU must be followed by an activation quantiser, which "
                "fixes its output grid"
            )
        x = aff.inputs[0]
        xt = graph.streams[x].dtype
        c, hw, e = cfg.channels, cfg.num_vectors, V_EXPONENT
        extra: dict = {}
        if cfg.form == "reuse":
            kaff = affine_producer(graph, node.inputs[1])
            if kaff is None or graph.streams[kaff.inputs[0]].dtype is None:
                return False  # the INSTA-Th it reuses is not lowered yet
            stat = graph.streams[kaff.inputs[0]]
            reps = c // stat.shape[1]
            kv = np.tile(kaff.params["mul"], reps) * p["p"] * 2.0**e
            bv = np.asarray(p["q"], np.float64) * 2.0**e
            extra = {"stat_channels": stat.shape[1], "stat_type": stat.dtype}
            stat_in = [kaff.inputs[0]]
        elif cfg.form == "se":
            kb = MU_FRAC_BITS
            extra, se_params = _fold_se(p, hw, s, kb)
            extra = {"mu_frac_bits": kb, "se": extra}
            kv, bv = np.zeros(c), np.zeros(c)
            mu = [min(max(round(Fraction(float(m)) / Fraction(s) * 2**kb), xt.min << kb),
                      xt.max << kb) for m in np.asarray(p["mu"], np.float64)]  # fmt: skip
            stat_in = []
        else:
            sig_x = np.asarray(p["sigma"], np.float64) / s
            kb = MU_FRAC_BITS  # S is in units of (2^-kb steps)^3
            kv = np.asarray(p["a"], np.float64) / (hw * sig_x**3) * 2.0 ** (e - 3 * kb)
            bv = np.zeros(c)
            mu = [min(max(round(Fraction(float(m)) / Fraction(s) * 2**kb), xt.min << kb),
                      xt.max << kb) for m in np.asarray(p["mu"], np.float64)]  # fmt: skip
            extra = {"mu_frac_bits": kb}
            stat_in = []
        ev = _exponent(_fractions(kv), _fractions(bv), 18, 48)
        mv = np.array([round(v * 2**ev) for v in _fractions(kv)], dtype=np.int64)
        bvi = np.array([round(v * 2**ev) for v in _fractions(bv)], dtype=np.int64)
        g = GAMMA_FRAC_BITS
        table = gamma_table(e, s, g, V_BITS)
        s_out = rq.config.scale
        slope, zeta = np.asarray(p["slope"], np.float64), np.asarray(p["zeta"], np.float64)
        f, (mp, mn), (add,), at = fixed_point(
            cfg.name, [np.full(c, s / s_out), slope * s / s_out], [zeta / s_out * 2.0**g]
        )
        icfg = InstaPReLU(
            name=cfg.name, channels=c, height=cfg.height, width=cfg.width, input_type=xt,
            output_type=rq.config.output_type, form=cfg.form, v_exponent=e, stat_exponent=ev,
            shift=f, table_type=smallest_type(int(table.min()), int(table.max())),
            add_type=at, gamma_frac_bits=g, v_bits=V_BITS, offset_bits=_offset_bits(bvi),
            table_fold=is_odd_table(table), **extra,
        )  # fmt: skip
        params = {"Mv": mv, "Bv": bvi, "table": table, "mul_pos": mp, "mul_neg": mn, "add": add}
        if cfg.form in ("alpha", "se"):
            params["mu"] = np.array(mu, dtype=np.int64)
        if cfg.form == "se":
            params.update(se_params)
            del params["Mv"], params["Bv"]
        out = rq.outputs[0]
        for n in (aff, node, rq) + ((kaff,) if cfg.form == "reuse" else ()):
            remove_node(graph, n)
            for o in n.outputs:
                if o != out:
                    graph.streams.pop(o, None)
        graph.nodes.append(Node(icfg, [x, *stat_in], [out], params))
        return True
