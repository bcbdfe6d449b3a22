from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.kraken import clordid

users = st.from_regex(r"\A[A-Za-z0-9_-]{1,32}\Z")
ids = st.integers(min_value=1, max_value=2**53 - 1)


@given(users, ids)
def test_round_trip_and_web_safe(user: str, order_id: int) -> None:
    c = clordid.make(user, order_id)
    assert clordid.parse(c) == (user, order_id)
    assert urllib.parse.quote(c, safe="") == c
    assert len(c) <= 100


@pytest.mark.parametrize("bad", [None, "", "abc", "k1.u.0", "k1.u.01", "k1..5", "k2.u.5", "k1.u.5.6", "k1.u v.5"])
def test_foreign_ids_are_not_ours(bad: str | None) -> None:
    assert clordid.parse(bad) is None


@pytest.mark.parametrize(("user", "oid"), [("a.b", 1), ("", 1), ("x" * 33, 1), ("u", 0), ("u", 2**53)])
def test_make_refuses_out_of_range(user: str, oid: int) -> None:
    with pytest.raises(ValueError):
        clordid.make(user, oid)
