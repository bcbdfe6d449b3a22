"""``GET /openorders`` (cost 2): every open order of the account (used to recover the order
registry after a restart, and by drop-copy reconciliation).

Answer sample (simulator, shaped like Kraken's docs)::

    {"result":"success","openOrders":[
      {"order_id":"47158a7e-...","symbol":"PF_XBTUSD","side":"buy","orderType":"lmt",
       "limitPrice":50001.0,"unfilledSize":0.001,"receivedTime":"2026-11-22T05:20:03.224Z",
       "status":"untouched","filledSize":0.0,"reduceOnly":false,
       "lastUpdateTime":"2026-11-22T05:20:03.228Z","cliOrdId":"k1.alice.1"},
      {"order_id":"8742ced2-...","symbol":"PF_XBTUSD","side":"sell","orderType":"stop",
       "status":"untouched","filledSize":0.0,"stopPrice":40000.0,"triggerSignal":"last",
       "cliOrdId":"k1.alice.3", ...}],
     "serverTime":"2026-11-22T05:20:03.228Z"}

Kraken quirks: the client id is documented as ``cliOrdId`` but nautilus models
``cli_ord_id`` (both accepted); untouched trigger orders may omit ``unfilledSize`` (nautilus
#4492); symbols may be lower case; numbers may be strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .events import number


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """One open order. unfilled: remaining size (None when Kraken left it out)."""

    exchange_order_id: str
    cli_ord_id: str | None
    symbol: str
    side: str
    order_type: str
    limit_price: float | None
    stop_price: float | None
    unfilled: float | None
    filled: float
    reduce_only: bool


def parse(body: dict[str, Any]) -> list[OpenOrder]:
    """Open orders of a success envelope; malformed entries are skipped."""
    out: list[OpenOrder] = []
    for o in body.get("openOrders") or []:
        if not isinstance(o, dict) or not isinstance(o.get("order_id"), str):
            continue
        cid = o.get("cliOrdId") or o.get("cli_ord_id")
        out.append(
            OpenOrder(
                exchange_order_id=o["order_id"],
                cli_ord_id=cid if isinstance(cid, str) and cid else None,
                symbol=str(o.get("symbol") or "").upper(),
                side=str(o.get("side") or ""),
                order_type=str(o.get("orderType") or ""),
                limit_price=number(o.get("limitPrice")),
                stop_price=number(o.get("stopPrice")),
                unfilled=number(o.get("unfilledSize")),
                filled=number(o.get("filledSize")) or 0.0,
                reduce_only=bool(o.get("reduceOnly", False)),
            )
        )
    return out
