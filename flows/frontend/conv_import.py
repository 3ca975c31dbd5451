"""Import of NCHW convolutional graphs: Conv, Pad, MaxPool, Flatten/Reshape (hooks of qonnx_import).

Feature maps are streams of `(H*W vectors, C channels)`: pixels in raster order, channels last
(docs/numerics.md section 1); `_Importer.shape` maps ONNX `(1, C, H, W)` to `(H*W, C)`.

* `Conv` (group 1, dilation 1, square kernel, equal strides, symmetric pads) becomes a
  `SlidingWindow` and a transient `MatMul` with `num_vectors = Hout*Wout` whose weight matrix is in
  the window's (ky, kx, c) order (`conv_weight_matrix`); a bias becomes a `FloatAffine`. The usual
  streamlining (FactorWeightScales ... MatMulToMVAU) then applies unchanged.
* `Pad` (constant mode, spatial only, symmetric) is merged into the next Conv's window: the value
  must be -1 before a binary conv (numerics section 7) and 0 before an integer conv. A Conv's own
  `pads` attribute pads with 0, which is rejected on a binary input.
* `MaxPool` (square, symmetric padding with the type minimum, `ceil_mode=0`) becomes `MaxPool`.
* `Flatten` / `Reshape` to `(1, C*H*W)`: ONNX flattens in (c, h, w) order, the stream is in
  (h, w, c) order. The data is not moved: the next fully connected layer's weight columns are
  permuted instead (exact). For `H*W > 1` the stream is regrouped into one vector by a
  whole-map `SlidingWindow` (a pass-through of the same words, see its docstring).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx

from flows.errors import NumericContractError, UnsupportedPatternError
from flows.graph import Stream
from flows.layers import FloatAffine, MatMul, MaxPool, SlidingWindow
from flows.layers.sliding_window import conv_weight_matrix

Handler = Callable[[Any, Any], None]


@dataclass
class _ConvState:
    """Per-import bookkeeping: Pads waiting for their Conv, tensors in (h, w, c) flatten order."""

    pads: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    raster_flat: dict[str, tuple[int, int, int]] = field(default_factory=dict)


def _state(imp) -> _ConvState:
    if not hasattr(imp, "conv_state"):
        imp.conv_state = _ConvState()
    return imp.conv_state


def _attrs(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _nchw(imp, tensor: str, node_name: str) -> tuple[int, int, int]:
    imp.shape(tensor)  # rejects dynamic shapes with the importer's message
    shp = imp.m.get_tensor_shape(tensor)
    if len(shp) != 4:
        raise UnsupportedPatternError(
            f"{node_name}: input {tensor!r} has shape {tuple(shp)}; expected (1, C, H, W)"
        )
    return int(shp[1]), int(shp[2]), int(shp[3])


def _square(node_name: str, what: str, values, n: int = 2) -> int:
    values = [int(v) for v in values]
    if len(values) != n or any(v != values[0] for v in values):
        raise UnsupportedPatternError(
            f"{node_name}: {what} {values} is not supported; only equal values on every spatial "
            "side (square kernels, equal strides, symmetric padding)"
        )
    return values[0]


def _is_binary(imp, tensor: str) -> bool:
    """True if `tensor` holds binary activations (a BipolarQuant, possibly pooled or padded)."""
    prod = imp.m.find_producer(tensor)
    while prod is not None and prod.op_type in ("MaxPool", "Pad"):
        prod = imp.m.find_producer(prod.input[0])
    if prod is not None and prod.op_type == "InstaThreshold":  # output 0 is bipolar
        return tensor == prod.output[0] or prod.output[0] in _chain(imp, tensor)
    return prod is not None and prod.op_type == "BipolarQuant" and not imp._is_weight_quant(prod)


def _chain(imp, tensor: str) -> set[str]:
    """`tensor` and the tensors it was pooled or padded from."""
    seen = {tensor}
    prod = imp.m.find_producer(tensor)
    while prod is not None and prod.op_type in ("MaxPool", "Pad"):
        seen.add(prod.input[0])
        prod = imp.m.find_producer(prod.input[0])
    return seen


def _conv(imp, node) -> None:
    name = node.name or "Conv"
    attrs = _attrs(node)
    if int(attrs.get("group", 1)) != 1:
        raise UnsupportedPatternError(
            f"{name}: Conv with group={attrs['group']} is not supported (only group=1); "
            "use dense convolutions"
        )
    if any(int(d) != 1 for d in attrs.get("dilations", [1, 1])):
        raise UnsupportedPatternError(f"{name}: dilated convolutions are not supported")
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise UnsupportedPatternError(f"{name}: auto_pad is not supported; export explicit pads")
    stride = _square(name, "strides", attrs.get("strides", [1, 1]))
    pad = _square(name, "pads", attrs.get("pads", [0, 0, 0, 0]), 4)
    x, binary, pad_value = node.input[0], _is_binary(imp, node.input[0]), 0
    if pad and binary:
        raise NumericContractError(
            f"{name}: the Conv pads its binary input with 0, which is not a bipolar value "
            "(docs/numerics.md section 7); pad explicitly with -1 (F.pad(x, value=-1)) before "
            "an unpadded conv"
        )
    st = _state(imp)
    if x in st.pads:
        if pad:
            raise UnsupportedPatternError(f"{name}: both a Pad node and Conv pads; use one")
        x, pad, pad_value = st.pads.pop(x)
    want = -1 if binary else 0
    if pad and pad_value != want:
        kind = "binary" if binary else "integer"
        raise NumericContractError(
            f"{name}: a {kind} convolution must be padded with {want}, found {pad_value} "
            "(docs/numerics.md section 7)"
        )
    ints, scale, wtype = None, None, None
    prod = imp.m.find_producer(node.input[1])
    if prod is not None and imp._is_weight_quant(prod):
        ints, scale, wtype = imp.quantised_const(prod)
        w = ints * scale
    elif imp.m.get_initializer(node.input[1]) is not None:
        w = np.asarray(imp.m.get_initializer(node.input[1]), dtype=np.float64)
    else:
        raise UnsupportedPatternError(f"{name}: weights must be a constant")
    oc, ic, kh, kw = w.shape
    c, h, wd = _nchw(imp, x, name)
    kernel = _square(name, "kernel_shape", attrs.get("kernel_shape", [kh, kw]))
    if ic != c or (kh, kw) != (kernel, kernel):
        raise UnsupportedPatternError(
            f"{name}: weights {w.shape} do not match input channels {c} / kernel {kernel}"
        )
    swg = SlidingWindow(
        name=imp.graph.unique_name(name + "_swg"),
        channels=c,
        in_h=h,
        in_w=wd,
        kernel=kernel,
        stride=stride,
        pad=pad,
        pad_value=pad_value,
    )
    out_vectors, out_channels = imp.shape(node.output[0])
    if (out_vectors, out_channels) != (swg.out_vectors, oc):
        raise UnsupportedPatternError(
            f"{name}: output shape {(out_vectors, out_channels)} does not match the window "
            f"{(swg.out_vectors, oc)}"
        )
    if kernel == 1 and stride == 1 and not pad:  # a 1x1 window is the stream itself
        win = imp.graph.streams[imp.src(x)]
    else:
        win = Stream(
            imp.graph.unique_name(name + "_win"), None, (swg.out_vectors, swg.out_channels)
        )
        imp.graph.add(swg, [imp.src(x)], [win])
    params: dict[str, Any] = {"weights": conv_weight_matrix(w)}
    if ints is not None:
        params["int_weights"] = conv_weight_matrix(ints)
        params["weight_scale"] = conv_weight_matrix(np.broadcast_to(scale, w.shape))
        params["int_weight_type"] = wtype
    mm_name = imp.graph.unique_name(name)
    cfg = MatMul(name=mm_name, mw=swg.out_channels, mh=oc, num_vectors=out_vectors)
    has_bias = len(node.input) > 2 and node.input[2]
    out = Stream(mm_name + "_out" if has_bias else node.output[0], None, (out_vectors, oc))
    imp.graph.add(cfg, [win.name], [out], **params)
    if has_bias:
        bias = np.asarray(imp.const(node.input[2]), dtype=np.float64).reshape(-1)
        bcfg = FloatAffine(
            name=imp.graph.unique_name(name + "_bias"), channels=oc, num_vectors=out_vectors
        )
        final = Stream(node.output[0], None, (out_vectors, oc))
        imp.graph.add(bcfg, [out.name], [final], mul=np.ones(oc), add=bias)


def _pad(imp, node) -> None:
    name = node.name or "Pad"
    attrs = _attrs(node)
    mode = attrs.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode != "constant":
        raise UnsupportedPatternError(f"{name}: Pad mode {mode!r}; only constant padding")
    pads = imp.const(node.input[1]) if len(node.input) > 1 else attrs.get("pads")
    value = imp.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    value = float(np.asarray(value).ravel()[0]) if value is not None else attrs.get("value", 0.0)
    if pads is None:
        raise UnsupportedPatternError(f"{name}: pads must be constant")
    pads = [int(p) for p in np.asarray(pads).ravel()]
    if len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)):
        raise UnsupportedPatternError(f"{name}: only spatial padding of (1, C, H, W) maps")
    p = _square(name, "pads", [pads[i] for i in (2, 3, 6, 7)], 4)
    users = imp.m.find_consumers(node.output[0])
    if not users or any(u.op_type != "Conv" for u in users):
        raise UnsupportedPatternError(
            f"{name}: a Pad must feed only Conv nodes (it is merged into their sliding window)"
        )
    if value not in (-1.0, 0.0):
        raise NumericContractError(f"{name}: pad value {value}; only -1 (binary) or 0 (integer)")
    _nchw(imp, node.input[0], name)
    _state(imp).pads[node.output[0]] = (node.input[0], p, int(value))


def _maxpool(imp, node) -> None:
    name = node.name or "MaxPool"
    attrs = _attrs(node)
    if int(attrs.get("ceil_mode", 0)):
        raise UnsupportedPatternError(f"{name}: MaxPool with ceil_mode=1 is unsupported")
    pad = _square(name, "pads", attrs.get("pads", [0, 0, 0, 0]), 4)
    if any(int(d) != 1 for d in attrs.get("dilations", [1, 1])):
        raise UnsupportedPatternError(f"{name}: dilated MaxPool is not supported")
    kernel = _square(name, "kernel_shape", attrs["kernel_shape"])
    stride = _square(name, "strides", attrs.get("strides", [1, 1]))
    c, h, w = _nchw(imp, node.input[0], name)
    cfg = MaxPool(
        name=imp.graph.unique_name(name), channels=c, in_h=h, in_w=w, kernel=kernel,
        stride=stride, pad=pad,
    )  # fmt: skip
    imp.add(cfg, node, node.input[0])


def _flatten_input(imp, node) -> None:
    """`node` turns (1, C, H, W) (or (1, F)) into (1, C*H*W); checked by the callers."""
    name, x, out = node.name or node.op_type, node.input[0], node.output[0]
    shp = imp.m.get_tensor_shape(x)
    imp.shape(x)
    if len(shp) == 2:
        imp.alias[out] = imp.src(x)
        return
    c, h, w = _nchw(imp, x, name)
    if h * w == 1:  # (1, C) already: same stream
        imp.alias[out] = imp.src(x)
        return
    users = imp.m.find_consumers(out)
    if not users or any(u.op_type not in ("MatMul", "Gemm") or u.input[0] != out for u in users):
        raise UnsupportedPatternError(
            f"{name}: a flattened {c}x{h}x{w} map must feed fully connected layers only (their "
            "weight columns are permuted to the stream's (h, w, c) order)"
        )
    if h != w:
        raise UnsupportedPatternError(f"{name}: flattening a non-square {h}x{w} map")
    cfg = SlidingWindow(name=imp.graph.unique_name(name), channels=c, in_h=h, in_w=w, kernel=h)
    imp.add(cfg, node, x)
    _state(imp).raster_flat[out] = (c, h, w)


def _flatten(imp, node) -> None:
    if int(_attrs(node).get("axis", 1)) != 1:
        raise UnsupportedPatternError(f"{node.name}: Flatten with axis != 1 is not supported")
    _flatten_input(imp, node)


def _reshape(imp, node) -> None:
    target = imp.const(node.input[1])
    shp = imp.m.get_tensor_shape(node.input[0])
    size = int(np.prod(shp)) if shp else -1
    if target is None or [int(t) for t in np.asarray(target).ravel()] not in ([1, -1], [1, size]):
        raise UnsupportedPatternError(
            f"{node.name}: only Reshape to (1, C*H*W) before a fully connected layer is supported"
        )
    _flatten_input(imp, node)


def raster_permutation(c: int, h: int, w: int) -> np.ndarray:
    """perm[j] = ONNX (c, h, w) flatten index of stream element j = (y*w + x)*c + ch."""
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).ravel()


def _fc(base: Handler) -> Handler:
    """Wrap the MatMul/Gemm importer: permute weight columns after a (h, w, c) flatten."""

    def handler(imp, node) -> None:
        before = len(imp.graph.nodes)
        base(imp, node)
        order = _state(imp).raster_flat.get(node.input[0])
        if order is None:
            return
        perm = raster_permutation(*order)
        for n in imp.graph.nodes[before:]:
            if isinstance(n.config, MatMul):
                for key in ("weights", "int_weights", "weight_scale"):
                    if key in n.params:
                        n.params[key] = np.asarray(n.params[key])[:, perm]

    return handler


def conv_importers(base: dict[str, Handler]) -> dict[str, Handler]:
    """The conv-graph handlers, plus `base`'s MatMul/Gemm wrapped for flatten permutation."""
    return {
        "Conv": _conv,
        "Pad": _pad,
        "MaxPool": _maxpool,
        "Flatten": _flatten,
        "Reshape": _reshape,
        "MatMul": _fc(base["MatMul"]),
        "Gemm": _fc(base["Gemm"]),
    }
