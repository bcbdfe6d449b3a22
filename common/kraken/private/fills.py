"""``fills`` / ``fills_snapshot`` (WebSocket) and ``fills`` (REST).

Kraken quirks handled here (protocol reference sections 3.2, 4.3):

- the side is a boolean ``buy`` on the WebSocket and a word ``side`` in REST;
- the live delta names the account ``username``, the snapshot ``account`` (both ignored);
- ``seq`` is not continuous with the snapshot's, so fills are identified by ``fill_id`` only;
- ``fee_paid`` is negative for a rebate; REST fills may not carry fees at all;
- ``fill_type`` is ``maker``, ``taker``, ``takerAfterEdit``, or one of the liquidation and
  assignment kinds (``liquidation``, ``assignee``, ``assignor``, ``unwindBankrupt``,
  ``unwindCounterparty``);
- ``remaining_order_qty`` (WebSocket only) is the order's open quantity after the fill, which
  is how an order that never appeared on ``open_orders`` (a fast fill) is known to be done.

Each fill stands alone, so one unusable entry is rejected (its reason returned for counting)
without losing the others of the same message: a snapshot carries up to 100 fills.
"""

from __future__ import annotations

import msgspec

from common.messages import Liquidity, Side
from common.oms.inputs import FillEvent

from .open_orders import order_type_of
from .wire import ParseError, T, decode, decoder, iso_ms, side_of

LIQUIDITY: dict[str, Liquidity] = {
    "maker": Liquidity.MAKER,
    "taker": Liquidity.TAKER,
    "takerafteredit": Liquidity.TAKER,
}


def liquidity_of(fill_type: str) -> Liquidity:
    """Kraken ``fill_type`` -> Liquidity; liquidations and assignments are OTHER."""
    return LIQUIDITY.get(fill_type.lower(), Liquidity.OTHER)


class WireFill(msgspec.Struct):
    instrument: str
    fill_id: str
    order_id: str
    buy: bool
    qty: float
    price: float
    time: int = 0
    remaining_order_qty: float | None = None
    cli_ord_id: str | None = None
    fill_type: str = ""
    fee_paid: float = 0.0
    fee_currency: str = ""
    order_type: str = "limit"


class WireFills(msgspec.Struct):
    feed: str
    fills: list[msgspec.Raw] = []


_ws = decoder(WireFills)
_ws_fill = decoder(WireFill)

#: fills parsed, and the reasons of the entries rejected
Parsed = tuple[list[FillEvent], list[str]]


def _each(raws: list[msgspec.Raw], dec: msgspec.json.Decoder[T], reason: str) -> tuple[list[T], list[str]]:
    """Decode every entry on its own; a bad one is rejected, not the whole message."""
    good: list[T] = []
    rejected: list[str] = []
    for raw in raws:
        try:
            good.append(decode(dec, raw, reason))
        except ParseError as e:
            rejected.append(e.reason)
    return good, rejected


def parse(data: bytes | str) -> Parsed:
    """``fills_snapshot`` (recent fills, newest first) or ``fills`` (new fills)::

        {"feed":"fills","username":"6a70e882-4405-4dc5-9c49-010ddf2a6746","fills":[
         {"instrument":"PF_ETHUSD","time":1765185437003,"price":3162.0,"seq":1,"buy":true,
          "qty":0.001,"remaining_order_qty":0.0,"order_id":"a08aed17-f1a6-4db6-876c-2de5df84951c",
          "cli_ord_id":"b661bad0-7037-4b73-9e07-a65b515e4ef7","fill_id":
          "6a22a3fb-e18e-4e76-b841-8689735c9158","fill_type":"taker","fee_paid":0.001581,
          "fee_currency":"USD","taker_order_type":"market","order_type":"market"}]}
    """
    msg = decode(_ws, data, "fills")
    entries, rejected = _each(msg.fills, _ws_fill, "fill")
    out = []
    for f in entries:
        if f.qty <= 0:
            rejected.append("fill_qty")
            continue
        order_type, tif = order_type_of(f.order_type)
        out.append(
            FillEvent(
                fill_id=f.fill_id,
                exchange_order_id=f.order_id,
                client_order_id=f.cli_ord_id,
                symbol=f.instrument.upper(),
                side=Side.BUY if f.buy else Side.SELL,
                quantity=f.qty,
                price=f.price,
                time_ms=f.time,
                liquidity=liquidity_of(f.fill_type),
                fee=f.fee_paid,
                fee_currency=f.fee_currency,
                remaining_order_quantity=f.remaining_order_qty,
                order_type=order_type,
                time_in_force=tif,
            )
        )
    return out, rejected


class RestFill(msgspec.Struct):
    fill_id: str
    symbol: str
    side: str
    order_id: str
    size: float
    price: float
    fillTime: str | None = None
    fillType: str = ""
    cliOrdId: str | None = None
    cli_ord_id: str | None = None
    fee_paid: float = 0.0
    fee_currency: str = ""


class RestFills(msgspec.Struct):
    result: str
    fills: list[msgspec.Raw] = []
    error: str | None = None


_rest = decoder(RestFills)
_rest_fill = decoder(RestFill)


def parse_rest(data: bytes | str) -> Parsed:
    """REST ``GET /fills`` (last 100 fills, newest first)::

        {"result":"success","fills":[{"fill_id":"3d57ed09-...","symbol":"PI_XBTUSD",
         "side":"buy","order_id":"693af756-...","size":5490,"price":9400,
         "fillTime":"2020-07-22T13:37:27.077Z","fillType":"maker"}],
         "serverTime":"2020-07-22T13:44:24.311Z"}
    """
    doc = decode(_rest, data, "rest_fills")
    if doc.result != "success":
        raise ParseError("fills_error", doc.error or doc.result)
    entries, rejected = _each(doc.fills, _rest_fill, "rest_fill")
    out = []
    for f in entries:
        try:
            side = side_of(f.side)
        except ParseError as e:
            rejected.append(e.reason)
            continue
        if f.size <= 0:
            rejected.append("fill_qty")
            continue
        out.append(
            FillEvent(
                fill_id=f.fill_id,
                exchange_order_id=f.order_id,
                client_order_id=f.cliOrdId or f.cli_ord_id,
                symbol=f.symbol.upper(),
                side=side,
                quantity=f.size,
                price=f.price,
                time_ms=iso_ms(f.fillTime),
                liquidity=liquidity_of(f.fillType),
                fee=f.fee_paid,
                fee_currency=f.fee_currency,
                remaining_order_quantity=None,
            )
        )
    return out, rejected
