"""Kraken's rate budget (token bucket 500 per 10 s, cost per endpoint), with explicit clocks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.kraken.ratelimit import RateBudget, cost


def test_costs() -> None:
    assert cost("sendorder") == cost("editorder") == cost("cancelorder") == 10
    assert cost("batchorder", batch_size=10) == 19
    assert cost("cancelallorders") == cost("cancelallordersafter") == 25
    assert cost("fills") == 2 and cost("fills", last_fill_time=True) == 25
    assert cost("instruments") == 0


def test_fifty_orders_then_refused_then_refilled() -> None:
    b = RateBudget(500, 10.0, now=0.0)
    assert all(b.try_take(10, 0.0) for _ in range(50))
    assert not b.try_take(10, 0.0)
    assert b.available(0.0) == pytest.approx(0.0)
    assert b.delay_for(10, 0.0) == pytest.approx(0.2)
    assert not b.try_take(10, 0.19)
    assert b.try_take(10, 0.2001)


def test_reserve_spaces_calls_at_refill_rate() -> None:
    b = RateBudget(100, 10.0, now=0.0)  # 10 tokens/s
    delays = [b.reserve(50, 0.0) for _ in range(4)]
    assert delays == pytest.approx([0.0, 0.0, 5.0, 10.0])
    b.refund(50, 0.0)
    assert b.delay_for(50, 0.0) == pytest.approx(10.0)
    assert b.delay_for(101, 0.0) == float("inf")


@given(st.lists(st.tuples(st.floats(0, 0.5), st.sampled_from([2, 10, 19, 25])), max_size=300))
def test_never_exceeds_kraken_window(calls: list[tuple[float, int]]) -> None:
    """Whatever the arrival pattern, what try_take lets through fits Kraken's own bucket."""
    ours = RateBudget(500, 10.0, now=0.0)
    kraken = RateBudget(500, 10.0, now=0.0)
    now = 0.0
    for gap, c in calls:
        now += gap
        if ours.try_take(c, now):
            assert kraken.try_take(c, now)
