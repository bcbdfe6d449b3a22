"""``orderEvents`` entries of sendorder / editorder / cancelorder / cancelallorders /
batchorder answers, reduced to what order entry needs.

Shapes (protocol reference 3.2)::

    {"type":"PLACE","order":{"orderId":"...","cliOrdId":"k1.alice.1","type":"lmt","quantity":0.001,"filled":0.0,...}}
    {"type":"PLACE","orderTrigger":{"uid":"...","clientId":"k1.alice.3","type":"ioc","quantity":0.001,...}}
    {"type":"EXECUTION","executionId":"...","price":60001.0,"amount":0.001,
     "orderPriorExecution":{"orderId":"...","cliOrdId":"k1.alice.4","type":"ioc","quantity":0.001,...}}
    {"type":"EDIT","old":{...},"new":{...}}
    {"uid":"...","order":{"quantity":"0.001","filled":"0",...},"type":"CANCEL"}

Kraken quirks handled: inside ``orderTrigger`` the client id is ``clientId`` (not ``cliOrdId``)
and the id ``uid``; numbers are JSON numbers in PLACE events but **strings** in CANCEL events
of cancelallorders/batchorder (``"quantity":"10","filled":"0E-11"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def number(value: Any) -> float | None:
    """A JSON number or Kraken's numeric string (``"0E-11"`` too) as float; None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class EventSummary:
    """What the events of one answer say about its order.

    exchange_order_id / cli_ord_id: from the first event that names them.
    order_type: Kraken's type in the event (``lmt``, ``post``, ``ioc``, ``stp``...).
    quantity: the order's quantity before any execution in this answer.
    executed: quantity executed by EXECUTION events of this answer.
    kinds: the event types seen (``PLACE``, ``EXECUTION``, ``CANCEL``, ``EDIT``, ``REJECT``).
    trigger: the order is an untriggered stop/take-profit (an ``orderTrigger`` event); its
        ``type`` then says what it becomes when triggered (``ioc`` = stop-market), not that it
        is done.
    """

    exchange_order_id: str | None
    cli_ord_id: str | None
    order_type: str | None
    quantity: float | None
    executed: float
    kinds: frozenset[str]
    trigger: bool = False


def _order_of(event: dict[str, Any]) -> dict[str, Any] | None:
    for key in ("order", "orderTrigger", "orderPriorExecution", "new", "old"):
        o = event.get(key)
        if isinstance(o, dict):
            return o
    return None


def summarize(events: Any) -> EventSummary:
    """Fold a list of orderEvents into an :class:`EventSummary` (tolerates junk entries)."""
    oid: str | None = None
    cid: str | None = None
    otype: str | None = None
    qty: float | None = None
    executed = 0.0
    kinds: set[str] = set()
    trigger = False
    for ev in events if isinstance(events, list) else []:
        if not isinstance(ev, dict):
            continue
        kind = str(ev.get("type") or "")
        kinds.add(kind)
        order = _order_of(ev)
        trigger = trigger or isinstance(ev.get("orderTrigger"), dict)
        if order is not None:
            oid = oid or _str(order.get("orderId") or order.get("uid"))
            cid = cid or _str(order.get("cliOrdId") or order.get("clientId"))
            otype = otype or _str(order.get("type"))
            if qty is None:
                qty = number(order.get("quantity"))
        if kind == "EXECUTION":
            executed += number(ev.get("amount")) or 0.0
    return EventSummary(oid, cid, otype, qty, executed, frozenset(kinds), trigger)


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None
