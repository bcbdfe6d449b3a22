"""Normalized facts about an account, as the exchange parsers produce them.

Each is one observation, possibly stale or out of order; :class:`common.oms.account_state.
AccountState` turns any arrival order of them into the same published state.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.messages import CancelReason, Liquidity, OrderStatus, OrderType, Side, TimeInForce


@dataclass(slots=True, frozen=True)
class OrderView:
    """What the exchange said an order looked like at ``update_time_ms``.

    remaining: open quantity at that time (None if the exchange did not say, e.g. Kraken's
        REST openorders omits it for untouched trigger orders).
    filled: cumulative filled quantity at that time.
    """

    exchange_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    remaining: float | None
    filled: float
    price: float | None
    stop_price: float | None
    reduce_only: bool
    client_order_id: str | None
    update_time_ms: int
    text: str = ""


@dataclass(slots=True, frozen=True)
class OrderClosed:
    """The exchange removed an order without it being fully filled (cancel, reject, expiry).

    view: the order as it was when removed, when the exchange sent it (may be None: Kraken
        sends a bare ``order_id`` for user cancels).
    status: CANCELLED, REJECTED or EXPIRED.
    """

    exchange_order_id: str
    status: OrderStatus
    reason: CancelReason
    text: str
    view: OrderView | None = None
    client_order_id: str | None = None


@dataclass(slots=True, frozen=True)
class FillEvent:
    """One fill of one order, identified by ``fill_id`` (the exchange's, unique).

    remaining_order_quantity: the order's open quantity right after this fill (None if the
        source does not say: Kraken's REST fills).
    order_type / time_in_force: of the filled order, as far as the fill tells (used only for
        orders never seen as open).
    """

    fill_id: str
    exchange_order_id: str
    client_order_id: str | None
    symbol: str
    side: Side
    quantity: float
    price: float
    time_ms: int
    liquidity: Liquidity
    fee: float
    fee_currency: str
    remaining_order_quantity: float | None
    order_type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.GTC


@dataclass(slots=True, frozen=True)
class PositionEntry:
    """Net position of one symbol (signed: long > 0)."""

    symbol: str
    position: float
    average_price: float | None
    unrealized_pnl: float | None
    time_ms: int


@dataclass(slots=True, frozen=True)
class FundsEntry:
    """Balance of one currency or margin account; fields in ``currency``."""

    currency: str
    balance: float
    available: float | None
    initial_margin: float | None
    maintenance_margin: float | None
    portfolio_value: float | None
    unrealized_pnl: float | None
    time_ms: int
