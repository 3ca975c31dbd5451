"""ShortcutFromInstaBuffer: other consumers of an InstaThreshold's input read its delayed copy
(output 1) instead: the shortcut is then delayed by the same frame as the block's other path, so
the residual add cannot deadlock and no second frame buffer is needed (docs/insta.md)."""

from __future__ import annotations

from flows.graph import DataflowGraph
from flows.layers import InstaThreshold
from flows.transforms.base import Transformation
from flows.transforms.edits import retarget


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
                retarget(u, x, delayed)
            return True
        return False
