"""The stitched top level `accel_top`: every layer of a DAG and a FIFO on every link.

`emit_stitched` stitches a DAG with one graph input and one graph output: every stream between
two nodes becomes a wire bundle and a `stream_fifo` of `fifo_depth` words (default
DEFAULT_FIFO_DEPTH = 4) from its producer's port to its consumer's port (the kinds' ports). The
shortcut link of a residual fork/join pair and a side stream are deeper, per the deadlock rules
of `flows.codegen.links` (docs/hardware.md). Width converters are ordinary nodes of the graph
(`flows.folding.insert_width_converters` puts them in); a link whose ends still differ in lanes
is refused (FoldingError), and so are several graph inputs/outputs (UnsupportedPatternError).

A layer buffer placed in DRAM (`LayerKind.dram_buffers`) becomes a pair of accel_top ports,
`<layer>_<port>_m_axis_*` (words to the buffer) and `<layer>_<port>_s_axis_*` (words back), each
behind a skid `stream_fifo` so that neither side's ready reaches the other combinationally;
`dram_buffers(graph)` lists them for the DRAM tier (flows/codegen/dram_tier.py). A region (constant
data read from DRAM) is wired straight to its layer's input: the tier's staging FIFO drives it
from registers. A link too deep for the chip goes the same way as a buffer with `dram_links`, its
ports named by its consumer (`link_<consumer>_in*`). An output a layer serves from a tap of its
DRAM ring (`DramBuffer.taps`: an INSTA-Th's delayed input) is not a port of the layer: accel_top
takes it from the tier as `<layer>_<buffer>_tap<i>_s_axis_*`, wired straight into the stream's
link (the tier's staging FIFO drives it from registers, as a region's), and the ring holds the
shortcut's backlog (`links.tap_words`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from flows.codegen.links import (
    DEFAULT_FIFO_DEPTH,
    MAX_FIFO_DEPTH,
    Link,
    node_ports,
    oversized_links,
    plan_links,
    tap_words,
    tapped,
)
from flows.codegen.render import render
from flows.codegen.rtl import emit_layer, stream_widths
from flows.codegen.stream_engine import BURST, tap_name
from flows.errors import ConfigError
from flows.graph import DataflowGraph, Node
from flows.hwmodel.ports import short_name
from flows.layers import kind_of
from flows.layers.registry import DramBuffer, DramRegion


def _signal(n: Node, port: str) -> str:
    """Wire-bundle prefix of a node port: `<node>_in`, `<node>_out`, `<node>_in_a`, `<node>_out_0`,
    `<node>_out_delay`, `<node>_in_stat`."""
    return f"{n.name}_{short_name(port)}"


def dram_buffers(
    graph: DataflowGraph, dram_links: bool = False
) -> list[tuple[str, str, DramBuffer]]:
    """(accel_top port prefix, owner, buffer) of every layer buffer placed in DRAM, in
    topological order, the owner its layer; with `dram_links`, then every link too deep for the
    chip (`links.oversized_links`), prefix and owner named by its consumer (`_link_name`), its
    `words` the rule's depth and `per_frame` the stream's words. A buffer with taps holds the
    shortcut's backlog too (`links.tap_words`), plus two bursts of the tier's staging."""
    rings = tap_words(graph) if any(tapped(n) for n in graph.nodes) else {}
    out = [
        (f"{n.name}_{b.port}", n.name,
         replace(b, words=b.words + rings.get(n.name, 0) + 2 * BURST) if b.taps else b)
        for n in graph.topological()
        for b in kind_of(n.config).dram_buffers(n.config)
    ]  # fmt: skip
    if dram_links:
        for s, depth in oversized_links(graph).items():
            _, _, p = next(x for x in node_ports(graph.producer(s))[1] if x[0] == s)
            (dst,) = graph.consumers(s)
            port = next(k for x, k, _ in node_ports(dst)[0] if x == s)
            name = _link_name(dst, port)
            out.append((name, name, DramBuffer("link", p.bits, depth, p.words)))
    return out


def dram_regions(graph: DataflowGraph) -> list[tuple[str, str, DramRegion]]:
    """(accel_top port prefix, owner, region) of every layer's constant data in DRAM
    (`LayerKind.dram_regions`: an MVAU's weights), in topological order."""
    return [
        (f"{n.name}_{r.port}", n.name, r)
        for n in graph.topological()
        for r in kind_of(n.config).dram_regions(n.config)
    ]


def _link_name(dst: Node, port: str) -> str:
    """A DRAM link's port prefix, named by its consumer (stream names need not be identifiers):
    `link_<node>_in`, `link_<node>_in_b`."""
    return f"link_{_signal(dst, port)}"


def stitch_plan(
    graph: DataflowGraph,
    fifo_depth: int = DEFAULT_FIFO_DEPTH,
    depths: Mapping[str, int] | None = None,
    dram_links: bool = False,
) -> tuple[list[Link], list[dict], list[dict]]:
    """What accel_top instantiates: the links (`plan_links`), per layer its input FIFOs, DRAM
    buffer ports and region ports, and the links that go through the DRAM tier. `emit_stitched`
    renders it; `stitched_fifos` counts its FIFOs for the estimate."""
    links = plan_links(graph, fifo_depth, depths, oversized_links(graph) if dram_links else ())
    order = graph.topological()
    into: dict[str, list[Link]] = {n.name: [] for n in order}
    for lk in links:
        if lk.src is not None and lk.dst is not None:
            into[lk.dst.name].append(lk)
    labels: dict[str, int] = {}
    layers = []
    link_drams: list[dict] = []
    for n in order:
        ins, outs = node_ports(n)
        in_w, out_w = stream_widths(n.config)
        fifos = []
        for lk in into[n.name]:
            label = f"{lk.src.name}_{n.name}"
            labels[label] = labels.get(label, 0) + 1
            if labels[label] > 1:
                label += f"_{labels[label] - 1}"
            if lk.dram:  # to the tier and back, through a skid FIFO each way
                link_drams.append({"name": _link_name(n, lk.dst_port), "width": lk.width,
                                   "link": True, "taps": [],
                                   "out": _signal(lk.src, lk.src_port),
                                   "in": _signal(n, lk.dst_port)})  # fmt: skip
                continue
            fifos.append(
                {
                    "label": label,
                    "width": lk.width,
                    "depth": lk.depth,
                    "src": _signal(lk.src, lk.src_port),
                    "dst": _signal(n, lk.dst_port),
                    "shortcut": lk.shortcut_words,
                    "side": lk.side,
                }
            )
        drams, bufs = [], kind_of(n.config).dram_buffers(n.config)
        for buf in bufs:
            name = f"{n.name}_{buf.port}"
            drams.append(
                {
                    "name": name,
                    "width": buf.width,
                    "out": _signal(n, f"m_axis_{buf.port}"),
                    "in": _signal(n, f"s_axis_{buf.port}"),
                    "port": buf.port,
                    "link": False,
                    # outputs served by the tier from this ring: (accel_top port, wire bundle)
                    "taps": [(tap_name(name, i), _signal(n, t)) for i, t in enumerate(buf.taps)],
                }
            )
        served = {t for buf in bufs for t in buf.taps}
        regions = [
            {"name": f"{n.name}_{r.port}", "width": r.width, "in": _signal(n, f"s_axis_{r.port}"),
             "port": r.port}
            for r in kind_of(n.config).dram_regions(n.config)
        ]  # fmt: skip
        conns = [(k, _signal(n, k)) for _, k, _ in ins + outs if k not in served]
        for d in drams:
            conns += [(f"m_axis_{d['port']}", d["out"]), (f"s_axis_{d['port']}", d["in"])]
        conns += [(f"s_axis_{r['port']}", r["in"]) for r in regions]
        layers.append(
            {
                "name": n.name,
                "kind": n.kind,
                "in_w": in_w,
                "out_w": out_w,
                "wires": [(_signal(n, k), p.bits) for _, k, p in ins + outs],
                "conns": conns,
                "fifos": fifos,
                "drams": drams,
                "regions": regions,
            }
        )
    return links, layers, link_drams


def stitched_fifos(graph: DataflowGraph, dram_links: bool = True) -> list[tuple[int, int]]:
    """(width, depth) of every stream_fifo accel_top instantiates between the layers: each on-chip
    link's but the quiet ones (wires), and the 2-word skids of the DRAM buffer ports (two per
    buffer or DRAM link; a region is wired straight to its layer). The layers' own output skids are part of their estimates."""
    _, layers, link_drams = stitch_plan(graph, dram_links=dram_links)
    out = []
    for layer in layers:
        out += [(f["width"], f["depth"]) for f in layer["fifos"] if f["depth"]]  # not the wires
        out += [(d["width"], 2) for d in layer["drams"] for _ in range(2)]
    return out + [(d["width"], 2) for d in link_drams for _ in range(2)]


def emit_stitched(
    graph: DataflowGraph,
    outdir: Path,
    fifo_depth: int = DEFAULT_FIFO_DEPTH,
    depths: Mapping[str, int] | None = None,
    dram_links: bool = False,
) -> Path:
    """Write every layer plus `accel_top.v`: each stream a wire bundle and a `fifo_depth`-word
    FIFO (the shortcut of a fork/join pair and a side stream deeper, see `plan_links`)
    between its ports; `depths` ({stream: words}) overrides single links (tests); with
    `dram_links` the links too deep for the chip leave accel_top for the DRAM tier.

    Returns the path of accel_top.v; the layer files and memory init files sit next to it and
    `lib_sources()` completes the source list.
    """
    if not 2 <= fifo_depth <= MAX_FIFO_DEPTH:
        raise ConfigError(
            f"fifo_depth={fifo_depth} must be in 2..{MAX_FIFO_DEPTH}: a one-word FIFO cannot "
            "accept and deliver in the same cycle (half throughput)"
        )
    graph.hardware_ready()
    links, layers, link_drams = stitch_plan(graph, fifo_depth, depths, dram_links)
    order = graph.topological()
    outdir = Path(outdir)
    for n in order:
        emit_layer(n, outdir)
    first, last = links[0], links[-1]
    linear = all(len(n.inputs) == len(n.outputs) == 1 for n in order)
    ctx = {
        "layers": layers,
        "fifo_depth": fifo_depth,
        "linear": linear,
        "in_w": first.width,
        "out_w": last.width,
        "in_sig": _signal(first.dst, first.dst_port),
        "out_sig": _signal(last.src, last.src_port),
        "drams": [d for layer in layers for d in layer["drams"]] + link_drams,
        "regions": [r for layer in layers for r in layer["regions"]],
    }
    return render("accel_top.v.j2", outdir / "accel_top.v", ctx)
