"""The streamlining pipeline: imported float graph -> integer dataflow graph of hardware kinds."""

from __future__ import annotations

from flows.graph import DataflowGraph
from flows.transforms.absorb_saturation import AbsorbSaturation
from flows.transforms.affine_sign_to_threshold import AffineSignToThreshold
from flows.transforms.base import Group, apply_repeatedly, infer_types
from flows.transforms.collapse_affines import CollapseAffines
from flows.transforms.factor_weight_scales import FactorWeightScales
from flows.transforms.fill_input_types import FillInputTypes
from flows.transforms.final_affine_to_fixed_point import FinalAffineToFixedPoint, InsertLabelSelect
from flows.transforms.float_add_to_add_streams import FloatAddToAddStreams
from flows.transforms.insert_duplicate_streams import InsertDuplicateStreams
from flows.transforms.insta_to_integer import InstaToInteger
from flows.transforms.matmul_to_mvau import MatMulToMVAU
from flows.transforms.move_affine_down import MoveAffineDown
from flows.transforms.prelu_to_integer import PReLUToInteger
from flows.transforms.requant_to_integer import RequantToInteger
from flows.transforms.shortcut_from_insta_buffer import ShortcutFromInstaBuffer
from flows.transforms.split_forked_affines import SplitForkedAffines

# One joint fixed point for the local rewrites (each needs the integer types the others create,
# in model order), then the whole-graph steps. docs/flow.md lists what each step does.
STEPS = (
    Group(
        FactorWeightScales(),
        SplitForkedAffines(),
        MoveAffineDown(),
        CollapseAffines(),
        AffineSignToThreshold(),
        MatMulToMVAU(),
        FloatAddToAddStreams(),
        RequantToInteger(),
        AbsorbSaturation(),
        PReLUToInteger(),
        InstaToInteger(),
    ),
    FinalAffineToFixedPoint(),
    InsertLabelSelect(),
    ShortcutFromInstaBuffer(),
    InsertDuplicateStreams(),
    FillInputTypes(),
)


def streamline(graph: DataflowGraph) -> DataflowGraph:
    """Apply every step to a fixed point, then check nothing transient is left."""
    graph = graph.copy()
    infer_types(graph)
    graph = apply_repeatedly(graph, *STEPS)
    graph.hardware_ready()
    return name_layers(graph)


def name_layers(graph: DataflowGraph) -> DataflowGraph:
    """Give nodes stable, HDL-safe names in topological order: l<i>_<kind>."""
    from dataclasses import replace

    g = graph.copy()
    for i, node in enumerate(g.topological()):
        node.config = replace(node.config, name=f"l{i}_{node.kind.lower()}")
    g.sort()
    return g
