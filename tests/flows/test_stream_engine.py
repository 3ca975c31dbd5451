"""The stream engine's building blocks in Migen's simulator (flows/codegen/stream_engine.py):
the round-robin arbiter against a reference model over random request sequences, and the ring's
carry-free threshold test against `<=` for every value. The engine as a whole is proven under
Verilator with LiteDRAM's SDRAM model (tests/hw/test_dram_tier.py)."""

from __future__ import annotations

import random

import pytest
from migen import Module, Signal
from migen.sim import run_simulation

from flows.codegen.stream_engine import BURST, MIN_RING, _at_most, round_robin


def _reference(req: int, after: int, n: int) -> int | None:
    """The grant: the lowest request above the previous grant, else the lowest request."""
    for pool in (req & after, req):
        if pool:
            return (pool & -pool).bit_length() - 1
    return None


@pytest.mark.parametrize("n", [1, 2, 5, 16])
def test_round_robin_grants_like_the_reference(n: int) -> None:
    m = Module()
    req, above = Signal(n), Signal(n)
    onehot, index, any_, after = round_robin(m, req, above, n, "t")
    rng = random.Random(n)
    seen = []

    def bench():
        mask = 0
        for _ in range(300):
            r = rng.getrandbits(n) if rng.random() < 0.9 else 0
            yield req.eq(r)
            yield above.eq(mask)
            yield
            want = _reference(r, mask, n)
            assert (yield any_) == (want is not None)
            if want is None:
                continue
            assert (yield index) == want, (r, mask)
            assert (yield onehot) == 1 << want
            mask = yield after
            assert mask == ((1 << n) - 1) & ~((2 << want) - 1)  # the streams after the grant
            seen.append(want)

    run_simulation(m, bench())
    assert set(seen) == set(range(n))


def test_round_robin_serves_every_requester_within_n_grants() -> None:
    n = 7
    m = Module()
    req, above = Signal(n), Signal(n)
    _, index, _, after = round_robin(m, req, above, n, "t")

    def bench():
        mask, last_served = 0, dict.fromkeys(range(n), 0)
        for turn in range(1, 60):
            yield req.eq((1 << n) - 1)  # everyone asks every time
            yield above.eq(mask)
            yield
            g = yield index
            last_served[g] = turn
            mask = yield after
            if turn > n:
                assert min(last_served.values()) > turn - n

    run_simulation(m, bench())


@pytest.mark.parametrize("size", [MIN_RING, 2 * MIN_RING, 1024])
def test_ring_space_test_equals_at_most(size: int) -> None:
    """`count <= size - 2 * BURST` (may a write burst start) for every count 0 .. size."""
    bits = (size).bit_length()
    limit = size - 2 * BURST
    m = Module()
    value = Signal(bits)
    out = Signal()
    m.comb += out.eq(_at_most(value, limit, bits))

    def bench():
        for v in range(size + 1):
            yield value.eq(v)
            yield
            assert (yield out) == (v <= limit), v

    run_simulation(m, bench())
