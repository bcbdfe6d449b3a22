"""``open_orders`` / ``open_orders_verbose`` (WebSocket) and ``openorders`` (REST).

Kraken quirks handled here (protocol reference section 4.3):

- ``direction`` is 0 for buy and 1 for sell;
- ``qty`` is the **remaining** open quantity, ``filled`` the cumulative filled quantity;
- ``is_cancel: true`` means "removed from the open orders", which includes full fills: the
  reasons ``full_fill`` and ``partial_fill`` are fills, never cancels;
- a user cancel may come as a bare ``order_id`` without the order object;
- ``type`` is only ``limit``/``stop``/``take_profit``: post-only and IOC orders look like limits;
- the verbose feed adds the post-only and IOC failures the plain feed never sends (without them
  an IOC's cancelled remainder would look open forever);
- REST ``openorders`` uses other names (``unfilledSize``, ``filledSize``, ``side`` words), may
  give the symbol in lower case, names the client id ``cliOrdId`` or ``cli_ord_id``, and omits
  ``unfilledSize`` for untouched trigger orders (nautilus #4492).
"""

from __future__ import annotations

import msgspec

from common.messages import CancelReason, OrderStatus, OrderType, Side, TimeInForce
from common.oms.inputs import OrderClosed, OrderView

from .wire import ParseError, decode, decoder, iso_ms, side_of

#: removal reasons that are fills, not cancels (is_cancel true or not)
FILL_REASONS = frozenset({"full_fill", "partial_fill"})

#: reasons that never end an order even if a message carries ``is_cancel: true`` (a triggered
#: stop continues as a limit order under the same order_id; an edit keeps the order)
CONTINUING_REASONS = frozenset(
    {"new_placed_order_by_user", "stop_order_triggered", "limit_order_from_stop", "edited_by_user"}
) | FILL_REASONS

#: Kraken's removal reasons -> (final status, schema reason)
CANCEL_REASONS: dict[str, tuple[OrderStatus, CancelReason]] = {
    "cancelled_by_user": (OrderStatus.CANCELLED, CancelReason.USER),
    "dead_man_switch": (OrderStatus.CANCELLED, CancelReason.DEAD_MAN_SWITCH),
    # docs spelling, and the one ccxt quotes from a real message
    "post_order_failed_because_it_would_filled": (OrderStatus.REJECTED, CancelReason.POST_ONLY_WOULD_EXECUTE),
    "post_order_failed_because_it_would_be_filled": (OrderStatus.REJECTED, CancelReason.POST_ONLY_WOULD_EXECUTE),
    "ioc_order_failed_because_it_would_not_be_executed": (OrderStatus.CANCELLED, CancelReason.IOC_NOT_EXECUTED),
    "would_execute_self": (OrderStatus.CANCELLED, CancelReason.SELF_TRADE),
    "would_not_reduce_position": (OrderStatus.CANCELLED, CancelReason.WOULD_NOT_REDUCE_POSITION),
    "not_enough_margin": (OrderStatus.CANCELLED, CancelReason.INSUFFICIENT_MARGIN),
    "market_inactive": (OrderStatus.CANCELLED, CancelReason.MARKET_INACTIVE),
    "contract_expired": (OrderStatus.EXPIRED, CancelReason.CONTRACT_EXPIRED),
    "liquidation": (OrderStatus.CANCELLED, CancelReason.LIQUIDATION),
    "cancelled_by_admin": (OrderStatus.CANCELLED, CancelReason.ADMIN),
}

#: WebSocket ``type`` and REST ``orderType`` -> (order type, time in force)
ORDER_TYPES: dict[str, tuple[OrderType, TimeInForce]] = {
    "limit": (OrderType.LIMIT, TimeInForce.GTC),
    "lmt": (OrderType.LIMIT, TimeInForce.GTC),
    "post": (OrderType.LIMIT, TimeInForce.GTC),
    "ioc": (OrderType.LIMIT, TimeInForce.IOC),
    "mkt": (OrderType.MARKET, TimeInForce.IOC),
    "market": (OrderType.MARKET, TimeInForce.IOC),
    "stop": (OrderType.STOP, TimeInForce.GTC),
    "stp": (OrderType.STOP, TimeInForce.GTC),
    "trailing_stop": (OrderType.STOP, TimeInForce.GTC),
    "take_profit": (OrderType.TAKE_PROFIT, TimeInForce.GTC),
}


def order_type_of(word: str) -> tuple[OrderType, TimeInForce]:
    """Kraken's order type word -> (OrderType, TimeInForce); unknown words (Kraken sends
    ``unknown`` at times, section 8) are taken as a GTC limit."""
    return ORDER_TYPES.get(word.lower(), (OrderType.LIMIT, TimeInForce.GTC))


def _price(p: float | None) -> float | None:
    # Kraken writes 0.0 for "no price" on the WebSocket
    return p if p else None


class WireOrder(msgspec.Struct):
    instrument: str
    order_id: str
    qty: float
    filled: float = 0.0
    time: int = 0
    last_update_time: int = 0
    limit_price: float | None = None
    stop_price: float | None = None
    type: str = "limit"
    direction: int = 0
    reduce_only: bool = False
    cli_ord_id: str | None = None


class WireSnapshot(msgspec.Struct):
    feed: str
    orders: list[WireOrder]
    account: str = ""


class WireDelta(msgspec.Struct):
    feed: str
    order: WireOrder | None = None
    order_id: str | None = None
    cli_ord_id: str | None = None
    is_cancel: bool = False
    reason: str = ""


_snapshot = decoder(WireSnapshot)
_delta = decoder(WireDelta)


