"""qonnx CustomOp classes of the INSTA modules: `InstaThreshold` and `InstaPReLU`.

Parameters are node inputs (initializers after cleanup) in the order of `THRESHOLD_INPUTS` /
`PRELU_INPUTS`; the hyper-parameter `form` is an attribute. SE weights are float32 tensors that
hold integers in -128..127 and are annotated INT8. `InstaThreshold` has two outputs: the bipolar
activation (NCHW) and the per-frame side tensor m3 (N, C) that a reuse-form `InstaPReLU` reads.
The numerics are those of `flows.custom_ops.insta_reference`.
"""

from __future__ import annotations

import numpy as np
from onnx import helper
from qonnx.core.datatype import DataType
from qonnx.custom_op.base import CustomOp

from flows.custom_ops import insta_reference

SE_INPUTS = ("w1", "s1", "w2", "s2")
THRESHOLD_INPUTS = {
    "alpha": ("x", "mu", "sigma", "beta", "alpha"),
    "se": ("x", "mu", "sigma", "beta", *SE_INPUTS),
}
PRELU_INPUTS = {
    "alpha": ("x", "slope", "zeta", "mu", "sigma", "a"),
    "se": ("x", "slope", "zeta", "mu", "sigma", *SE_INPUTS),
    "reuse": ("x", "slope", "zeta", "m3", "p", "q"),
}


class _InstaOp(CustomOp):
    """Shared plumbing: the `form` attribute, named inputs, checks."""

    FORMS: dict[str, tuple[str, ...]] = {}

    def get_nodeattr_types(self):
        return {"form": ("s", False, "alpha", set(self.FORMS))}

    @property
    def form(self) -> str:
        return self.get_nodeattr("form")

    def named_inputs(self, context: dict) -> dict[str, np.ndarray]:
        """{input role: value} for this node's form."""
        return {
            r: context[t] for r, t in zip(self.FORMS[self.form], self.onnx_node.input, strict=True)
        }

    def se_input_names(self) -> list[str]:
        """Tensor names of the 8-bit SE weights (empty unless form == "se")."""
        roles = dict(zip(self.FORMS[self.form], self.onnx_node.input, strict=True))
        return [roles[r] for r in ("w1", "w2") if r in roles]

    def make_shape_compatible_op(self, model):
        node = self.onnx_node
        return helper.make_node("Identity", [node.input[0]], [node.output[0]])

    def _annotate_se_weights(self, model) -> None:
        for name in self.se_input_names():
            model.set_tensor_datatype(name, DataType["INT8"])

    def verify_node(self) -> list[str]:
        msgs = []
        want = self.FORMS.get(self.form)
        if want is None:
            return [f"unknown form {self.form!r}; expected one of {sorted(self.FORMS)}"]
        if len(self.onnx_node.input) != len(want):
            msgs.append(f"form {self.form!r} needs {len(want)} inputs {want}")
        return msgs or ["ok"]


class InstaThreshold(_InstaOp):
    """INSTA-Th (form "alpha") / INSTA-Th+ (form "se"): sign(x_hat - t) and m3."""

    FORMS = THRESHOLD_INPUTS

    def make_shape_compatible_op(self, model):
        # Output 1 (m3) has no producer in the stand-in node: give it its shape directly.
        node = self.onnx_node
        shape = model.get_tensor_shape(node.input[0])
        if shape is not None and len(node.output) > 1:
            model.set_tensor_shape(node.output[1], list(shape[:2]))
        return super().make_shape_compatible_op(model)

    def infer_node_datatype(self, model):
        model.set_tensor_datatype(self.onnx_node.output[0], DataType["BIPOLAR"])
        if len(self.onnx_node.output) > 1:
            model.set_tensor_datatype(self.onnx_node.output[1], DataType["FLOAT32"])
        self._annotate_se_weights(model)

    def execute_node(self, context, graph):
        v = self.named_inputs(context)
        se = tuple(v[r] for r in SE_INPUTS) if self.form == "se" else None
        y, m3 = insta_reference.insta_threshold(
            v["x"], v["mu"], v["sigma"], v["beta"], alpha=v.get("alpha"), se=se
        )
        context[self.onnx_node.output[0]] = y
        if len(self.onnx_node.output) > 1:
            context[self.onnx_node.output[1]] = m3


class InstaPReLU(_InstaOp):
    """INSTA-PReLU (form "alpha"), INSTA-PReLU+ ("se"), statistics reuse ("reuse")."""

    FORMS = PRELU_INPUTS

    def infer_node_datatype(self, model):
        model.set_tensor_datatype(self.onnx_node.output[0], DataType["FLOAT32"])
        self._annotate_se_weights(model)

    def execute_node(self, context, graph):
        v = self.named_inputs(context)
        se = tuple(v[r] for r in SE_INPUTS) if self.form == "se" else None
        kwargs = {k: v.get(k) for k in ("mu", "sigma", "a", "m3", "p", "q")}
        context[self.onnx_node.output[0]] = insta_reference.insta_prelu(
            v["x"], v["slope"], v["zeta"], se=se, **kwargs
        )
