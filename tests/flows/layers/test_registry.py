"""The layer-kind records (flows/layers/registry.py): every hardware kind is complete, has an
example (tests/flows/layers/examples.py), and every field of its record agrees with the others on
that example: ports with the golden function's outputs, folds with the ports, the RTL template
renders, the estimator counts the config's cycles, the HLS kernel calls a kernel the record names.
Every kernel template of hls/include is named by a kind."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from flows.codegen.hls import INCLUDE_DIR, header_names, render_hls, top_name
from flows.codegen.render import TEMPLATE_DIR
from flows.codegen.rtl import emit_layer
from flows.hwmodel.resources import Estimate
from flows.layers import KINDS, all_kinds, kind_of
from flows.layers.registry import ALL, INPUTS, OUTPUTS, LayerKind
from tests.flows.layers.examples import examples

HARDWARE = [k for k in KINDS if k.hardware]
FAMILIES = ("ecp5", "xc7", "xcup")


def test_the_registration_is_every_kind_once() -> None:
    assert list(KINDS) == all_kinds()
    assert len({k.name for k in KINDS}) == len({k.config for k in KINDS}) == len(KINDS)


@pytest.mark.parametrize("kind", HARDWARE, ids=lambda k: k.name)
def test_every_hardware_kind_is_complete(kind: LayerKind) -> None:
    assert kind.missing() == []
    assert (TEMPLATE_DIR / kind.template).is_file(), kind.template
    assert all(f.ports in (INPUTS, OUTPUTS, ALL) for f in kind.folds.values())


def test_a_kind_without_its_estimator_is_incomplete() -> None:
    """`missing` can fail: a record that lost a field says which."""
    from dataclasses import replace

    kind = kind_of(examples()["Threshold"].config)
    assert replace(kind, estimate=None, hls_kernels=()).missing() == ["estimate", "hls_kernels"]


def test_every_hardware_kind_has_an_example() -> None:
    named = {kind_of(n.config).name for n in examples().values()}
    assert named == {k.name for k in HARDWARE}


def kernel_templates() -> set[str]:
    """The kernel templates of hls/include: its CamelCase functions (helpers are lower case, the
    element policies structs)."""
    kernels = set()
    for header in INCLUDE_DIR.glob("*.hpp"):
        text = re.sub(r"//[^\n]*|/\*.*?\*/", "", header.read_text(), flags=re.S)
        kernels |= set(re.findall(r"^void\s+([A-Z]\w*)\s*\(", text, flags=re.M))
    return kernels


def _inputs(ports: dict, rng: np.random.Generator) -> list[np.ndarray]:
    """Random frames of every input port's shape and type (two frames)."""
    return [
        rng.integers(p.dtype.min, p.dtype.max + 1, size=(2, p.vectors, p.channels))
        if p.dtype.kind != "bipolar"
        else rng.choice([-1, 1], size=(2, p.vectors, p.channels))
        for p in ports.values()
    ]


@pytest.mark.parametrize("name", list(examples()))
def test_the_record_agrees_with_itself(name: str, tmp_path: Path) -> None:
    node = examples()[name]
    cfg, kind = node.config, kind_of(node.config)
    ins, outs = kind.ports(cfg)
    assert (len(ins), len(outs)) == (len(node.inputs), len(node.outputs))
    # folds: each field divides its dimension; a port's lanes are the product of the fields that
    # set it (a SlidingWindow's output: pe x positions); a port no field sets carries one
    set_by: dict = {}
    for field, fold in kind.folds.items():
        lanes = getattr(cfg, field)
        assert getattr(cfg, fold.divides) % lanes == 0
        for side, ports in ((INPUTS, ins), (OUTPUTS, outs)):
            if fold.ports in (side, ALL):
                for k in ports:
                    set_by[(side, k)] = set_by.get((side, k), 1) * lanes
    for side, ports in ((INPUTS, ins), (OUTPUTS, outs)):
        for k, port in ports.items():
            assert port.lanes == set_by.get((side, k), 1), (side, k)
            assert port.channels % port.lanes == 0 and port.words * port.lanes == (
                port.vectors * port.channels
            )
    # the golden function produces what the output ports carry
    ys = kind.execute(cfg, node.params, _inputs(ins, np.random.default_rng(0)))
    assert len(ys) == len(outs)
    for y, port in zip(ys, outs.values(), strict=True):
        assert y.shape == (2, port.vectors, port.channels)
        assert port.dtype.allowed(y)
    assert kind.buffer_words(cfg) >= 0 and kind.extra_stages(cfg) >= 0
    # the RTL renders into <name>.v, the estimator counts the config's cycles
    files = emit_layer(node, tmp_path)
    assert files[0].name == f"{cfg.name}.v" and f"module {cfg.name}" in files[0].read_text()
    for family in FAMILIES:
        est = kind.estimate(cfg, family)
        assert isinstance(est, Estimate) and est.cycles == cfg.cycles_per_frame
        assert min(est.as_dict().values()) >= 0
    if kind.hls is not None:
        top = render_hls(node)[f"{top_name(cfg.name)}.cpp"]
        called = set(re.findall(r"\b([A-Z]\w+)<", top)) & kernel_templates()
        assert called and called <= set(kind.hls_kernels), called


def test_every_hls_kernel_in_hls_include_is_known() -> None:
    """The kernel templates of hls/include are exactly the kernels the kinds name."""
    kernels = kernel_templates()
    named = {k for kind in KINDS for k in kind.hls_kernels}
    assert len(kernels) == 10 and kernels == named
    assert named <= header_names()


def test_a_top_never_takes_a_header_name() -> None:
    for name in header_names() | {"main"}:
        assert top_name(name) == f"layer_{name}"
    assert top_name("insta_se") == "layer_insta_se"  # a helper of insta_se.hpp
    assert top_name("conv/1.a") == "conv_1_a"
