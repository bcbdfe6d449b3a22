"""``POST /sendorder`` (cost 10): build the parameters of one CreateOrder, parse the answer.

Answer samples (simulator, shaped like Kraken's docs and the 2026 ccxt capture)::

    {"result":"success","sendStatus":{"order_id":"47158a7e-...","status":"placed",
      "receivedTime":"2026-11-22T05:20:03.224Z","orderEvents":[{"order":{"orderId":"47158a7e-...",
      "cliOrdId":"k1.alice.1","type":"lmt","symbol":"PF_XBTUSD","side":"buy","quantity":0.001,
      "filled":0.0,"limitPrice":50000.0,"reduceOnly":false,...},"reducedQuantity":null,"type":"PLACE"}]},
     "serverTime":"2026-11-22T05:20:03.224Z"}
    {"result":"success","sendStatus":{"status":"postWouldExecute",
      "receivedTime":"2026-11-22T05:20:03.225Z","orderEvents":[]},"serverTime":"..."}

Kraken quirks: the id is ``sendStatus.order_id`` (snake case; ``editStatus.orderId`` is camel
case); a rejection is ``result: success`` with the reason in ``status``; ``mkt`` comes back as
an ``ioc`` with a protection price and is never left open; stop/take-profit orders answer with an
``orderTrigger`` event whose client id field is ``clientId``.
"""

from __future__ import annotations

from typing import Any

from common.messages import CreateOrder, OrderType, TimeInForce, TriggerSignal

from .codes import order_status_code
from .decimals import wire
from .events import summarize
from .instruments import InstrumentRules
from .result import OrderResult

ACCEPTED_STATUSES = frozenset({"placed", "partiallyFilled", "filled"})
"""Statuses that mean the order was taken (ccxt: ``filled`` is a success too)."""

TRIGGER_SIGNALS = {TriggerSignal.MARK: "mark", TriggerSignal.LAST: "last", TriggerSignal.INDEX: "spot"}
"""Kraken's ``triggerSignal`` values; INDEX is ``spot`` in the documented REST enum."""


def kraken_order_type(req: CreateOrder) -> str:
    """Kraken's ``orderType`` for a request that passed validation."""
    if req.order_type is OrderType.MARKET:
        return "mkt"
    if req.order_type is OrderType.STOP:
        return "stp"
    if req.order_type is OrderType.TAKE_PROFIT:
        return "take_profit"
    if req.post_only:
        return "post"
    if req.time_in_force is TimeInForce.IOC:
        return "ioc"
    return "lmt"


def build(req: CreateOrder, cli_ord_id: str, rules: InstrumentRules) -> dict[str, str]:
    """Form parameters of one order; prices and sizes printed on their grids."""
    params: dict[str, str] = {
        "orderType": kraken_order_type(req),
        "symbol": rules.symbol,
        "side": "buy" if req.side.value == "BUY" else "sell",
        "size": wire(req.quantity, rules.size_step),
    }
    if req.price is not None and req.order_type is not OrderType.MARKET:
        params["limitPrice"] = wire(req.price, rules.tick_size)
    if req.stop_price is not None and req.order_type in (OrderType.STOP, OrderType.TAKE_PROFIT):
        params["stopPrice"] = wire(req.stop_price, rules.tick_size)
        if req.trigger_signal is not None:
            params["triggerSignal"] = TRIGGER_SIGNALS[req.trigger_signal]
    if req.reduce_only:
        params["reduceOnly"] = "true"
    params["cliOrdId"] = cli_ord_id
    return params


def parse_status(status_obj: Any, *, id_key: str = "order_id") -> OrderResult:
    """Parse a ``sendStatus`` object (or a batchorder send element, same keys)."""
    if not isinstance(status_obj, dict):
        return OrderResult(False, "missing sendStatus")
    status = str(status_obj.get("status") or "")
    s = summarize(status_obj.get("orderEvents"))
    oid = status_obj.get(id_key) or s.exchange_order_id
    if status not in ACCEPTED_STATUSES:
        return OrderResult(False, status, order_status_code(status), oid, s.cli_ord_id)
    done = (
        (s.order_type in ("ioc", "mkt") and not s.trigger)
        or bool(s.kinds & {"CANCEL", "REJECT", "EXPIRE", "EXPIRED"})
        or status == "filled"
        or (s.quantity is not None and s.executed >= s.quantity - 1e-12 and s.executed > 0)
    )
    return OrderResult(True, status, None, oid, s.cli_ord_id, open=not done, executed=s.executed)


def parse(body: dict[str, Any]) -> OrderResult:
    """The answer of ``sendorder`` (a success envelope)."""
    return parse_status(body.get("sendStatus"))
