"""What the RTL of the residual-stream plumbing is made of: ports and widths (no I/O).

`flows.codegen.rtl` renders `duplicate_streams(node)` into `hw/templates/duplicate_streams.v.j2`
and `add_streams(node)` into `hw/templates/add_streams.v.j2`. Both kinds have more than one stream
on one side, so they are outside `rtl_kinds.ports` (one input, one output); `stream_ports` names
them. Port naming (besides `clk`, `rst`, synchronous and active high):

* DuplicateStreams: `s_axis_*` in; `m_axis_<i>_*` out for i = 0 .. copies - 1.
* AddStreams: `s_axis_a_*` (input_types[0]) and `s_axis_b_*` (input_types[1]) in; `m_axis_*` out.

Every port carries PE lanes per word, lane 0 in the least significant bits (docs/numerics.md
section 1), element widths from the config's types.

DuplicateStreams is a lockstep fork: each output has its own SKID_WORDS-word skid FIFO and its own
`tready`, and an input word is consumed only when every output FIFO has room; the word then enters
all of them in the same cycle. A consumer that stops reading therefore stalls the fork (and every
other consumer) after SKID_WORDS words. Deadlock rule (docs/insta.md): where the copies re-join
(an AddStreams), the join takes a word of each branch in the same cycle, so the branch whose words
reach the join first (the shortcut) has to hold every word the other branch absorbs before it
delivers its first word to the join (a convolution: about W + 2 rows of its input). The link on the
short branch therefore needs a FIFO of at least that many words (the fork's SKID_WORDS count
towards it); with less, the fork stalls on the full shortcut, the long branch starves and the two
paths deadlock. The fork itself has no knob for this: the depth belongs to the stitched link.

AddStreams takes one word from each input in the same cycle (`s_axis_a_tready` is high only while
`s_axis_b_tvalid` is, and vice versa, with room downstream), adds lane by lane with each element
sign- or zero-extended per its type to the width of `config.output_type` (exact: no wrap, no
saturation; numerics section 6 requantises later, not here) and sustains one word per clock.
"""

from __future__ import annotations

from flows.codegen.rtl_kinds import LayerRTL
from flows.datatypes import Kind
from flows.errors import ConfigError
from flows.graph import Node
from flows.hwmodel.ports import SKID_WORDS, Port
from flows.layers.streams import AddStreams, DuplicateStreams

__all__ = [
    "SKID_WORDS",
    "AddStreams",
    "DuplicateStreams",
    "add_streams",
    "duplicate_streams",
    "stream_ports",
]


def stream_ports(cfg: DuplicateStreams | AddStreams) -> tuple[dict[str, Port], dict[str, Port]]:
    """({input port prefix: Port}, {output port prefix: Port}) in the order of the golden
    function's inputs and outputs."""
    if isinstance(cfg, DuplicateStreams):
        p = Port(cfg.pe, cfg.input_type, cfg.channels, cfg.num_vectors)
        return {"s_axis": p}, {f"m_axis_{i}": p for i in range(cfg.copies)}
    if isinstance(cfg, AddStreams):
        a, b = (Port(cfg.pe, t, cfg.channels, cfg.num_vectors) for t in cfg.input_types)
        return {"s_axis_a": a, "s_axis_b": b}, {
            "m_axis": Port(cfg.pe, cfg.output_type, cfg.channels, cfg.num_vectors)
        }
    raise ConfigError(f"{type(cfg).__name__} is not a stream plumbing kind")


def duplicate_streams(node: Node) -> LayerRTL:
    """DuplicateStreams: no memory; `copies` skid FIFOs written in the same cycle."""
    cfg = node.config
    (inp,) = stream_ports(cfg)[0].values()
    ctx = dict(
        name=cfg.name,
        channels=cfg.channels,
        pe=cfg.pe,
        nv=cfg.num_vectors,
        copies=cfg.copies,
        cycles=cfg.cycles_per_frame,
        in_type=inp.dtype.name,
        w=inp.bits,
        skid=SKID_WORDS,
    )
    return LayerRTL("duplicate_streams.v.j2", ctx)


def add_streams(node: Node) -> LayerRTL:
    """AddStreams: no memory; PE adders of the output type's width."""
    cfg = node.config
    if len(cfg.input_types) != 2:
        raise ConfigError(f"{cfg.name}: AddStreams needs two input types, got {cfg.input_types}")
    if any(t.kind == Kind.BIPOLAR for t in cfg.input_types):
        raise ConfigError(
            f"{cfg.name}: AddStreams RTL takes UINT/INT inputs, got {cfg.input_types[0]} + "
            f"{cfg.input_types[1]}; a BIPOLAR stream has to be requantised to an integer type first"
        )
    (a, b), out = stream_ports(cfg)[0].values(), stream_ports(cfg)[1]["m_axis"]
    ob = out.dtype.bits
    assert ob >= max(a.dtype.bits, b.dtype.bits), "the sum type holds both input ranges"
    ctx = dict(
        name=cfg.name,
        channels=cfg.channels,
        pe=cfg.pe,
        nv=cfg.num_vectors,
        cycles=cfg.cycles_per_frame,
        a_type=a.dtype.name,
        b_type=b.dtype.name,
        out_type=out.dtype.name,
        ab=a.dtype.bits,
        bb=b.dtype.bits,
        ob=ob,
        a_signed=a.dtype.signed,
        b_signed=b.dtype.signed,
        a_w=a.bits,
        b_w=b.bits,
        out_w=out.bits,
    )
    return LayerRTL("add_streams.v.j2", ctx)
