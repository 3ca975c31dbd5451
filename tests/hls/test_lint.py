"""flows.hls_lint: every generated kernel and library header passes, and every rule can fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flows.codegen.hls import INCLUDE_DIR, emit_hls
from flows.hls_lint import PRAGMA_WHITELIST, lint_file, lint_source

ROOT = Path(__file__).resolve().parents[2]


def test_generated_kernel_passes(hls_case, tmp_path):
    top, testbench = emit_hls(hls_case.node, tmp_path)
    assert lint_file(top) == []
    assert lint_file(testbench) == []  # skipped whole: a *_tb.cpp is never synthesised


@pytest.mark.parametrize("header", sorted(p.name for p in INCLUDE_DIR.glob("*.hpp")))
def test_library_header_passes(header):
    assert lint_file(INCLUDE_DIR / header) == []


# Each snippet breaks one rule on the lines marked BAD (and nowhere else).
BAD = {
    "loop-bound": """
        void k(int data[8], unsigned n) {
            for (unsigned i = 0; i < n; i++) { data[i] = 0; }  // BAD: runtime argument
            const unsigned m = n;
            for (unsigned i = 0; i < m; i++) { data[i] = 0; }  // BAD: const of a runtime value
            for (unsigned i = 0; i < data[0]; i++) { data[i] = 0; }  // BAD: data-dependent
            for (;;) { }  // BAD: no condition
        }""",
    "while-loop": """
        void k(int &n) {
            while (n > 0) { n--; }  // BAD
            do { n++; } while (n < 3);  // BAD
        }""",
    "dynamic-memory": """
        #include <stdlib.h>
        void k() {
            int *p = new int[4];  // BAD
            delete[] p;  // BAD
            int *q = (int *)malloc(16);  // BAD
            free(q);  // BAD
        }""",
    "stl": """
        #include <vector>  // BAD
        #include <map>  // BAD
        void k() {
            std::vector<int> v(4);  // BAD
            std::string s;  // BAD
        }""",
    "recursion": """
        int fact(int x) { return x ? x * fact(x - 1) : 1; }  // BAD
        int odd(int x);
        int even(int x) { return x == 0 ? 1 : odd(x - 1); }  // BAD
        int odd(int x) { return x == 0 ? 0 : even(x - 1); }  // BAD
        int fine(int x) { return even(x) + 1; }""",
    "pragma": """
        void k(int a[4]) {
            // a false dependence would need a review
            #pragma HLS DEPENDENCE variable=a inter false  // BAD
            // not HLS
            #pragma omp parallel for  // BAD
        }""",
}
# pragma-comment: marking a line with a comment would explain it, so its bad lines are listed.
BAD["pragma-comment"] = """
        void k(int a[4]) {
            #pragma HLS ARRAY_PARTITION variable=a complete
            int b = a[0];

            #pragma HLS INLINE
            // a comment below a pragma does not explain it
        }"""
PRAGMA_COMMENT_LINES = {3, 6}


@pytest.mark.parametrize("rule", sorted(BAD))
def test_rule_catches_bad_example(rule):
    text = BAD[rule]
    bad_lines = {n for n, line in enumerate(text.splitlines(), 1) if "// BAD" in line}
    if rule == "pragma-comment":
        bad_lines = PRAGMA_COMMENT_LINES
    findings = lint_source(text, "bad.cpp")
    assert {f.rule for f in findings} == {rule}, findings
    assert {f.line for f in findings} == bad_lines, findings


def test_accepted_constant_bounds_and_pragmas():
    text = """
        #define DEPTH 4
        enum { LANES = 2 };
        constexpr unsigned twice(unsigned x) { return 2 * x; }
        struct Policy { static const unsigned BITS = 3; };
        template<unsigned N, typename P = Policy>
        void k(int data[64]) {
            constexpr unsigned M = N * 2;
            const unsigned K = M + DEPTH;
            static const unsigned L = K - 1;
            // one register per element: all read in the same cycle
            #pragma HLS ARRAY_PARTITION variable=data complete
            for (unsigned i = 0; i < M; i++) { data[i] = 0; }
            for (unsigned i = 0; i < L; i++) { data[i] = 0; }
            for (unsigned i = 0; i < LANES * DEPTH; i++) { data[i] = 0; }
            for (unsigned i = 0; i < P::BITS; i++) { data[i] = 0; }
            for (unsigned i = 0; i < sizeof(int); i++) { data[i] = 0; }
            for (unsigned i = 0; i < twice(N); i++) { data[i] = 0; }
            for (int i = N - 1; i >= 0; i--) { data[i] = 0; }
            for (unsigned i = 0; N > i; i++) {
                // II = 1: one element per cycle
                #pragma HLS PIPELINE II=1
                data[i] = 0;
            }
        }"""
    assert lint_source(text, "good.cpp") == []


def test_csim_only_code_is_exempt():
    text = """
        #include <ap_int.h>
        #ifndef __SYNTHESIS__
        #include <vector>
        #endif
        void k(int n) {
        #ifndef __SYNTHESIS__
            std::vector<int> trace;
            while (n--) { trace.push_back(n); }
        #endif
        #ifdef __SYNTHESIS__
            int x = 0;
        #else
            int *p = new int;
            delete p;
        #endif
        }"""
    assert lint_source(text, "k.cpp") == []
    assert lint_source("#include <vector>\nint main() { while (1) {} }", "k_tb.cpp") == []
    assert [f.rule for f in lint_source("#include <vector>\n", "k.cpp")] == ["stl"]


def test_whitelist_is_the_documented_one():
    assert {"PIPELINE", "UNROLL", "ARRAY_PARTITION", "INTERFACE", "DATAFLOW"} <= PRAGMA_WHITELIST
    assert "DEPENDENCE" not in PRAGMA_WHITELIST


def test_cli_exit_codes(tmp_path):
    bad, good = tmp_path / "bad.cpp", tmp_path / "good.hpp"
    bad.write_text("void k(int n) {\n    while (n) { n--; }\n}\n")
    good.write_text("#pragma once\nvoid k(int &n) { n = 0; }\n")

    def run(*files: Path) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "flows.hls_lint", *map(str, files)]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)

    result = run(good, bad)
    assert result.returncode == 1
    assert result.stdout == f"{bad}:2: [while-loop] while loop: its trip count is data-dependent; " \
        "use a for loop with a compile-time bound\n"  # fmt: skip
    assert run(good).returncode == 0
    assert run(tmp_path / "missing.cpp").returncode == 2
