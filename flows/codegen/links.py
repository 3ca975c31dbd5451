"""How `emit_stitched` connects the layers of a DAG: ports per node, links, FIFO depths (no I/O).

Every stream between two nodes becomes a Link with a `stream_fifo` of `fifo_depth` words, or a
plain wire where both its layers idle at least half the frame (`LINK_SLACK`). Three kinds of
link are deeper, per a deadlock rule (docs/hardware.md, "Stitching a DAG"):

* **Shortcut of a fork/join pair.** A fork is a kind whose outputs leave in lockstep
  (`LayerKind.fork`: DuplicateStreams; InstaThreshold, whose binary output and delayed input are
  the two paths of an INSTA block); the join (`LayerKind.join`: AddStreams) takes one word of
  each input in the same cycle. The link into the join on each branch holds `shortcut_words` of
  the other branch (every buffer on it), unless that branch has no node (a bare shortcut).
  A fork whose delayed output is a tap of its DRAM ring (`DramBuffer.taps`: an INSTA-Th with
  its buffer in DRAM) is no longer lockstep: its two readers of the ring move independently,
  and the ring holds the backlog instead (`tap_words`), so neither link into the join is
  deepened.
* **Emit burst** (a producer that gives `LayerKind.emit_burst_words` back to back, then pauses:
  a pool with stride, one output row per window row): the link behind holds one burst plus
  `fifo_depth`, so the consumer is not starved in the pause; waived where both layers are
  quiet (`quiet_burst`). Found on insta_resnet20's downsampling unit, whose AvgPool feeds its
  IntMVAU at 2,048 of the unit's 2,062 cycles: an 8-word link cost 186 cycles a frame.
* **Side stream** (a `Port.side` input: the reuse InstaPReLU's statistic S from its block's
  INSTA-Th): `side_link_words`.
* **Burst** (a consumer that reads `LayerKind.burst_words` back to back, then pauses: an MVAU's
  input vector, fed by a producer slower than a word per cycle, e.g. an up-converting width
  converter): `burst_link_words`, so that the burst comes out of the FIFO at full rate. This
  rule is for throughput, not deadlock, and is waived where both layers would stay quiet even
  with every burst at the producer's rate (`quiet_burst`); a shortcut counts every link on its
  branch at its depth.

Ports are the kinds' (`LayerKind.ports`), named as the templates name them.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from flows.codegen.rtl import main_ports
from flows.errors import ConfigError, FoldingError, UnsupportedPatternError
from flows.graph import DataflowGraph, Node
from flows.hwmodel.ports import SKID_WORDS, Port
from flows.layers import kind_of
from flows.layers.registry import INPUTS

# Words of FIFO between two stitched layers (the burst and deadlock rules deepen the links that
# need more). 4: at 2 an insta_resnet20 INSTA unit's input ran ahead of its output in the
# steady-state bench (2,232 against 2,304 cycles per frame), at 4 every stitched bench meets its
# estimate; 8 (the first choice) cost insta_resnet18 about 1.8k LUT more on its ~150 links (in
# the estimate, flows.hwmodel.fifo).
DEFAULT_FIFO_DEPTH = 4
MAX_FIFO_DEPTH = 4096

# A quiet link: both its layers take at most 1/LINK_SLACK of the slowest layer's cycles per
# frame. It is a wire (depth 0, WIRE_DEPTH) instead of DEFAULT_FIFO_DEPTH words: the producer's
# own 2-word output skid drives it from registers, and the consumer's tready comes from its
# registers too (every kind's rule), so no combinational path crosses it; the bubbles a shallow
# link leaves (3 % more cycles on the insta_resnet20 unit that set the depth of 4) fall in time
# those layers idle anyway. On insta_resnet18's cheapest folding 121 of its 123 plain links are
# quiet: 6.1k LUT sites of rings in the estimate, none as wires.
LINK_SLACK = 2
WIRE_DEPTH = 0

# Words a layer can hold besides its input buffer: its pipeline registers plus its 2-word output
# skid FIFO ("a few words"; an XnorMVAU adds its popcount stages, `LayerKind.extra_stages`).
NODE_WORDS = 8

# Frames of a side stream the link holds (side_link_words).
SIDE_FRAMES = 2

__all__ = [
    "DEFAULT_FIFO_DEPTH",
    "LINK_SLACK",
    "MAX_FIFO_DEPTH",
    "WIRE_DEPTH",
    "NODE_WORDS",
    "Link",
    "node_ports",
    "plan_links",
    "burst_link_words",
    "quiet_burst",
    "shortcut_words",
    "side_link_words",
    "tap_words",
]


def node_ports(n: Node) -> tuple[list[tuple[str, str, Port]], list[tuple[str, str, Port]]]:
    """([(stream, port name, Port)] of the inputs, same of the outputs) in the node's order."""
    ins, outs = kind_of(n.config).ports(n.config)
    for what, streams, named in (("input", n.inputs, ins), ("output", n.outputs, outs)):
        if len(streams) != len(named):
            raise ConfigError(
                f"{n.name} ({n.kind}) has {len(streams)} {what} stream(s) {streams} but its RTL "
                f"has {len(named)} {what} port(s) {list(named)}"
            )
    return (
        [(s, k, p) for s, (k, p) in zip(n.inputs, ins.items(), strict=True)],
        [(s, k, p) for s, (k, p) in zip(n.outputs, outs.items(), strict=True)],
    )


