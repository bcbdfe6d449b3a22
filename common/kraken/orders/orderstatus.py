"""``POST /orders/status`` (cost 1): the state of orders by ``cliOrdIds`` (or ``orderIds``),
open ones and those closed within the last 5 seconds (Kraken forgets them after that).

Answer sample (simulator, shaped like Kraken's docs; numbers are strings)::

    {"result":"success","orders":[
      {"order":{"type":"ORDER","orderId":"47158a7e-...","cliOrdId":"k1.alice.1",
                "symbol":"PF_XBTUSD","side":"buy","quantity":"0","filled":"0.01",
                "limitPrice":"50001","reduceOnly":false,"timestamp":"2026-11-22T05:20:03.224Z",
                "lastUpdateTimestamp":"2026-11-22T05:20:03.228Z"},
       "status":"FULLY_EXECUTED","updateReason":null,"error":null}],
     "serverTime":"2026-11-22T05:20:03.228Z"}

``quantity`` is what remains open, ``filled`` what traded. Statuses: ENTERED_BOOK and
TRIGGER_PLACED (open), FULLY_EXECUTED, CANCELLED, REJECTED, TRIGGER_ACTIVATION_FAILURE
(closed). Malformed entries are skipped. Request: :func:`build` (form, ``cliOrdIds`` repeated).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from common.kraken.private.wire import iso_ms
from common.messages import OrderStatus, Side

from .events import number

OPEN = frozenset({"ENTERED_BOOK", "TRIGGER_PLACED"})
CLOSED: dict[str, OrderStatus] = {
    "FULLY_EXECUTED": OrderStatus.FILLED,
    "CANCELLED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
    "TRIGGER_ACTIVATION_FAILURE": OrderStatus.REJECTED,
}


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One order as ``orders/status`` sees it. status: None while open, else the final status
    Kraken's word maps to; word: Kraken's own status (and update reason, if any)."""

    exchange_order_id: str
    cli_ord_id: str | None
    symbol: str
    side: Side
    remaining: float
    filled: float
    price: float | None
    reduce_only: bool
    update_time_ms: int
    status: OrderStatus | None
    word: str


def build(cli_ord_ids: list[str]) -> dict[str, list[str]]:
    """Form parameters: the orders by ``cliOrdIds`` (repeated key on the wire)."""
    return {"cliOrdIds": cli_ord_ids}


def parse(body: dict[str, Any]) -> list[StatusEntry]:
    """The orders of a success envelope."""
    out: list[StatusEntry] = []
    for item in body.get("orders") or []:
        if not isinstance(item, dict) or not isinstance(item.get("order"), dict):
            continue
        o = item["order"]
        word = str(item.get("status") or "")
        side = str(o.get("side") or "").lower()
        if not isinstance(o.get("orderId"), str) or side not in ("buy", "sell") or (
                word not in OPEN and word not in CLOSED):
            continue
        cid = o.get("cliOrdId") or o.get("cli_ord_id")
        reason = item.get("updateReason")
        out.append(StatusEntry(
            exchange_order_id=o["orderId"],
            cli_ord_id=cid if isinstance(cid, str) and cid else None,
            symbol=str(o.get("symbol") or "").upper(),
            side=Side.BUY if side == "buy" else Side.SELL,
            remaining=number(o.get("quantity")) or 0.0,
            filled=number(o.get("filled")) or 0.0,
            price=number(o.get("limitPrice")),
            reduce_only=bool(o.get("reduceOnly", False)),
            update_time_ms=iso_ms(o.get("lastUpdateTimestamp") or o.get("timestamp")),
            status=CLOSED.get(word),
            word=f"{word}: {reason}" if isinstance(reason, str) and reason else word,
        ))
    return out
