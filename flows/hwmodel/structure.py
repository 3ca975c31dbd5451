"""Counters and reduction trees: the structure every datapath template shares."""

from __future__ import annotations


def clog2(n: int) -> int:
    """Bits of a counter over 0..n-1 (at least 1)."""
    return max(1, (n - 1).bit_length())


def tree_nodes(leaves: int) -> list[int]:
    """Nodes per level of a binary reduction tree (an odd node passes through to the next level)."""
    nodes = [leaves]
    while nodes[-1] > 1:
        nodes.append((nodes[-1] + 1) // 2)
    return nodes


def tree_registers(stages: int, levels: int) -> list[int]:
    """Registers after each adder-tree level 0..levels (level 0 = the products), spread evenly."""
    regs = [0] * (levels + 1)
    for i in range(stages):
        regs[min(levels, (i + 1) * (levels + 1) // (stages + 1))] += 1
    return regs


def csd_digits(k: int) -> list[tuple[int, int]]:
    """k >= 0 in canonical signed digits: [(shift, +1 or -1)], no two adjacent non-zero digits
    (the fewest additions of shifted copies that make k)."""
    out, n = [], 0
    while k:
        if k & 1:
            d = 2 - (k & 3)  # +1 where k = ...01, -1 where k = ...11
            out.append((n, d))
            k -= d
        k >>= 1
        n += 1
    return out