def _check_link(a: Node, out: Port, b: Node, inp: Port) -> None:
    if out.lanes != inp.lanes:
        fold = kind_of(b.config).lane_field(INPUTS)
        raise FoldingError(
            f"{a.name} -> {b.name}: {a.name} writes {out.lanes} lanes per word but {b.name} "
            f"reads {inp.lanes} ({fold.upper()}={inp.lanes}); fold the graph with auto_fold or "
            "apply_folding (flows.folding), which insert a width converter on such a stream"
        )
    if out.dtype != inp.dtype:
        raise ConfigError(
            f"{a.name} -> {b.name}: {a.name} produces {out.dtype} but {b.name} reads "
            f"{inp.dtype}; the element types of a link must be equal"
        )
    if (out.channels, out.vectors) != (inp.channels, inp.vectors):
        raise ConfigError(
            f"{a.name} -> {b.name}: {a.name} produces {out.vectors} x {out.channels} "
            f"per frame but {b.name} expects {inp.vectors} x {inp.channels}"
        )


def oversized_links(graph: DataflowGraph, fifo_depth: int = DEFAULT_FIFO_DEPTH) -> dict[str, int]:
    """{stream: words} of the links whose rule asks for more than MAX_FIFO_DEPTH words: they
    cannot be on-chip FIFOs, and go to the DRAM tier where the target has one."""
    order = _topological(graph)
    deep = _deepened(graph, order, fifo_depth)
    return {s: _pow2(w) for s, w in deep.items() if _pow2(w) > MAX_FIFO_DEPTH}


def _pow2(n: int) -> int:
    return 1 << max(1, (n - 1).bit_length())


def _held(words: int, per_vector: int, fork_per_vector: int) -> int:
    """Fork words a buffer of `words` words (vectors of `per_vector` words, each standing for
    `fork_per_vector` fork words) can stand for: every vector it touches, partial ones included."""
    return (math.ceil(words / per_vector) + 1) * fork_per_vector


