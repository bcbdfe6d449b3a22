"""Orders as the engine holds them, and the names Kraken uses for their types."""

from __future__ import annotations

import copy
from dataclasses import dataclass

# REST orderType values the engine accepts.
LIMIT_TYPES = frozenset({"lmt", "post", "ioc", "mkt"})
TRIGGER_TYPES = frozenset({"stp", "take_profit"})
ORDER_TYPES = LIMIT_TYPES | TRIGGER_TYPES

# Kraken quirk: open_orders on the WebSocket names order types differently from REST.
WS_TYPE = {"lmt": "limit", "post": "limit", "ioc": "limit", "mkt": "limit",
           "stp": "stop", "take_profit": "take_profit"}
# ... and the fills feed differently again.
FILL_ORDER_TYPE = {"lmt": "limit", "post": "post", "ioc": "ioc", "mkt": "market",
                   "stp": "stop", "take_profit": "take_profit"}


@dataclass(slots=True)
class Order:
    """A live or finished order.

    qty: original size; filled: cumulative filled size; remaining = qty - filled.
    order_type: the REST type as reported in orderEvents (``mkt`` becomes ``ioc`` there).
    limit_price: None only for a stop/take-profit that triggers a market order.
    stop_price / trigger_signal (``last`` or ``mark``): trigger orders only.
    triggered: a trigger order that has been activated and now behaves as a limit/IOC order.
    time_ms / last_update_ms: received time and last change, epoch milliseconds.
    """

    order_id: str
    account: str
    symbol: str
    side: str
    order_type: str
    qty: float
    limit_price: float | None
    cli_ord_id: str | None = None
    stop_price: float | None = None
    trigger_signal: str = "last"
    reduce_only: bool = False
    filled: float = 0.0
    time_ms: int = 0
    last_update_ms: int = 0
    triggered: bool = False
    status: str = "open"

    @property
    def remaining(self) -> float:
        return max(round(self.qty - self.filled, 10), 0.0)

    @property
    def is_buy(self) -> bool:
        return self.side == "buy"

    @property
    def is_trigger(self) -> bool:
        """Still waiting for its trigger (not yet in the book)."""
        return self.order_type in TRIGGER_TYPES and not self.triggered

    @property
    def trigger_side(self) -> str:
        """``trigger_above`` or ``trigger_below``: which way the signal must cross stop_price."""
        above = self.is_buy if self.order_type == "stp" else not self.is_buy
        return "trigger_above" if above else "trigger_below"

    def snapshot(self) -> Order:
        """An independent copy, for events that must not change when the order does."""
        return copy.copy(self)
