"""Kraken ``cliOrdId`` <-> (user, order_id), with no database.

Every order the router sends carries ``cliOrdId = "k1.<user>.<order_id>"``:

- ``k1`` is the format version (so a later format can coexist with open orders of this one);
- ``user`` is the gateway user that owns the order (``[A-Za-z0-9_-]{1,32}``, from the router's
  permissions config / CURVE identity);
- ``order_id`` is the client's own integer order id in base 10 (unique per user for the life of
  the order, never reused), so ``(user, order_id)`` is unique among open orders.

Only URL-unreserved characters are used (``A-Z a-z 0-9 - . _``), so the id survives every way
clients encode query strings and form bodies, and it stays under Kraken's 100-character limit
(``k1.`` + 32 + ``.`` + 16 digits = 52). Orders placed outside the gateway have other (or no)
cliOrdIds; :func:`parse` returns None for them.
"""

from __future__ import annotations

import re

VERSION = "k1"
USER_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_PARSE_RE = re.compile(r"^k1\.([A-Za-z0-9_-]{1,32})\.([1-9][0-9]{0,15})$")
MAX_ORDER_ID = 2**53 - 1


def valid_user(user: str) -> bool:
    """True if ``user`` can appear in a cliOrdId."""
    return bool(USER_RE.match(user))


def make(user: str, order_id: int) -> str:
    """The cliOrdId for ``order_id`` of ``user``; ValueError if either is out of range."""
    if not valid_user(user):
        raise ValueError(f"user {user!r} must match {USER_RE.pattern}")
    if not 1 <= order_id <= MAX_ORDER_ID:
        raise ValueError(f"order_id {order_id} out of range 1..2^53-1")
    return f"{VERSION}.{user}.{order_id}"


def parse(cli_ord_id: str | None) -> tuple[str, int] | None:
    """``(user, order_id)`` encoded in a cliOrdId, or None if it is not one of ours."""
    if not cli_ord_id:
        return None
    m = _PARSE_RE.match(cli_ord_id)
    if m is None:
        return None
    order_id = int(m.group(2))
    if order_id > MAX_ORDER_ID:
        return None
    return m.group(1), order_id


def order_id(cli_ord_id: str | None) -> int | None:
    """The client's order id encoded in a cliOrdId, or None if it is not one of ours."""
    owner = parse(cli_ord_id)
    return owner[1] if owner else None
