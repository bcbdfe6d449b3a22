"""Private WebSocket feeds: open_orders (+ verbose) and fills. (open_positions and balances
are in services/sim/account_views.py, shared with REST.)"""

from __future__ import annotations

from typing import Any

from services.sim.account_views import account_uid
from services.sim.engine.engine import Engine
from services.sim.engine.events import OrderUpdate
from services.sim.engine.orders import WS_TYPE, Order

# reasons whose open_orders message carries no order object (docs: cancel sample)
_BARE_CANCEL_REASONS = frozenset({"cancelled_by_user", "dead_man_switch", "cancelled_by_admin"})


def ws_order(o: Order) -> dict[str, Any]:
    """An order as open_orders shows it: ``direction`` 0 = buy / 1 = sell, ``qty`` remaining."""
    d: dict[str, Any] = {
        "instrument": o.symbol,
        "time": o.time_ms,
        "last_update_time": o.last_update_ms,
        "qty": o.remaining,
        "filled": o.filled,
        "limit_price": o.limit_price if o.limit_price is not None else 0.0,
        "stop_price": o.stop_price if o.stop_price is not None and o.is_trigger else 0.0,
        "type": WS_TYPE[o.order_type] if o.is_trigger or not o.triggered else "limit",
        "order_id": o.order_id,
        "direction": 0 if o.is_buy else 1,
        "reduce_only": o.reduce_only,
    }
    if o.cli_ord_id is not None:
        d["cli_ord_id"] = o.cli_ord_id
    if o.is_trigger:
        d["triggerSignal"] = o.trigger_signal
    return d


def open_orders_snapshot(engine: Engine, account: str, verbose: bool) -> dict[str, Any]:
    """::

        {"feed":"open_orders_snapshot","account":"e258dba9-...","orders":[{"instrument":
         "PI_XBTUSD","time":1612275024153,"last_update_time":1612275024153,"qty":1000,
         "filled":0,"limit_price":34900,"stop_price":13789,"type":"stop","order_id":
         "723ba95f-...","direction":1,"reduce_only":false,"triggerSignal":"last"}]}
    """
    feed = "open_orders_verbose_snapshot" if verbose else "open_orders_snapshot"
    return {"feed": feed, "account": account_uid(account),
            "orders": [ws_order(o) for o in engine.open_orders(account)]}


def open_orders_delta(u: OrderUpdate, verbose: bool) -> dict[str, Any]:
    """A placement/update, or a removal (``is_cancel`` true) with Kraken's ``reason``::

        {"feed":"open_orders","order":{...},"is_cancel":false,"reason":"new_placed_order_by_user"}
        {"feed":"open_orders","order_id":"660c6b23-...","is_cancel":true,
         "reason":"cancelled_by_user"}
        {"feed":"open_orders","order":{...,"qty":0.0,"filled":0.0001,...},"is_cancel":true,
         "reason":"full_fill"}
    """
    feed = "open_orders_verbose" if verbose else "open_orders"
    if u.is_cancel and u.reason in _BARE_CANCEL_REASONS:
        msg: dict[str, Any] = {"feed": feed, "order_id": u.order.order_id}
        if u.order.cli_ord_id is not None:
            msg["cli_ord_id"] = u.order.cli_ord_id
        msg.update({"is_cancel": True, "reason": u.reason})
        return msg
    return {"feed": feed, "order": ws_order(u.order), "is_cancel": u.is_cancel,
            "reason": u.reason}


def fills_snapshot(engine: Engine, account: str) -> dict[str, Any]:
    """The account's recent fills, newest first::

        {"feed":"fills_snapshot","account":"DemoUser","fills":[{"instrument":
         "FI_XBTUSD_200925","time":1600256910739,"price":10937.5,"seq":36,"buy":true,
         "qty":5000.0,"remaining_order_qty":0.0,"order_id":"9e30258b-...","fill_id":
         "cad76f07-...","fill_type":"maker","fee_paid":-0.00009142857,"fee_currency":"BTC",
         "taker_order_type":"ioc","order_type":"limit"}]}
    """
    acct = engine.accounts[account]
    return {"feed": "fills_snapshot", "account": account_uid(account),
            "fills": list(acct.fills)[:100]}


def fills_delta(account: str, fill: dict[str, Any]) -> dict[str, Any]:
    """Kraken quirk: the live delta names the account ``username`` (real 2025)::

        {"feed":"fills","username":"6a70e882-...","fills":[{"instrument":"PF_ETHUSD",
         "time":1765185437003,"price":3162.0,"seq":1,"buy":true,"qty":0.001,...,
         "cli_ord_id":"b661bad0-...","fill_type":"taker","fee_paid":0.001581,
         "fee_currency":"USD","taker_order_type":"market","order_type":"market"}]}
    """
    return {"feed": "fills", "username": account_uid(account), "fills": [fill]}
