"""``POST /cancelorder`` (cost 10): cancel one order, addressed by cliOrdId.

Answer samples (Kraken docs 2020/2023)::

    {"result":"success","cancelStatus":{"status":"cancelled","order_id":"cb4e34f6-...",
      "receivedTime":"2020-07-22T13:26:20.806Z","orderEvents":[{"uid":"cb4e34f6-...",
      "order":{"orderId":"cb4e34f6-...","cliOrdId":"1234568","type":"lmt","quantity":5500,
      "filled":0,"limitPrice":8000,...},"type":"CANCEL"}]},"serverTime":"2020-07-22T13:26:20.806Z"}
    {"result":"success","cancelStatus":{"status":"notFound","receivedTime":"2023-04-04T17:18:11.628Z"},
     "serverTime":"2023-04-04T17:18:11.628Z"}

Statuses: ``cancelled``; ``filled`` (found completely filled, nothing to cancel); ``notFound``.
Kraken quirk: the request parameter is ``order_id`` in snake case, or ``cliOrdId``.
"""

from __future__ import annotations

from typing import Any

from .codes import order_status_code
from .events import summarize
from .result import OrderResult


def build(cli_ord_id: str) -> dict[str, str]:
    """Form parameters: the order by ``cliOrdId`` (known without waiting for Kraken's id)."""
    return {"cliOrdId": cli_ord_id}


def parse_status(status_obj: Any) -> OrderResult:
    """Parse a ``cancelStatus`` object (or a batchorder cancel element)."""
    if not isinstance(status_obj, dict):
        return OrderResult(False, "missing cancelStatus")
    status = str(status_obj.get("status") or "")
    s = summarize(status_obj.get("orderEvents"))
    oid = status_obj.get("order_id") or s.exchange_order_id
    if status != "cancelled":
        return OrderResult(False, status, order_status_code(status), oid, s.cli_ord_id)
    return OrderResult(True, status, None, oid, s.cli_ord_id)


def parse(body: dict[str, Any]) -> OrderResult:
    """The answer of ``cancelorder``."""
    return parse_status(body.get("cancelStatus"))
