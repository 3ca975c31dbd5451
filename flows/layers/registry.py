"""The explicit registry of layer kinds: one `LayerKind` record per kind names everything the
flow knows about it (docs/architecture.md, section 3).

A kind is a frozen config dataclass (shapes, widths, folding; validated on construction) and a
pure numpy golden function `execute(cfg, params, inputs) -> outputs` over semantic integer values.
A hardware kind adds, as plain functions of its config: its stream ports, which config fields
fold which ports, the words it buffers, its RTL (a template and the builder of its parameters),
optionally an HLS kernel, and its estimator. Composition, not inheritance: `flows.layers` builds
one record per kind and registers them all in one place (`flows/layers/__init__.py`); the code
generators, the estimator, the folder, the stitcher and the type inference read the record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flows.datatypes import DataType
from flows.errors import ConfigError
from flows.hwmodel.ports import Port
from flows.hwmodel.resources import Estimate
from flows.layers.backends import HlsKernel, LayerRTL

Golden = Callable[[Any, dict[str, np.ndarray], list[np.ndarray]], list[np.ndarray]]
Ports = tuple[dict[str, Port], dict[str, Port]]

# Which ports a folding field sets (`Fold.ports`): the inputs, the outputs or all of them.
INPUTS, OUTPUTS, ALL = "inputs", "outputs", "all"


@dataclass(frozen=True)
class Fold:
    """A folding field of a config (`pe`, `simd`): it sets the lanes per word of `ports` (INPUTS,
    OUTPUTS or ALL of the kind's ports) and must divide the config's dimension `divides`. Where
    several fields set a port, its lanes are their product (a SlidingWindow's output: `pe`
    channels x `positions` window positions)."""

    ports: str = ALL
    divides: str = "channels"

    def sets(self, side: str) -> bool:
        """Whether the field sets the lanes of `side` (INPUTS or OUTPUTS)."""
        return self.ports in (side, ALL)


def _zero(cfg: Any) -> int:
    return 0


@dataclass(frozen=True)
class DramBuffer:
    """A layer's buffer in external DRAM: a FIFO of `words` words of `width` bits, written from
    the layer's `m_axis_<port>` and read back in order into its `s_axis_<port>`; `per_frame` words
    pass through it each frame. `taps` names output ports of the layer that the tier serves from
    the same ring, read a second time (an INSTA-Th's delayed input for the residual shortcut):
    the layer's RTL has no such port, the stitcher wires the tier's tap in its place, and the
    ring also holds the backlog the port's consumer may leave (`flows.codegen.links.tap_words`)."""

    port: str
    width: int
    words: int
    per_frame: int
    taps: tuple[str, ...] = ()


@dataclass(frozen=True)
class DramRegion:
    """A layer's constant data in external DRAM (an MVAU's weights): `words` words of `width`
    bits, the memory image `image` of the layer's RTL (`LayerRTL.memories`), loaded once and read
    in order into the layer's `s_axis_<port>`, `reads_per_frame` times per frame."""

    port: str
    width: int
    words: int
    reads_per_frame: int
    image: str


@dataclass(frozen=True)
class LayerKind:
    """Everything the flow knows about one kind of layer.

    Numerics (every kind):
      config (its class name is the kind's `name`), execute; `output_types(cfg, input_types)`
      infers the output stream types (None: the config's `output_types`, else its `output_type`
      on every output); `exact`:
      False where the integer arithmetic differs from the float model by construction
      (docs/numerics.md sections 6, 9, 10), which is how the agreement check explains a flip.

    Hardware (None on a transient kind, which streamlining must remove):
      ports(cfg) -> ({input port: Port}, {output port: Port}), in the golden function's order;
      folds: config field -> Fold, the ports whose lanes the field sets and the dimension it
      divides (a port no field sets carries one lane: LabelSelect's output);
      fork: the outputs leave in lockstep (a fork of the stitcher's deadlock rule);
      join: takes one word of every input in the same cycle;
      styles: config field -> the values the design-space explorer may choose for it (an
      IntMVAU's `mult_style`: DSP or LUT multipliers); the config refuses the ones it cannot take;
      buffer_words(cfg): input words taken in before the output catches up;
      burst_words(cfg): input words taken back to back, one per cycle, before a pause in which
      none are (an MVAU with NF > 1: one vector of SF words, then NF - 1 replays); where the
      producer delivers slower than a word per cycle, the link in front holds them (the
      stitcher's burst rule);
      emit_burst_words(cfg): output words given back to back before a pause in which none are
      (a pool with stride > 1: one output row during the last input row of its windows, then
      nothing for the other stride - 1 rows); the link behind holds them (the stitcher's emit
      burst rule);
      extra_stages(cfg): pipeline words beyond the stitcher's NODE_WORDS;
      dram_buffers(cfg) -> [DramBuffer]: the layer's buffers placed in external DRAM (its
      `buffer` field says "dram"); each adds a stream pair `m_axis_<port>` (words into the buffer)
      and `s_axis_<port>` (words back, in order) that the stitcher brings out of accel_top to the
      DRAM tier (docs/dram.md);
      dram_regions(cfg) -> [DramRegion]: the layer's constant data placed in DRAM (an MVAU's
      `weights` field says "dram"); each adds an input stream `s_axis_<port>` fed by the tier;
      places: the config fields the memory tier decides (their dataclass defaults are the
      on-chip form); dram_forms(cfg) -> [{field: value}]: the assignments of those fields that
      put the layer's buffer or weights in DRAM, for the tier to choose from (flows/memtier.py);
      template and rtl(cfg, params) -> LayerRTL: the Verilog template and its parameters;
      hls(cfg, params) -> HlsKernel, with hls_kernels the kernel templates of hls/include it may
      call; estimate(cfg, family) -> Estimate.
    """

    config: type
    execute: Golden
    output_types: Callable[[Any, list[DataType | None]], Sequence[DataType | None]] | None = None
    exact: bool = True
    ports: Callable[[Any], Ports] | None = None
    folds: Mapping[str, Fold] = field(default_factory=lambda: {"pe": Fold()})
    styles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fork: bool = False
    join: bool = False
    buffer_words: Callable[[Any], int] = _zero
    burst_words: Callable[[Any], int] = _zero
    emit_burst_words: Callable[[Any], int] = _zero
    extra_stages: Callable[[Any], int] = _zero
    dram_buffers: Callable[[Any], list[DramBuffer]] = lambda cfg: []
    dram_regions: Callable[[Any], list[DramRegion]] = lambda cfg: []
    places: tuple[str, ...] = ()  # config fields the memory tier decides (`buffer`, `weights`)
    dram_forms: Callable[[Any], list[dict]] = lambda cfg: []
    template: str | None = None
    rtl: Callable[[Any, dict], LayerRTL] | None = None
    hls: Callable[[Any, dict], HlsKernel] | None = None
    hls_kernels: tuple[str, ...] = ()
    estimate: Callable[[Any, str], Estimate] | None = None

    @property
    def name(self) -> str:
        """The kind's name: its config class's (graph nodes and the ONNX view use it)."""
        return self.config.__name__

    @property
    def hardware(self) -> bool:
        """A kind the hardware has: it has ports (transient kinds have none)."""
        return self.ports is not None

    @property
    def decisions(self) -> tuple[str, ...]:
        """The config fields the flow decides per layer: the folding fields and styles (the
        folder's), then the places of its buffers (the memory tier's, flows/memtier.py)."""
        return (*self.folds, *self.styles, *self.places)

    def lane_field(self, side: str) -> str | None:
        """The folding field that sets the lanes of the inputs (side INPUTS) or the outputs
        (OUTPUTS); None where no field does (those ports carry one lane)."""
        return next((f for f, fold in self.folds.items() if fold.sets(side)), None)

    def missing(self) -> list[str]:
        """What a hardware kind lacks of the record (empty when complete)."""
        if not self.hardware:
            return []
        need = ("template", "rtl", "estimate")
        gaps = [f for f in need if getattr(self, f) is None]
        if not self.folds:
            gaps.append("folds")
        if self.hls is not None and not self.hls_kernels:
            gaps.append("hls_kernels")
        return gaps


_KINDS: dict[type, LayerKind] = {}


def register(kind: LayerKind) -> LayerKind:
    if kind.config in _KINDS:
        raise ConfigError(f"layer kind {kind.name} registered twice")
    _KINDS[kind.config] = kind
    return kind


def kind_of(cfg: object) -> LayerKind:
    try:
        return _KINDS[type(cfg)]
    except KeyError:
        raise ConfigError(f"{type(cfg).__name__} is not a registered layer kind") from None


def all_kinds() -> list[LayerKind]:
    return list(_KINDS.values())
