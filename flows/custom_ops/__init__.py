"""Our ONNX domain `flows.custom_ops`: the INSTA modules as custom ops that qonnx can execute.

qonnx resolves a node's domain by importing the module of that name and looking the op type up in
its `custom_op` dict, so a graph with `InstaThreshold` / `InstaPReLU` nodes runs under
`qonnx.core.onnx_exec.execute_onnx` and passes `qonnx.util.cleanup.cleanup_model` as long as
this package is importable. Nothing here imports `sw` (docs/architecture.md, section 2).
"""

from __future__ import annotations

from flows.custom_ops.qonnx_ops import PRELU_INPUTS, THRESHOLD_INPUTS, InstaPReLU, InstaThreshold

DOMAIN = "flows.custom_ops"

custom_op = {"InstaThreshold": InstaThreshold, "InstaPReLU": InstaPReLU}

__all__ = [
    "DOMAIN",
    "PRELU_INPUTS",
    "THRESHOLD_INPUTS",
    "InstaPReLU",
    "InstaThreshold",
    "custom_op",
]
