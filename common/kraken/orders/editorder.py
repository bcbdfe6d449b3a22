"""``POST /editorder`` (cost 10): amend a resting order in place, addressed by cliOrdId.

Answer sample (Kraken docs; the simulator answers the same shape)::

    {"result":"success","serverTime":"2019-09-05T16:47:47.521Z","editStatus":{"status":"edited",
      "orderId":"022774bc-2c4a-4f26-9317-436c8d85746d","receivedTime":"2019-09-05T16:47:47.521Z",
      "orderEvents":[{"old":{"orderId":"022774bc-...","cliOrdId":null,"type":"lmt","quantity":1000,
      "filled":0,"limitPrice":9400,...},"new":{...,"quantity":1501,"limitPrice":7200,...},
      "reducedQuantity":null,"type":"EDIT"}]}}
    {"result":"success","editStatus":{"status":"orderForEditNotFound","orderId":"...",
      "receivedTime":"...","orderEvents":[]}}

Kraken quirk: here the id is ``editStatus.orderId`` (camel case), unlike ``sendStatus.order_id``;
an edit keeps both the order id and the cliOrdId.
"""

from __future__ import annotations

from typing import Any

from common.messages import ModifyOrder

from .codes import order_status_code
from .decimals import wire
from .events import summarize
from .instruments import InstrumentRules
from .result import OrderResult


def build(req: ModifyOrder, cli_ord_id: str, rules: InstrumentRules) -> dict[str, str]:
    """Form parameters: the order by ``cliOrdId`` and only the fields that change."""
    params: dict[str, str] = {"cliOrdId": cli_ord_id}
    if req.quantity is not None:
        params["size"] = wire(req.quantity, rules.size_step)
    if req.price is not None:
        params["limitPrice"] = wire(req.price, rules.tick_size)
    if req.stop_price is not None:
        params["stopPrice"] = wire(req.stop_price, rules.tick_size)
    return params


def parse_status(status_obj: Any, *, id_key: str = "orderId") -> OrderResult:
    """Parse an ``editStatus`` object (batchorder edit elements use ``order_id``)."""
    if not isinstance(status_obj, dict):
        return OrderResult(False, "missing editStatus")
    status = str(status_obj.get("status") or "")
    s = summarize(status_obj.get("orderEvents"))
    oid = status_obj.get(id_key) or s.exchange_order_id
    if status != "edited":
        return OrderResult(False, status, order_status_code(status), oid, s.cli_ord_id, open=status != "notFound")
    return OrderResult(True, status, None, oid, s.cli_ord_id, open=True, executed=s.executed)


def parse(body: dict[str, Any]) -> OrderResult:
    """The answer of ``editorder``."""
    return parse_status(body.get("editStatus"))
