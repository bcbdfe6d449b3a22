"""``POST /cancelallorders`` (cost 25): cancel every order of the account, or of one symbol.

Answer sample (simulator, shaped like Kraken's 2024 capture)::

    {"result":"success","cancelStatus":{"receivedTime":"2026-11-22T05:20:03.230Z",
      "cancelOnly":"all","status":"cancelled",
      "cancelledOrders":[{"order_id":"8742ced2-...","cliOrdId":"k1.alice.3"}],
      "orderEvents":[{"uid":"8742ced2-...","order":{"orderId":"8742ced2-...","cliOrdId":"k1.alice.3",
        "type":"stp","quantity":"0.001","filled":"0",...},"type":"CANCEL"}]},
     "serverTime":"2026-11-22T05:20:03.230Z"}

Kraken quirks: numbers inside these CANCEL events are strings; and (nautilus regression test,
2026-04) ``status`` may be ``noOrdersToCancel`` while ``cancelledOrders`` still lists orders that
were cancelled by this call, so the count always comes from ``cancelledOrders``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CancelAllResult:
    """status: Kraken's; cancelled: (exchange order id, cliOrdId or None) of each order."""

    status: str
    cancelled: tuple[tuple[str, str | None], ...]


def build(symbol: str | None) -> dict[str, str]:
    """Form parameters: ``symbol`` to restrict the cancel, nothing for the whole account."""
    return {"symbol": symbol} if symbol else {}


def parse(body: dict[str, Any]) -> CancelAllResult:
    """The answer of ``cancelallorders``."""
    st = body.get("cancelStatus")
    if not isinstance(st, dict):
        return CancelAllResult("missing cancelStatus", ())
    out: list[tuple[str, str | None]] = []
    for item in st.get("cancelledOrders") or []:
        if isinstance(item, dict) and isinstance(item.get("order_id"), str):
            cid = item.get("cliOrdId") or item.get("cli_ord_id")
            out.append((item["order_id"], cid if isinstance(cid, str) else None))
    return CancelAllResult(str(st.get("status") or ""), tuple(out))