def view_of(o: WireOrder, text: str = "") -> OrderView:
    """The normalized view of one WebSocket order object."""
    if o.direction not in (0, 1):
        raise ParseError("bad_direction", str(o.direction))
    order_type, tif = order_type_of(o.type)
    return OrderView(
        exchange_order_id=o.order_id,
        symbol=o.instrument.upper(),
        side=Side.BUY if o.direction == 0 else Side.SELL,  # Kraken: 0 = buy, 1 = sell
        order_type=order_type,
        time_in_force=tif,
        remaining=max(o.qty, 0.0),  # Kraken: qty is what is still open
        filled=max(o.filled, 0.0),
        price=_price(o.limit_price),
        stop_price=_price(o.stop_price),
        reduce_only=o.reduce_only,
        client_order_id=o.cli_ord_id,
        update_time_ms=o.last_update_time or o.time,
        text=text,
    )


def parse_snapshot(data: bytes | str) -> list[OrderView]:
    """``open_orders_snapshot`` / ``open_orders_verbose_snapshot``: every open order::

        {"feed":"open_orders_snapshot","account":"e258dba9-4dd4-4da5-bfef-75beb91c098e",
         "orders":[{"instrument":"PI_XBTUSD","time":1612275024153,"last_update_time":
         1612275024153,"qty":1000,"filled":0,"limit_price":34900,"stop_price":13789,
         "type":"stop","order_id":"723ba95f-13b7-418b-8fcf-ab7ba6620555","direction":1,
         "reduce_only":false,"triggerSignal":"last"}]}
    """
    snap = decode(_snapshot, data, "open_orders_snapshot")
    return [view_of(o) for o in snap.orders]


def parse_delta(data: bytes | str) -> OrderView | OrderClosed:
    """``open_orders`` / ``open_orders_verbose``: an order placed, changed or removed::

        {"feed":"open_orders","order":{"instrument":"PI_XBTUSD","time":1567702877410,
         "last_update_time":1567702877410,"qty":304.0,"filled":0.0,"limit_price":10640.0,
         "stop_price":0.0,"type":"limit","order_id":"59302619-41d2-4f0b-941f-7e7914760ad3",
         "direction":1,"reduce_only":true},"is_cancel":false,"reason":"new_placed_order_by_user"}
        {"feed":"open_orders","order_id":"660c6b23-8007-48c1-a7c9-4893f4572e8c",
         "is_cancel":true,"reason":"cancelled_by_user"}
        {"feed":"open_orders","order":{...,"qty":0.0,"filled":0.0001,...},"is_cancel":true,
         "reason":"full_fill"}

    Returns an :class:`OrderView` for placements, changes and fills (including ``is_cancel``
    with ``full_fill``/``partial_fill``), an :class:`OrderClosed` for cancels, rejections and
    expiries.
    """
    d = decode(_delta, data, "open_orders")
    view = view_of(d.order, d.reason) if d.order is not None else None
    if not d.is_cancel or d.reason in CONTINUING_REASONS:
        if view is None:
            raise ParseError("open_orders_no_order", d.reason)
        return view
    order_id = d.order.order_id if d.order is not None else d.order_id
    if not order_id:
        raise ParseError("open_orders_no_order_id", d.reason)
    status, reason = CANCEL_REASONS.get(d.reason, (OrderStatus.CANCELLED, CancelReason.OTHER))
    cli = d.order.cli_ord_id if d.order is not None else d.cli_ord_id
    return OrderClosed(order_id, status, reason, d.reason, view=view, client_order_id=cli)


class RestOpenOrder(msgspec.Struct):
    order_id: str
    symbol: str
    side: str
    orderType: str = "lmt"
    limitPrice: float | None = None
    stopPrice: float | None = None
    unfilledSize: float | None = None
    filledSize: float = 0.0
    reduceOnly: bool = False
    receivedTime: str | None = None
    lastUpdateTime: str | None = None
    cliOrdId: str | None = None
    cli_ord_id: str | None = None


class RestOpenOrders(msgspec.Struct):
    result: str
    openOrders: list[RestOpenOrder] = []
    error: str | None = None


_rest = decoder(RestOpenOrders)


def parse_rest(data: bytes | str) -> list[OrderView]:
    """REST ``GET /openorders``::

        {"result":"success","openOrders":[{"order_id":"59302619-41d2-4f0b-941f-7e7914760ad3",
         "symbol":"PI_XBTUSD","side":"sell","orderType":"lmt","limitPrice":10640,
         "unfilledSize":304,"receivedTime":"2019-09-05T17:01:17.410Z","status":"untouched",
         "filledSize":0,"reduceOnly":true,"lastUpdateTime":"2019-09-05T17:01:17.410Z"}],
         "serverTime":"2019-09-05T17:08:18.138Z"}
    """
    doc = decode(_rest, data, "openorders")
    if doc.result != "success":
        raise ParseError("openorders_error", doc.error or doc.result)
    out = []
    for o in doc.openOrders:
        order_type, tif = order_type_of(o.orderType)
        out.append(
            OrderView(
                exchange_order_id=o.order_id,
                symbol=o.symbol.upper(),
                side=side_of(o.side),
                order_type=order_type,
                time_in_force=tif,
                remaining=o.unfilledSize,
                filled=o.filledSize,
                price=_price(o.limitPrice),
                stop_price=_price(o.stopPrice),
                reduce_only=o.reduceOnly,
                client_order_id=o.cliOrdId or o.cli_ord_id,
                update_time_ms=iso_ms(o.lastUpdateTime) or iso_ms(o.receivedTime),
            )
        )
    return out