def shortcut_words(
    fork: Node,
    branch: list[Node],
    fifo_depth: int = DEFAULT_FIFO_DEPTH,
    link_depths: Mapping[str, int] | None = None,
) -> int:
    """Deadlock rule: fork words the `branch` (its nodes in order from `fork` to the join) can
    absorb before its first word reaches the join, computed conservatively.

    The fork pushes a word into both branches at once and the join pops both at once, so the
    other branch holds exactly this branch's backlog, measured in fork words; that backlog is at
    most what the branch's buffers can hold. Buffers (each with words per vector `v` at its
    place, counted as `(ceil(words / v) + 1) * r * F` fork words, where F = fork channels / PE
    words per fork vector and r = ceil(fork vectors / vectors per frame at that place)):

    * the fork's SKID_WORDS skid FIFO of the branch (every fork's outputs end in one), a
      link FIFO in front of every branch node (`link_depths` of its input stream, else
      `fifo_depth`) and a `fifo_depth` one in front of the join;
    * per node, NODE_WORDS of pipeline and output skid plus its `extra_stages`, and its input
      buffer (`LayerKind.buffer_words`).

    The link into the join on the other branch gets `max(fifo_depth, _pow2(this))` words.
    """
    fcfg = fork.config
    fork_nv, fork_v = fcfg.num_vectors, fcfg.channels // fcfg.pe

    def held(words: int, port: Port) -> int:
        r = math.ceil(fork_nv / port.vectors)
        return _held(words, port.channels // port.lanes, r * fork_v)

    total = held(SKID_WORDS, main_ports(fcfg)[0])
    for n in branch:
        kind, c = kind_of(n.config), n.config
        inp, out = main_ports(c)
        link = (link_depths or {}).get(n.inputs[0], fifo_depth)
        total += held(max(link, fifo_depth), inp)  # the link FIFO in front of n
        if words := kind.buffer_words(c):
            total += held(words, inp)
        total += held(NODE_WORDS + kind.extra_stages(c), out)
    port = main_ports(branch[-1].config)[1] if branch else main_ports(fcfg)[0]
    return total + held(fifo_depth, port)


def side_link_words(port: Port) -> int:
    """Side-stream rule: the link holds SIDE_FRAMES frames of the side stream (words each).

    Never a deadlock, at any depth: S of frame k leaves InstaThreshold when frame k is complete
    there (its last vector of frame k + 1 waits only until S of frame k has left the snapshot);
    the reuse InstaPReLU takes S of frame k once it has read S of frame k - 1, which depends only
    on frames before k, so no wait closes a cycle. The depth is for throughput: InstaThreshold
    stalls if S of frame k finds the link full, and the PReLU takes S one frame ahead at most,
    so two frames of S keep the INSTA-Th from ever waiting on it (measured, tests/hw)."""
    return SIDE_FRAMES * port.words


def burst_link_words(burst: int, producer: Node, port: Port, fifo_depth: int) -> int:
    """Burst rule: words a link must hold so that its consumer reads `burst` words back to back
    although the producer delivers only r = words per frame / cycles per frame < 1 word per
    cycle: filled during the consumer's pause, the FIFO covers the burst's shortfall
    burst * (1 - r), plus `fifo_depth` for the pipeline between them. 0 where r = 1 (no rule).
    The consumer's pause refills it as long as the producer is no slower per frame."""
    r = port.words / producer.config.cycles_per_frame
    if not burst or r >= 1:
        return 0
    return math.ceil(burst * (1 - r)) + fifo_depth


def quiet_burst(consumer: Node, producer: Node, port: Port, slowest: int) -> bool:
    """Whether a burst link can keep its plain depth: even if every burst of the consumer came
    at the producer's rate, both would stay within 1/LINK_SLACK of the slowest layer's cycles
    per frame (the quiet-link rule). Bound: the consumer's read phases take at most the
    producer's frame (its cycles per frame) and its pauses their own time (its cycles per frame
    less the port's words), so neither takes more than their sum."""
    stretched = consumer.config.cycles_per_frame + producer.config.cycles_per_frame - port.words
    return LINK_SLACK * stretched <= slowest


@dataclass(frozen=True)
class Link:
    """One stream of the stitched graph: producer port -> consumer port, FIFO depth in words.

    `src`/`dst` are None at the graph input/output (wired straight to the top-level port, no
    FIFO); `shortcut_words` is what a rule requires of a deepened link (the shortcut, side-stream
    or burst rule), else 0; `side` marks a side stream (its consumer port is a `Port.side`)."""

    stream: str
    src: Node | None
    src_port: str
    dst: Node | None
    dst_port: str
    width: int
    depth: int
    shortcut_words: int = 0
    side: bool = False
    dram: bool = False  # a FIFO in the external DRAM tier (`oversized_links`), not on chip


def _trace_branch(graph: DataflowGraph, join: Node, stream: str) -> tuple[Node, list[Node]]:
    """(fork, branch nodes in order from the fork) behind the join's input `stream`."""
    branch, cur = [], stream
    while True:
        p = graph.producer(cur)
        if p is None:
            raise UnsupportedPatternError(
                f"emit_stitched: input {stream!r} of the join {join.name} does not come from a "
                "fork (DuplicateStreams or InstaThreshold; it reaches the graph input); add the "
                "fork explicitly"
            )
        if kind_of(p.config).fork:
            return p, branch[::-1]
        if len(p.inputs) != 1:
            raise UnsupportedPatternError(
                f"emit_stitched: the branch into {join.name} through {stream!r} contains the "
                f"join {p.name}; nested residual blocks are not supported yet"
            )
        branch.append(p)
        cur = p.inputs[0]


def tapped(n: Node) -> bool:
    """Whether `n` serves an output from a tap of its DRAM ring (`DramBuffer.taps`)."""
    return any(b.taps for b in kind_of(n.config).dram_buffers(n.config))


def tap_words(graph: DataflowGraph, fifo_depth: int = DEFAULT_FIFO_DEPTH) -> dict[str, int]:
    """{fork: words} the DRAM ring of each tapped fork holds besides its buffer: the larger
    backlog (`shortcut_words`) of its join's two branches.

    Why that is enough: the fork's own reader needs its buffer's words (`buffer_words`) written
    ahead of what it reads, and the tap trails it by at most the other branch's backlog (the join
    waits for the slower branch), or leads it by at most its own; a ring of buffer plus backlog
    words therefore never stops its writer while a reader waits for a word only the writer can
    bring. The tier keeps its write gate at the slowest reader (flows/codegen/stream_engine.py)."""
    rings: dict[str, int] = {}
    _deepened(graph, _topological(graph), fifo_depth, rings)
    return rings


def _deepened(
    graph: DataflowGraph, order: list[Node], fifo_depth: int, rings: dict[str, int] | None = None
) -> dict[str, int]:
    """{stream: words} of the links a rule deepens (bursts, side streams, shortcuts); the
    backlogs of tapped forks go to `rings` instead ({fork: words})."""
    deep: dict[str, int] = {}
    slowest = max(n.config.cycles_per_frame for n in order)
    for n in order:
        burst = kind_of(n.config).burst_words(n.config)
        for stream, _, port in node_ports(n)[0] if burst else []:
            p = graph.producer(stream)
            if p is None or quiet_burst(n, p, port, slowest):
                continue  # (a quiet burst: both layers have the time, `quiet_burst`)
            if words := burst_link_words(burst, p, port, fifo_depth):
                deep[stream] = words
    for n in order:  # emit bursts: the link behind holds one, unless both layers are quiet
        emit = kind_of(n.config).emit_burst_words(n.config)
        for stream, _, port in node_ports(n)[1] if emit else []:
            for c in graph.consumers(stream):
                if not quiet_burst(c, n, port, slowest):
                    deep[stream] = max(deep.get(stream, 0), emit + fifo_depth)
    bursts = {s: max(fifo_depth, _pow2(w)) for s, w in deep.items()}  # the links' depths
    for j in order:
        for stream, _, port in node_ports(j)[0]:
            if port.side:
                deep[stream] = max(deep.get(stream, 0), side_link_words(port))
        if not kind_of(j.config).join:
            continue
        (fa, ba), (fb, bb) = (_trace_branch(graph, j, s) for s in j.inputs)
        if fa is not fb:
            raise UnsupportedPatternError(
                f"emit_stitched: the inputs of the join {j.name} come from different forks "
                f"({fa.name}, {fb.name}); only fork/join pairs are supported"
            )
        # the link into the join on each branch holds the other branch's backlog, converted
        # from fork words into words of that link (a downsampling branch's words stand for
        # several fork words each); a bare shortcut (no node) has no backlog to hold
        tap = tapped(fa)  # the fork's DRAM ring holds the backlog (`tap_words`)
        if tap and rings is None:
            continue
        backlogs = [(stream, shortcut_words(fa, other, fifo_depth, bursts))
                    for stream, other in ((j.inputs[0], bb), (j.inputs[1], ba)) if other]  # fmt: skip
        if tap:
            rings[fa.name] = max([rings.get(fa.name, 0)] + [w for _, w in backlogs])
            continue
        for stream, need in backlogs:
            deep[stream] = max(deep.get(stream, 0), _link_words(fa, j, need))
    return deep


def _link_words(fork: Node, join: Node, fork_words: int) -> int:
    """Words of a link into `join` that stand for `fork_words` words at the fork (rounded up)."""
    f, c = fork.config, join.config
    per_fork = f.num_vectors * f.channels // f.pe
    per_join = c.num_vectors * c.channels // c.pe
    return math.ceil(fork_words * per_join / per_fork)


def _check_consumers(graph: DataflowGraph, users: dict, producers: dict) -> None:
    (gin,), (gout,) = graph.inputs, graph.outputs
    for s, us in users.items():
        if s == gout:
            if us:
                raise UnsupportedPatternError(
                    f"emit_stitched: the graph output {s!r} is also read by "
                    f"{', '.join(u[0].name for u in us)}; fork it with a DuplicateStreams"
                )
            if s == gin:
                raise UnsupportedPatternError("emit_stitched: the graph input is its output")
        elif len(us) != 1:
            who = f"read by {', '.join(u[0].name for u in us)}" if us else "read by no node"
            raise UnsupportedPatternError(
                f"emit_stitched: stream {s!r} is {who}; every stream but the graph output needs "
                "exactly one consumer (a fork needs a DuplicateStreams node, every copy consumed)"
            )
    if gout not in producers:
        raise UnsupportedPatternError(f"emit_stitched: no node produces the output {gout!r}")


def _topological(graph: DataflowGraph) -> list[Node]:
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise UnsupportedPatternError(
            f"emit_stitched needs one graph input and one output, got {len(graph.inputs)} and "
            f"{len(graph.outputs)}; multi-stream top levels are future work"
        )
    order = graph.topological()
    if not order:
        raise UnsupportedPatternError("emit_stitched: the graph has no nodes")
    names = [n.name for n in order]
    if len(set(names)) != len(names):
        raise ConfigError(f"emit_stitched: node names must be unique, got {names}")
    return order


def plan_links(
    graph: DataflowGraph,
    fifo_depth: int = DEFAULT_FIFO_DEPTH,
    depths: Mapping[str, int] | None = None,
    dram_links: Collection[str] = (),
) -> list[Link]:
    """Every stream of a single-input, single-output DAG as a Link, in topological order of the
    consumers; checks fan-out (a fork needs DuplicateStreams or a multi-output node), widths and
    types, and deepens the links of the deadlock rules. `depths` ({stream: words}) overrides a
    link's depth, rules included: for tests that show what happens below a rule. The streams in
    `dram_links` become FIFOs in the DRAM tier, as deep as their rule asks and beyond
    MAX_FIFO_DEPTH (docs/dram.md)."""
    order = _topological(graph)
    producers = {s: (n, k, p) for n in order for s, k, p in node_ports(n)[1]}
    (gin,), (gout,) = graph.inputs, graph.outputs
    users = {s: [] for s in [gin, *producers]}
    for n in order:
        for s, k, p in node_ports(n)[0]:
            users.setdefault(s, []).append((n, k, p))
    _check_consumers(graph, users, producers)
    deep = _deepened(graph, order, fifo_depth)
    slowest = max(n.config.cycles_per_frame for n in order)
    depths = dict(depths or {})
    unknown = set(depths) - set(users)
    if unknown:
        raise ConfigError(f"emit_stitched: depths names unknown streams {sorted(unknown)}")

    links = []
    for s, us in users.items():
        if not us:
            continue
        (dst, dport, dp), src = us[0], producers.get(s)
        if src is None:
            links.append(Link(s, None, "s_axis", dst, dport, dp.bits, 0))
            continue
        a, aport, ap = src
        _check_link(a, ap, dst, dp)
        need = deep.get(s, 0)
        busiest = max(a.config.cycles_per_frame, dst.config.cycles_per_frame)
        plain = WIRE_DEPTH if LINK_SLACK * busiest <= slowest else fifo_depth  # a quiet link
        depth = depths.get(s, max(fifo_depth, _pow2(need)) if need else plain)
        if s in dram_links:
            links.append(Link(s, a, aport, dst, dport, dp.bits, depth, need, dp.side, True))
            continue
        if depth > MAX_FIFO_DEPTH or (depth < 2 and depth != WIRE_DEPTH):
            raise ConfigError(
                f"emit_stitched: the link {s!r} into {dst.name} needs {depth} words (by the "
                f"burst, side-stream or deadlock rule: {need}); a link holds 2..{MAX_FIFO_DEPTH} "
                "words on chip: build for a target with a DRAM tier (it takes the link) or fold "
                "for fewer words per row"
            )
        links.append(Link(s, a, aport, dst, dport, dp.bits, depth, need, dp.side))
    a, aport, ap = producers[gout]
    links.append(Link(gout, a, aport, None, "m_axis", ap.bits, 0))
    return links
