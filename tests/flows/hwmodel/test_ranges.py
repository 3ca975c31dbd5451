"""The one `width` and the one `product_range` (flows/hwmodel/ranges.py) against brute force."""

from __future__ import annotations

import itertools

from flows.datatypes import BIPOLAR, INT, UINT
from flows.hwmodel.ranges import affine_range, dot_range, product_range, smallest_type, width


def _holds(bits: int, signed: bool, lo: int, hi: int) -> bool:
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return low <= lo and hi <= high


def test_width_is_the_fewest_bits_that_hold_the_range() -> None:
    for lo, hi in itertools.combinations_with_replacement(range(-70, 71), 2):
        for signed in (True, False) if lo >= 0 else (True,):
            bits = width(lo, hi, signed)
            assert _holds(bits, signed, lo, hi), (lo, hi, signed)
            assert bits == 1 or not _holds(bits - 1, signed, lo, hi), (lo, hi, signed)
    assert width(0, 0, True, at_least=2) == 2 and width(0, 5, False, at_least=4) == 4


def test_smallest_type_is_the_narrowest_type() -> None:
    for lo, hi in itertools.combinations_with_replacement(range(-70, 71), 2):
        t = smallest_type(lo, hi)
        assert t.min <= lo and hi <= t.max
        assert t.signed == (lo < 0) and t.bits == max(2 if lo < 0 else 1, width(lo, hi, lo < 0))


def test_ranges_against_every_corner_and_more() -> None:
    values = {t: range(t.min, t.max + 1) for t in (INT(3), UINT(3), BIPOLAR, INT(2))}
    for (a, va), (b, vb) in itertools.product(values.items(), repeat=2):
        products = [x * y for x in va for y in vb]
        assert product_range(a.bounds, b.bounds) == (min(products), max(products))
        assert dot_range(a, b, 5) == (5 * min(products), 5 * max(products))
        sums = [p + c for p in products for c in values[INT(3)]]
        assert affine_range(a, b, INT(3)) == (min(sums), max(sums))
