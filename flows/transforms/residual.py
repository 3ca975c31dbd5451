"""Lowering of residual and INSTA graphs (docs/numerics.md sections 6, 8-10).

The importer leaves every activation quantiser as `Requant` (integer q) followed by
`FloatAffine(mul=s)`. These rewrites move the scales to where they can be absorbed and turn the
float kinds into integer layers:

* `SplitForkedAffines`  a FloatAffine with k consumers -> k copies (exact; lets each consumer
                        absorb its own copy).
* `MoveAffineDown`      FloatAffine below data movement and linear layers: SlidingWindow (zero
                        padding only with add 0), MaxPool (positive mul), AvgPool/GlobalAvgPool
                        (sums: add times the window size), MatMul (uniform mul: W(mx + a) =
                        m Wx + Wa). Exact in real arithmetic.
* `FloatAddToAddStreams` FloatAffine(s) -> FloatAdd <- FloatAffine(s) on integer inputs ->
                        AddStreams -> FloatAffine(s). Inputs with different scales are rejected.
* `RequantToInteger`    integer x -> FloatAffine(m, a) -> Requant(s) -> `Affine` with a 16-bit
                        mantissa, rounding shift and saturation; removed when it is the identity.
* `PReLUToInteger`      x -> FloatAffine -> FloatPReLU -> FloatAffine -> Requant -> `RPReLU`.
* `InstaToInteger`      FloatInsta threshold / prelu on an integer input with a positive scalar
                        scale -> `InstaThreshold` / `InstaPReLU` (constants folded exactly, one
                        rounding each); the m3 side tensor becomes the integer S stream (units
                        of 2^-3k, k = TH_MU_FRAC_BITS) followed by FloatAffine(1 / (H W sigma_x^3
                        2^3k)).
* `ShortcutFromInstaBuffer` other consumers of an InstaThreshold's input read its delayed copy
                        (output 1) instead: the shortcut is delayed by the same frame
                        (DESIGN.md section 4), so the block cannot deadlock.
* `InsertDuplicateStreams` a stream with k > 1 consumers gets an explicit DuplicateStreams.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np

from flows.datatypes import INT
from flows.errors import NumericContractError, UnsupportedPatternError
from flows.fixedpoint import fit_exponent, rne
from flows.graph import DataflowGraph, Node, Stream
from flows.hwmodel.ranges import smallest_type
from flows.layers import (
    AddStreams,
    Affine,
    AvgPool,
    DuplicateStreams,
    FloatAdd,
    FloatAffine,
    FloatInsta,
    FloatPReLU,
    GlobalAvgPool,
    InstaPReLU,
    InstaThreshold,
    MatMul,
    MaxPool,
    Requant,
    RPReLU,
    SlidingWindow,
)
from flows.layers.insta_prelu.config import gamma_table
from flows.layers.insta_se.golden import fold_se
from flows.layers.insta_threshold.constants import _exponent, fold_insta_constants
from flows.transforms.base import Transformation, infer_types

MUL_BITS = 16  # fixed-point mantissas of scales and slopes (numerics section 6)
MAX_ADD_BITS = 40  # widest offset accepted next to a 16-bit mantissa
V_EXPONENT = 8  # INSTA-PReLU: v = a*m3 on the grid 2^-4, INT8 (|v| < 8; numerics section 10)
GAMMA_FRAC_BITS = 8  # INSTA-PReLU: gamma with 8 fractional bits below x's grid
V_BITS = 12  # INSTA-PReLU: the tanh table's index width
SE_M3_EXPONENT = 4  # INSTA+ SE input: m3 on the INT8 grid 2^-4 (|m3| < 8)
SE_HIDDEN_EXPONENT = 4  # INSTA+ SE hidden layer: UINT8 on the grid 2^-4 (0 .. 16)
TANH_FRAC_BITS = 12  # INSTA-Th+: 3 tanh(v/3) with 12 fractional bits
MU_FRAC_BITS = 4  # INSTA-PReLU: mu on a grid 2^-4 finer than x's (numerics section 10)
TH_MU_FRAC_BITS = 4  # INSTA-Th(+): mu on a grid 2^-4 finer than x's (numerics section 8)
TH_OFFSET_BITS = 48  # INSTA-Th(+): width of A; 48 + 3k gave no measurable gain (numerics 8)


class Group(Transformation):
    """Apply each member once per round; changed if any member changed (a joint fixed point)."""

    def __init__(self, *steps: Transformation) -> None:
        self.steps = steps

    def apply(self, graph: DataflowGraph) -> tuple[DataflowGraph, bool]:
        """One copy per round; members rewrite it in place (each rewrite is followed by the
        sort and type inference `Transformation.apply` does), so a full-size ResNet does not
        copy its weights once per rewrite."""
        g = graph.copy()
        changed = False
        for step in self.steps:
            while step.rewrite(g):
                g.sort()
                infer_types(g)
                changed = True
        return g, changed


# --- helpers -------------------------------------------------------------------------------------
def _remove(graph: DataflowGraph, node: Node) -> None:
    graph.nodes.remove(node)


def _rewire(graph: DataflowGraph, old: str, new: str) -> None:
    """Every consumer (and graph output) of stream `old` reads `new`; `old` is dropped."""
    for n in graph.nodes:
        n.inputs = [new if i == old else i for i in n.inputs]
    graph.outputs = [new if o == old else o for o in graph.outputs]
    graph.streams.pop(old, None)


def _affine_producer(graph: DataflowGraph, stream: str) -> Node | None:
    """The FloatAffine producing `stream` if it has no other consumer, else None."""
    prod = graph.producer(stream)
    if prod is None or not isinstance(prod.config, FloatAffine):
        return None
    return prod if graph.single_consumer(stream) is not None else None


def _uniform(v: np.ndarray) -> bool:
    return bool(np.all(v == v.ravel()[0]))


def _positive_scale(graph: DataflowGraph, node: Node, what: str) -> tuple[Node, float] | None:
    """(FloatAffine, s) if input 0 of `node` is s * x with x an integer stream, uniform s > 0,
    add 0; None while the pattern is not there yet."""
    aff = _affine_producer(graph, node.inputs[0])
    if aff is None or graph.streams[aff.inputs[0]].dtype is None:
        return None
    before = graph.producer(aff.inputs[0])
    if before is not None and isinstance(before.config, FloatAffine):
        return None  # not collapsed yet
    m, a = aff.params["mul"], aff.params["add"]
    if not (_uniform(m) and np.all(a == 0) and m.ravel()[0] > 0):
        raise UnsupportedPatternError(
            f"{node.name}: {what} needs its input as one positive per-tensor scale times an "
            f"integer stream; found a per-channel affine (mul {m[:3]}, add {a[:3]})"
        )
    return aff, float(m.ravel()[0])


# --- scale movement ------------------------------------------------------------------------------
class SplitForkedAffines(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for node in graph.nodes:
            if not isinstance(node.config, FloatAffine):
                continue
            out = node.outputs[0]
            users = graph.consumers(out)
            if len(users) < 2 or out in graph.outputs:
                continue
            for k, user in enumerate(users[1:], start=1):
                name = graph.unique_name(f"{node.name}_c{k}")
                copy = Stream(graph.unique_name(f"{out}_c{k}"), None, graph.streams[out].shape)
                graph.add(replace(node.config, name=name), node.inputs, [copy],
                          **{k2: v.copy() for k2, v in node.params.items()})  # fmt: skip
                user.inputs = [copy.name if i == out else i for i in user.inputs]
            return True
        return False


class MoveAffineDown(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for aff in graph.nodes:
            if not isinstance(aff.config, FloatAffine):
                continue
            user = graph.single_consumer(aff.outputs[0])
            if user is None or len(user.inputs) != 1 or len(user.outputs) != 1:
                continue
            moved = self._through(user, aff.params["mul"], aff.params["add"])
            if moved is None:
                continue
            mul, add = moved
            # aff's input feeds user; user's output goes through a new affine
            x, mid, out = aff.inputs[0], aff.outputs[0], user.outputs[0]
            user.inputs = [x]
            del graph.streams[mid]
            new_mid = graph.unique_name(out + "_pre")
            graph.set_stream(Stream(new_mid, None, graph.streams[out].shape))
            user.outputs = [new_mid]
            vectors, channels = graph.streams[out].shape
            aff.config = replace(aff.config, channels=channels, num_vectors=vectors)
            aff.inputs, aff.outputs = [new_mid], [out]
            aff.params = {"mul": mul, "add": add}
            return True
        return False

    @staticmethod
    def _through(user: Node, m: np.ndarray, a: np.ndarray):
        """(mul, add) after `user`, or None if the affine cannot pass it exactly."""
        cfg = user.config
        if isinstance(cfg, SlidingWindow):
            if cfg.pad and (cfg.pad_value != 0 or np.any(a != 0)):
                return None
            taps = cfg.kernel * cfg.kernel
            return np.tile(m, taps), np.tile(a, taps)
        if isinstance(cfg, MaxPool):
            return (m, a) if np.all(m > 0) else None
        if isinstance(cfg, AvgPool):
            return m, a * cfg.kernel * cfg.kernel
        if isinstance(cfg, GlobalAvgPool):
            return m, a * cfg.num_vectors
        if isinstance(cfg, MatMul) and _uniform(m):
            w = np.asarray(user.params["weights"], np.float64)
            mh = w.shape[0]
            return np.full(mh, m.ravel()[0]), w @ a
        return None


# --- residual add --------------------------------------------------------------------------------
class FloatAddToAddStreams(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for node in graph.nodes:
            if not isinstance(node.config, FloatAdd):
                continue
            affs = [_affine_producer(graph, i) for i in node.inputs]
            if any(a is None or graph.streams[a.inputs[0]].dtype is None for a in affs):
                continue
            scales = []
            for a in affs:
                m, add = a.params["mul"], a.params["add"]
                if not _uniform(m) or np.any(add != 0):
                    raise UnsupportedPatternError(
                        f"residual add {node.name}: input {a.outputs[0]!r} is not an integer "
                        "stream times one per-tensor scale; quantise both add inputs with the "
                        "same quantiser (docs/numerics.md section 6)"
                    )
                scales.append(float(m.ravel()[0]))
            if scales[0] != scales[1]:
                raise UnsupportedPatternError(
                    f"residual add {node.name}: inputs have different scales {scales[0]:.6g} "
                    f"({affs[0].outputs[0]}) and {scales[1]:.6g} ({affs[1].outputs[0]}); use one "
                    "quantiser instance for both add inputs (docs/numerics.md section 6)"
                )
            types = tuple(graph.streams[a.inputs[0]].dtype for a in affs)
            vectors, channels = graph.streams[node.outputs[0]].shape
            for a in affs:
                _remove(graph, a)
                del graph.streams[a.outputs[0]]
            _remove(graph, node)
            out = node.outputs[0]
            mid = Stream(graph.unique_name(out + "_int"), None, (vectors, channels))
            add = AddStreams(name=node.name, channels=channels, input_types=types,
                             num_vectors=vectors)  # fmt: skip
            graph.add(add, [a.inputs[0] for a in affs], [mid])
            scale = FloatAffine(name=graph.unique_name(node.name + "_scale"), channels=channels,
                                num_vectors=vectors)  # fmt: skip
            graph.nodes.append(Node(scale, [mid.name], [out],
                                    {"mul": np.full(channels, scales[0]),
                                     "add": np.zeros(channels)}))  # fmt: skip
            return True
        return False


# --- requantisation ------------------------------------------------------------------------------
def _fixed_point(name: str, muls: list[np.ndarray], adds: list[np.ndarray]):
    """Common exponent F >= 0 for 16-bit mantissas of `muls`; (F, int muls, int adds, add type)."""
    every = np.concatenate(muls + adds)
    if np.all(every == np.round(every)):
        f = 0  # integer factors (e.g. the saturation after an add): exact without a shift
    else:
        f = None
    try:
        f = (
            f
            if f is not None
            else fit_exponent(np.concatenate(muls), MUL_BITS, max_exponent=30, min_exponent=0)
        )
    except ValueError:
        raise NumericContractError(
            f"{name}: a scale factor of {float(np.max(np.abs(np.concatenate(muls)))):.4g} "
            f"does not fit a {MUL_BITS}-bit mantissa with a non-negative exponent"
        ) from None
    imuls = [rne(m * 2.0**f).astype(np.int64) for m in muls]
    iadds = [rne(a * 2.0**f).astype(np.int64) for a in adds]
    allv = np.concatenate(iadds)
    at = smallest_type(min(int(allv.min()), -1), max(int(allv.max()), 0))
    if at.bits > MAX_ADD_BITS:
        raise NumericContractError(
            f"{name}: an offset needs {at.bits} bits at exponent {f} (more than {MAX_ADD_BITS})"
        )
    return f, imuls, iadds, at


class RequantToInteger(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for rq in graph.nodes:
            if not isinstance(rq.config, Requant):
                continue
            aff = _affine_producer(graph, rq.inputs[0])
            if aff is None:
                continue
            xt = graph.streams[aff.inputs[0]].dtype
            if xt is None:
                continue
            s, out_t = rq.config.scale, rq.config.output_type
            m = aff.params["mul"] / s
            a = aff.params["add"] / s
            x, out = aff.inputs[0], rq.outputs[0]
            _remove(graph, aff)
            _remove(graph, rq)
            del graph.streams[aff.outputs[0]]
            if np.all(m == 1) and np.all(a == 0) and out_t.min <= xt.min and xt.max <= out_t.max:
                _rewire(graph, out, x)  # q(s * x) = x: the identity on the grid
                return True
            f, (mul,), (add,), at = _fixed_point(rq.name, [m], [a])
            mt = smallest_type(min(int(mul.min()), -1), max(int(mul.max()), 1))
            cfg = Affine(
                name=rq.name, channels=rq.config.channels, input_type=xt, mul_type=mt,
                add_type=at, num_vectors=rq.config.num_vectors, shift=f, saturate_type=out_t,
            )  # fmt: skip
            graph.nodes.append(Node(cfg, [x], [out], {"mul": mul, "add": add}))
            return True
        return False


class PReLUToInteger(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for pr in graph.nodes:
            if not isinstance(pr.config, FloatPReLU):
                continue
            pre = _affine_producer(graph, pr.inputs[0])
            if pre is None or graph.streams[pre.inputs[0]].dtype is None:
                continue
            nxt = graph.single_consumer(pr.outputs[0])
            post = nxt if nxt is not None and isinstance(nxt.config, FloatAffine) else None
            rq = graph.single_consumer(post.outputs[0]) if post is not None else nxt
            if rq is None or not isinstance(rq.config, Requant):
                raise UnsupportedPatternError(
                    f"{pr.name}: a PReLU must be followed (after an optional per-channel affine) "
                    "by an activation quantiser, which fixes its output grid"
                )
            xt = graph.streams[pre.inputs[0]].dtype
            c = pr.config.channels
            m1, a1 = pre.params["mul"], pre.params["add"]
            m2, a2 = (post.params["mul"], post.params["add"]) if post else (np.ones(c), np.zeros(c))
            slope, s = pr.params["slope"], rq.config.scale
            pos = (m2 * m1 / s, (m2 * a1 + a2) / s)
            neg = (m2 * slope * m1 / s, (m2 * slope * a1 + a2) / s)
            th = np.empty(c, dtype=np.float64)
            upper_pos = m1 >= 0
            nz = m1 != 0
            th[nz & (m1 > 0)] = np.ceil(-a1[nz & (m1 > 0)] / m1[nz & (m1 > 0)])
            th[nz & (m1 < 0)] = np.floor(-a1[nz & (m1 < 0)] / m1[nz & (m1 < 0)]) + 1
            th[~nz] = xt.min  # constant branch: always the upper segment
            upper_pos = np.where(nz, m1 > 0, a1 >= 0)
            hi = [np.where(upper_pos, p, n) for p, n in zip(pos, neg, strict=True)]
            lo = [np.where(upper_pos, n, p) for p, n in zip(pos, neg, strict=True)]
            f, (mh, ml), (ah, al), at = _fixed_point(pr.name, [hi[0], lo[0]], [hi[1], lo[1]])
            cfg = RPReLU(
                name=pr.name, channels=c, input_type=xt, output_type=rq.config.output_type,
                mul_type=INT(MUL_BITS), add_type=at, shift=f, num_vectors=pr.config.num_vectors,
            )  # fmt: skip
            thr = np.clip(th, xt.min, xt.max + 1).astype(np.int64)
            params = {"threshold": thr, "mul_hi": mh, "add_hi": ah, "mul_lo": ml, "add_lo": al}
            x, out = pre.inputs[0], rq.outputs[0]
            for n in (pre, pr, post, rq):
                if n is not None:
                    _remove(graph, n)
                    for o in n.outputs:
                        if o != out:
                            graph.streams.pop(o, None)
            graph.nodes.append(Node(cfg, [x], [out], params))
            return True
        return False


# --- INSTA ---------------------------------------------------------------------------------------
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


class InstaToInteger(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for node in graph.nodes:
            cfg = node.config
            if not isinstance(cfg, FloatInsta):
                continue
            found = _positive_scale(graph, node, f"INSTA {cfg.module}")
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
        _remove(graph, aff)
        _remove(graph, node)
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
            kaff = _affine_producer(graph, node.inputs[1])
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
        f, (mp, mn), (add,), at = _fixed_point(
            cfg.name, [np.full(c, s / s_out), slope * s / s_out], [zeta / s_out * 2.0**g]
        )
        icfg = InstaPReLU(
            name=cfg.name, channels=c, height=cfg.height, width=cfg.width, input_type=xt,
            output_type=rq.config.output_type, form=cfg.form, v_exponent=e, stat_exponent=ev,
            shift=f, table_type=smallest_type(int(table.min()), int(table.max())),
            add_type=at, gamma_frac_bits=g, v_bits=V_BITS, **extra,
        )  # fmt: skip
        params = {"Mv": mv, "Bv": bvi, "table": table, "mul_pos": mp, "mul_neg": mn, "add": add}
        if cfg.form in ("alpha", "se"):
            params["mu"] = np.array(mu, dtype=np.int64)
        if cfg.form == "se":
            params.update(se_params)
            del params["Mv"], params["Bv"]
        out = rq.outputs[0]
        for n in (aff, node, rq) + ((kaff,) if cfg.form == "reuse" else ()):
            _remove(graph, n)
            for o in n.outputs:
                if o != out:
                    graph.streams.pop(o, None)
        graph.nodes.append(Node(icfg, [x, *stat_in], [out], params))
        return True


# --- plumbing ------------------------------------------------------------------------------------
class ShortcutFromInstaBuffer(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for node in graph.nodes:
            if not isinstance(node.config, InstaThreshold):
                continue
            x, delayed = node.inputs[0], node.outputs[1]
            others = [u for u in graph.consumers(x) if u is not node]
            if not others:
                continue
            for u in others:
                u.inputs = [delayed if i == x else i for i in u.inputs]
            return True
        return False


class InsertDuplicateStreams(Transformation):
    def rewrite(self, graph: DataflowGraph) -> bool:
        for name, s in list(graph.streams.items()):
            users = graph.consumers(name)
            if len(users) < 2 or name in graph.outputs or s.dtype is None:
                continue
            vectors, channels = s.shape
            cfg = DuplicateStreams(
                name=graph.unique_name(name + "_dup"), channels=channels, input_type=s.dtype,
                copies=len(users), num_vectors=vectors,
            )  # fmt: skip
            copies = [Stream(graph.unique_name(f"{name}_{k}"), s.dtype, s.shape)
                      for k in range(len(users))]  # fmt: skip
            for u, cp in zip(users, copies, strict=True):
                u.inputs = [cp.name if i == name else i for i in u.inputs]
            graph.add(cfg, [name], copies)
            return True
        return False


class FillInputTypes(Transformation):
    """Record each node's input stream type in configs that carry an optional `input_type`
    (MaxPool, AvgPool, GlobalAvgPool): their emitters and estimators need it."""

    def rewrite(self, graph: DataflowGraph) -> bool:
        for node in graph.nodes:
            cfg = node.config
            if not hasattr(cfg, "input_type") or cfg.input_type is not None:
                continue
            t = graph.streams[node.inputs[0]].dtype
            if t is not None:
                node.config = replace(cfg, input_type=t)
                return True
        return False
