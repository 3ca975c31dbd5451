"""flows.codegen.hls: registry, emitted files, errors, missing tools and the build cache."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from flows.codegen import csim, hls
from flows.datatypes import INT, UINT
from flows.errors import ConfigError, NumericContractError, ToolMissingError
from flows.graph import Node
from flows.layers import (
    Affine,
    InstaPReLU,
    InstaThreshold,
    IntMVAU,
    Threshold,
    XnorMVAU,
    all_kinds,
)


def _xnor_node(name: str = "xnor_small", **changes) -> Node:
    cfg = XnorMVAU(name=name, mw=8, mh=4, simd=4, pe=2, num_vectors=2, **changes)
    w = np.where(np.add.outer(np.arange(4), np.arange(8)) % 3 == 0, 1, -1)
    return Node(cfg, ["x"], ["y"], {"weights": w})


def test_the_kinds_with_an_hls_kernel():
    have = {k.config for k in all_kinds() if k.hls is not None}
    assert have == {XnorMVAU, IntMVAU, Threshold, InstaThreshold, InstaPReLU}


def test_emit_writes_top_and_testbench(tmp_path):
    paths = hls.emit_hls(_xnor_node("conv/1.a"), tmp_path)
    assert [p.name for p in paths] == ["conv_1_a.cpp", "conv_1_a_tb.cpp"]
    top = paths[0].read_text()
    assert "void conv_1_a(" in top and "XnorMVAU<" in top and "\t" not in top
    assert "int main(" in paths[1].read_text()


def test_top_name_never_shadows_a_kernel():
    assert hls.top_name("XnorMVAU") == "layer_XnorMVAU"
    assert hls.top_name("0fc") == "layer_0fc"


def test_unsupported_kind_is_a_config_error(tmp_path):
    cfg = Affine(name="aff", channels=2, input_type=INT(8), mul_type=INT(8), add_type=INT(8))
    node = Node(cfg, ["x"], ["y"], {"mul": np.ones(2), "add": np.zeros(2)})
    with pytest.raises(ConfigError, match="Affine has no HLS kernel; HLS kernels exist for"):
        hls.emit_hls(node, tmp_path)


def test_too_wide_stream_word_is_a_config_error(tmp_path):
    cfg = IntMVAU(name="wide", mw=256, mh=2, simd=256, input_type=UINT(8), weight_type=INT(2))
    node = Node(cfg, ["x"], ["y"], {"weights": np.zeros((2, 256), dtype=np.int64)})
    with pytest.raises(ConfigError, match="input stream word of 2048 bits exceeds the 1024-bit"):
        hls.emit_hls(node, tmp_path)


def test_bad_params_and_inputs_are_rejected(tmp_path):
    node = _xnor_node()
    bad = Node(node.config, ["x"], ["y"], {"weights": np.zeros((4, 8))})
    with pytest.raises(NumericContractError, match="weights holds values outside BIPOLAR"):
        hls.emit_hls(bad, tmp_path)
    with pytest.raises(ConfigError, match=r"inputs have shape \(2, 8\), expected \(frames, 2, 8\)"):
        csim.csim(node, np.ones((2, 8)), tmp_path)
    with pytest.raises(NumericContractError, match="inputs holds values outside BIPOLAR"):
        csim.csim(node, np.zeros((1, 2, 8)), tmp_path)


def test_missing_compiler_fails_loudly(tmp_path, monkeypatch):
    monkeypatch.setattr(csim, "CXX", "no-such-compiler-g++")
    with pytest.raises(ToolMissingError, match="no-such-compiler-g\\+\\+ not found on PATH"):
        csim.csim(_xnor_node(), np.ones((1, 2, 8)), tmp_path, cache_dir=tmp_path / "cache")


def test_missing_headers_fail_loudly(tmp_path, monkeypatch):
    monkeypatch.setattr(csim, "AP_TYPES_PACKAGE", "no_such_package_for_ap_types")
    with pytest.raises(ToolMissingError, match="ap_types headers come with the Python package"):
        csim.csim(_xnor_node(), np.ones((1, 2, 8)), tmp_path, cache_dir=tmp_path / "cache")


def test_build_cache_is_reused_and_safe_under_concurrency(tmp_path):
    """Two builds of the same sources race; both get the same complete binary, then a third
    call hits the cache. The binary name carries the content hash."""
    sources = {p.name: p.read_text() for p in hls.emit_hls(_xnor_node("race"), tmp_path / "src")}
    cache = tmp_path / "cache"
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(csim._build(sources, cache)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1]
    assert [p.name for p in cache.iterdir()] == [results[0].name]  # no temp folders left
    mtime = results[0].stat().st_mtime_ns
    assert csim._build(sources, cache) == results[0]
    assert results[0].stat().st_mtime_ns == mtime
    tools = (csim.find_cxx(), csim.ap_types_dir())
    changed = sources | {"race.cpp": sources["race.cpp"] + "\n"}
    assert csim._cache_key(changed, *tools) != csim._cache_key(sources, *tools)
