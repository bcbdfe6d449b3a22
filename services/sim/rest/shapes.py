"""Kraken's REST v3 JSON shapes for orders, order events and account data.

Kraken quirks reproduced here:

* Numbers are JSON numbers almost everywhere, but **strings** inside the CANCEL events of
  ``cancelallorders``/``batchorder`` and in ``orders/status`` (``"quantity":"10"``).
* ``mkt`` orders are reported as ``ioc`` with the protection price as ``limitPrice``.
* Trigger orders appear as ``orderTrigger`` with ``clientId`` (not ``cliOrdId``),
  ``triggerSignal`` ``last_price``/``mark_price`` and ``triggerSide``.
* ``openorders`` omits ``unfilledSize`` for untouched trigger orders (nautilus #4492).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from services.sim.engine.events import RestEvent
from services.sim.engine.orders import Order


def iso(ms: int) -> str:
    """Epoch ms as Kraken prints times: ``2019-09-05T16:33:50.734Z``."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def server_time() -> str:
    return iso(int(time.time() * 1000))


def num_str(x: float | None) -> str | None:
    """A number the way Kraken's string-typed fields print it (``"10"``, ``"0.4"``)."""
    if x is None:
        return None
    s = f"{x:.10f}".rstrip("0").rstrip(".")
    return s if s not in ("", "-0") else "0"


def event_type(o: Order) -> str:
    """``type`` of an order inside orderEvents."""
    if o.order_type == "mkt" or (o.triggered and o.order_type in ("stp", "take_profit")
                                 and o.limit_price is None):
        return "ioc"
    if o.triggered:
        return "lmt"
    return o.order_type


def order_json(o: Order, *, stringly: bool = False) -> dict[str, Any]:
    """The ``order`` object of PLACE/EXECUTION/CANCEL/EDIT events."""
    d: dict[str, Any] = {
        "orderId": o.order_id,
        "cliOrdId": o.cli_ord_id,
        "type": event_type(o),
        "symbol": o.symbol,
        "side": o.side,
        "quantity": o.qty,
        "filled": o.filled,
        "limitPrice": o.limit_price,
        "reduceOnly": o.reduce_only,
        "timestamp": iso(o.time_ms),
        "lastUpdateTimestamp": iso(o.last_update_ms),
    }
    if o.stop_price is not None:
        d["stopPrice"] = o.stop_price
    if stringly:
        for k in ("quantity", "filled", "limitPrice", "stopPrice"):
            if k in d:
                d[k] = num_str(d[k])
    return d


def trigger_json(o: Order) -> dict[str, Any]:
    """The ``orderTrigger`` object of a stop/take-profit PLACE event."""
    return {
        "uid": o.order_id,
        "clientId": o.cli_ord_id,
        "type": "lmt" if o.limit_price is not None else "ioc",
        "symbol": o.symbol,
        "side": o.side,
        "quantity": o.qty,
        "limitPrice": o.limit_price,
        "triggerPrice": o.stop_price,
        "triggerSide": o.trigger_side,
        "triggerSignal": f"{o.trigger_signal}_price",
        "reduceOnly": o.reduce_only,
        "timestamp": iso(o.time_ms),
        "lastUpdateTimestamp": iso(o.last_update_ms),
        "startTime": None,
    }


def order_event(ev: RestEvent, *, stringly_cancel: bool = False) -> dict[str, Any]:
    """One element of ``orderEvents``."""
    if ev.kind == "PLACE":
        if ev.order.is_trigger:
            return {"orderTrigger": trigger_json(ev.order), "type": "PLACE"}
        return {"order": order_json(ev.order), "reducedQuantity": ev.reduced_qty, "type": "PLACE"}
    if ev.kind == "EXECUTION":
        return {
            "type": "EXECUTION",
            "executionId": ev.execution_id,
            "price": ev.price,
            "amount": ev.amount,
            "orderPriorEdit": None,
            "orderPriorExecution": order_json(ev.order),
            "takerReducedQuantity": None,
        }
    if ev.kind == "EDIT":
        assert ev.old is not None
        return {"old": order_json(ev.old), "new": order_json(ev.order), "reducedQuantity": None,
                "type": "EDIT"}
    if ev.order.is_trigger and not stringly_cancel:
        return {"uid": ev.order.order_id, "orderTrigger": trigger_json(ev.order), "type": ev.kind}
    return {"uid": ev.order.order_id, "order": order_json(ev.order, stringly=stringly_cancel),
            "type": ev.kind}


def open_order_json(o: Order) -> dict[str, Any]:
    """One entry of ``openorders``."""
    d: dict[str, Any] = {
        "order_id": o.order_id,
        "symbol": o.symbol,
        "side": o.side,
        "orderType": {"stp": "stop"}.get(o.order_type, o.order_type),
        "limitPrice": o.limit_price,
        "unfilledSize": o.remaining,
        "receivedTime": iso(o.time_ms),
        "status": "untouched" if o.filled == 0 else "partiallyFilled",
        "filledSize": o.filled,
        "reduceOnly": o.reduce_only,
        "lastUpdateTime": iso(o.last_update_ms),
    }
    if o.cli_ord_id is not None:
        d["cliOrdId"] = o.cli_ord_id
    if o.is_trigger:
        d["stopPrice"] = o.stop_price
        d["triggerSignal"] = o.trigger_signal
        if o.limit_price is None:
            del d["limitPrice"]
        if o.filled == 0:
            del d["unfilledSize"]
    return d


ORDER_STATUS = {"open": "ENTERED_BOOK", "filled": "FULLY_EXECUTED", "cancelled": "CANCELLED"}


def order_status_json(o: Order) -> dict[str, Any]:
    """One entry of ``orders/status`` (string-typed numbers; ``quantity`` = remaining)."""
    inner: dict[str, Any] = {
        "type": "TRIGGER_ORDER" if o.is_trigger else "ORDER",
        "orderId": o.order_id,
        "cliOrdId": o.cli_ord_id,
        "symbol": o.symbol,
        "side": o.side,
        "quantity": num_str(o.remaining),
        "filled": num_str(o.filled),
        "limitPrice": num_str(o.limit_price),
        "reduceOnly": o.reduce_only,
        "timestamp": iso(o.time_ms),
        "lastUpdateTimestamp": iso(o.last_update_ms),
    }
    status = ORDER_STATUS.get(o.status, "ENTERED_BOOK")
    if o.is_trigger:
        inner["priceTriggerOptions"] = {
            "triggerPrice": num_str(o.stop_price),
            "triggerSide": o.trigger_side.upper(),
            "triggerSignal": f"{o.trigger_signal}_price".upper(),
        }
        inner["triggerTime"] = None
        if o.status == "open":
            status = "TRIGGER_PLACED"
    return {"order": inner, "status": status, "updateReason": None, "error": None}


def rest_fill_json(f: dict[str, Any]) -> dict[str, Any]:
    """A ``fills`` entry of REST from the engine's fill record (the WS ``fills`` shape)."""
    d: dict[str, Any] = {
        "fill_id": f["fill_id"],
        "symbol": f["instrument"],
        "side": "buy" if f["buy"] else "sell",
        "order_id": f["order_id"],
        "size": f["qty"],
        "price": f["price"],
        "fillTime": iso(int(f["time"])),
        "fillType": f["fill_type"],
    }
    if "cli_ord_id" in f:
        d["cliOrdId"] = f["cli_ord_id"]
    return d
