"""Order-entry requests (client DEALER -> router ROUTER) and their acks.

Published by the router on ``oms.<exchange>.<account>.request.`` and ``... .ack.`` too.
"""

from __future__ import annotations

from .enums import (
    ErrorCode,
    OrderType,
    Origin,
    RequestStatus,
    RequestType,
    Side,
    TimeInForce,
    TriggerSignal,
)
from .header import Account, Message, OrderId, Price, Quantity, RequestId, Symbol


class CreateOrder(Message, kw_only=True):
    """Place an order. price is required for LIMIT, optional for STOP/TAKE_PROFIT (without it
    the triggered order is a market order) and absent for MARKET. stop_price is required for
    STOP and TAKE_PROFIT. post_only is LIMIT+GTC only."""

    account: Account
    order_id: OrderId
    request_id: RequestId = ""
    exchange: str = "kraken-futures"
    symbol: Symbol
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce = TimeInForce.GTC
    quantity: Quantity
    price: Price | None = None
    stop_price: Price | None = None
    trigger_signal: TriggerSignal | None = None
    post_only: bool = False
    reduce_only: bool = False


class ModifyOrder(Message, kw_only=True):
    """Amend a working order in place (Kraken editorder); null fields are left unchanged.
    quantity is the new total quantity of the order."""

    account: Account
    order_id: OrderId
    request_id: RequestId = ""
    quantity: Quantity | None = None
    price: Price | None = None
    stop_price: Price | None = None


class CancelOrder(Message, kw_only=True):
    """Cancel a working order."""

    account: Account
    order_id: OrderId
    request_id: RequestId = ""


class CancelAllOrders(Message, kw_only=True):
    """Cancel every open order of an account, or only those of ``symbol``."""

    account: Account
    request_id: RequestId = ""
    symbol: Symbol | None = None


class OrderAck(Message, kw_only=True):
    """Answer to CreateOrder / ModifyOrder / CancelOrder. Several per request: FORWARDED
    (origin GATEWAY) at once, then ACCEPTED / REJECTED / TIMEOUT / DISCONNECTED. text carries
    the exchange's own reason when it has one (e.g. ``postWouldExecute``)."""

    account: str
    order_id: int
    request_id: str = ""
    request_type: RequestType
    origin: Origin
    status: RequestStatus
    error: ErrorCode | None = None
    text: str = ""
    exchange_order_id: str | None = None
    client_order_id: str | None = None


class CancelAllOrdersAck(Message, kw_only=True):
    """Answer to CancelAllOrders; number_of_affected_orders counts the orders cancelled."""

    account: str
    request_id: str = ""
    origin: Origin
    status: RequestStatus
    error: ErrorCode | None = None
    text: str = ""
    number_of_affected_orders: int = 0
