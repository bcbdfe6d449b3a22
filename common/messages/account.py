"""Account state published by the drop-copy listener on ``oms.<exchange>.<account>.<kind>.``."""

from __future__ import annotations

from .enums import CancelReason, Liquidity, OrderStatus, OrderType, Side, TimeInForce, UpdateType
from .header import Amount, Message, Price, Quantity, SignedQuantity, Symbol, TimeNs


class OrderUpdate(Message, kw_only=True):
    """State of one order (topic ``... .order.``). quantity = total; remaining_quantity = open;
    traded_quantity and average_traded_price come from the fills. order_id is the client's id
    (null for orders not placed through the gateway); exchange_order_id is Kraken's order_id,
    client_order_id its cliOrdId. text carries Kraken's raw reason."""

    account: str
    exchange: str
    symbol: Symbol
    order_id: int | None = None
    exchange_order_id: str
    client_order_id: str | None = None
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce = TimeInForce.GTC
    status: OrderStatus
    quantity: Quantity
    remaining_quantity: Quantity
    traded_quantity: Quantity = 0.0
    average_traded_price: Price | None = None
    price: Price | None = None
    stop_price: Price | None = None
    reduce_only: bool = False
    update_type: UpdateType = UpdateType.INCREMENTAL
    cancel_reason: CancelReason | None = None
    text: str = ""
    exchange_time: TimeNs = 0


class TradeUpdate(Message, kw_only=True):
    """One fill of one order (topic ``... .trade.``); trade_id is Kraken's fill_id, published
    once. fee is what was paid (negative = rebate) in fee_currency."""

    account: str
    exchange: str
    symbol: Symbol
    order_id: int | None = None
    exchange_order_id: str
    client_order_id: str | None = None
    trade_id: str
    side: Side
    price: Price
    quantity: Quantity
    liquidity: Liquidity
    fee: Amount = 0.0
    fee_currency: str = ""
    update_type: UpdateType = UpdateType.INCREMENTAL
    exchange_time: TimeNs = 0


class PositionUpdate(Message, kw_only=True):
    """Net position of one instrument (topic ``... .position.``); 0 when closed."""

    account: str
    exchange: str
    symbol: Symbol
    position: SignedQuantity
    average_price: Price | None = None
    unrealized_pnl: float | None = None
    update_type: UpdateType = UpdateType.INCREMENTAL
    exchange_time: TimeNs = 0


class FundsUpdate(Message, kw_only=True):
    """Balance of one currency or margin account (topic ``... .funds.``).

    currency: e.g. ``USD`` or ``XBT``; balance: total; available: free for new orders (null if
    Kraken did not say); initial_margin / maintenance_margin / portfolio_value /
    unrealized_pnl: in ``currency`` when given.
    """

    account: str
    exchange: str
    currency: str
    balance: Amount
    available: Amount | None = None
    initial_margin: Amount | None = None
    maintenance_margin: Amount | None = None
    portfolio_value: Amount | None = None
    unrealized_pnl: Amount | None = None
    update_type: UpdateType = UpdateType.INCREMENTAL
    exchange_time: TimeNs = 0
