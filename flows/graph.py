"""The integer dataflow graph: a DAG of layer nodes joined by named streams.

A node has a config (a registered layer kind), constant parameters (numpy arrays), named input
streams and named output streams. A stream has one producer (a node or a graph input) and any number
of consumers; several inputs/outputs per node give residual forks and joins, and a small per-frame
side tensor (e.g. INSTA statistics reused by a later module) is simply another stream with its own
shape. Tensors are (frames, num_vectors, channels) arrays of semantic values.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

import numpy as np

from flows.datatypes import DataType
from flows.errors import ConfigError, UnsupportedPatternError
from flows.layers.mvau.golden import xnor_mvau_windowed_execute
from flows.layers.registry import kind_of


@dataclass(frozen=True)
class Stream:
    """A named edge: element type (None while still real-valued) and per-frame shape."""

    name: str
    dtype: DataType | None
    shape: tuple[int, int]  # (num_vectors, channels)


@dataclass
class Node:
    """One layer instance."""

    config: object
    inputs: list[str]
    outputs: list[str]
    params: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def kind(self) -> str:
        return kind_of(self.config).name


class DataflowGraph:
    """A DAG of nodes; `inputs`/`outputs` name the graph's boundary streams."""

    def __init__(self, inputs: list[Stream], outputs: list[str]) -> None:
        self.streams: dict[str, Stream] = {s.name: s for s in inputs}
        self.inputs = [s.name for s in inputs]
        self.outputs = list(outputs)
        self.nodes: list[Node] = []

    # --- construction -------------------------------------------------------------------------
    def add(self, config: object, inputs: list[str], outputs: list[Stream], **params) -> Node:
        """Append a node; its inputs must already exist (so insertion order is topological)."""
        for name in inputs:
            if name not in self.streams:
                raise ConfigError(f"{config.name}: input stream {name!r} does not exist")
        for s in outputs:
            if s.name in self.streams:
                raise ConfigError(f"{config.name}: stream {s.name!r} already has a producer")
            self.streams[s.name] = s
        node = Node(config, list(inputs), [s.name for s in outputs], dict(params))
        self.nodes.append(node)
        return node

    def copy(self) -> DataflowGraph:
        return copy.deepcopy(self)

    # --- queries ------------------------------------------------------------------------------
    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def producer(self, stream: str) -> Node | None:
        for n in self.nodes:
            if stream in n.outputs:
                return n
        return None

    def consumers(self, stream: str) -> list[Node]:
        return [n for n in self.nodes if stream in n.inputs]

    def single_consumer(self, stream: str) -> Node | None:
        """The only consumer of `stream`, or None if it forks or is a graph output."""
        users = self.consumers(stream)
        if len(users) != 1 or stream in self.outputs:
            return None
        return users[0]

    def topological(self) -> list[Node]:
        """Nodes in dependency order; raises on a cycle or a dangling stream."""
        ready = set(self.inputs)
        order, pending = [], list(self.nodes)
        while pending:
            progress = [n for n in pending if all(i in ready for i in n.inputs)]
            if not progress:
                names = ", ".join(n.name for n in pending)
                raise UnsupportedPatternError(f"graph has a cycle or a missing stream at: {names}")
            for n in progress:
                order.append(n)
                ready.update(n.outputs)
                pending.remove(n)
        return order

    def unique_name(self, base: str) -> str:
        taken = {n.name for n in self.nodes} | set(self.streams)
        i, name = 0, base
        while name in taken:
            i += 1
            name = f"{base}_{i}"
        return name

    def typed_config(self, node: Node) -> object:
        """The node's config with its input stream's type where the config carries an optional
        `input_type` not set yet (window and pool kinds: their RTL and estimators need it)."""
        t = self.streams[node.inputs[0]].dtype
        if getattr(node.config, "input_type", False) is None and t is not None:
            return replace(node.config, input_type=t)
        return node.config

    # --- rewriting ----------------------------------------------------------------------------
    def replace_config(self, node: Node, **changes) -> None:
        node.config = replace(node.config, **changes)

    def set_stream(self, stream: Stream) -> None:
        self.streams[stream.name] = stream

    def sort(self) -> None:
        self.nodes = self.topological()

    # --- execution ----------------------------------------------------------------------------
    def execute(
        self, feeds: dict[str, np.ndarray], keep_all: bool = False
    ) -> dict[str, np.ndarray]:
        """Run every node's golden function; returns the graph outputs (or every stream).

        Unless `keep_all`, a SlidingWindow whose only consumer is an XnorMVAU runs fused with it
        (`xnor_mvau_windowed_execute`: the same integers, no int64 windows in between), and a
        stream is dropped once its last consumer has run."""
        values = {}
        for name in self.inputs:
            if name not in feeds:
                raise ConfigError(f"missing graph input {name!r}")
            values[name] = np.asarray(feeds[name])
        order = self.topological()
        fused = {} if keep_all else _windows_into_xnor(self, order)
        skipped = {window.name for window in fused.values()}
        pending = dict.fromkeys(self.streams, 0)  # consumers still to run, per stream
        for n in order:
            for i in n.inputs:
                pending[i] += 1
        for n in order:
            if n.name in skipped:
                continue
            if n.name in fused:
                used = fused[n.name].inputs
                window = fused[n.name].config
                results = xnor_mvau_windowed_execute(window, n.config, n.params, values[used[0]])
            else:
                used = n.inputs
                results = kind_of(n.config).execute(n.config, n.params, [values[i] for i in used])
            values.update(zip(n.outputs, results, strict=True))
            for i in used:
                pending[i] -= 1
                if not keep_all and pending[i] == 0 and i not in self.outputs:
                    del values[i]
        if keep_all:
            return values
        return {o: values[o] for o in self.outputs}

    def run(self, x: np.ndarray) -> np.ndarray:
        """Single-input, single-output convenience: frames in, first output out."""
        return self.execute({self.inputs[0]: x})[self.outputs[0]]

    def hardware_ready(self) -> None:
        """Raise unless every node is a hardware layer kind with integer streams."""
        for n in self.nodes:
            if not kind_of(n.config).hardware:
                raise UnsupportedPatternError(
                    f"node {n.name} ({n.kind}) was not lowered to a hardware layer; "
                    "the streamlining steps could not absorb it"
                )
        for s in self.streams.values():
            if s.dtype is None:
                raise UnsupportedPatternError(
                    f"stream {s.name} is still real-valued after lowering"
                )


def _windows_into_xnor(graph: DataflowGraph, order: list[Node]) -> dict[str, Node]:
    """XnorMVAU name -> the SlidingWindow node that feeds it and nothing else."""
    pairs = {}
    for n in order:
        if n.kind != "XnorMVAU":
            continue
        window = graph.producer(n.inputs[0])
        if window is not None and window.kind == "SlidingWindow":
            if graph.single_consumer(window.outputs[0]) is n:
                pairs[n.name] = window
    return pairs
