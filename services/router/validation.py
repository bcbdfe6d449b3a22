"""Checks a request must pass before anything leaves for Kraken, sans-I/O.

Each check returns None (passed) or a :class:`Refusal` naming the ErrorCode and a text for
the client. Order of checks: gateway ready, account known, user permitted (account and
symbol), symbol known and tradeable, order type / time in force / flags supported by Kraken,
quantity on the size step and within min/max, prices on the tick grid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from common.kraken.orders.decimals import steps
from common.kraken.orders.instruments import InstrumentRules
from common.messages import CreateOrder, ErrorCode, ModifyOrder, OrderType, TimeInForce

from .permissions import User


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is rejected by the gateway (origin GATEWAY, status REJECTED)."""

    error: ErrorCode
    text: str


def check_access(user: User, account: str, symbol: str | None, accounts: Mapping[str, object]) -> Refusal | None:
    """Known account, and ``user`` may trade ``symbol`` (None = all symbols) on it."""
    if account not in accounts:
        return Refusal(ErrorCode.INVALID_ACCOUNT, f"unknown account {account!r}")
    if not user.may_trade(account, symbol):
        what = f"symbol {symbol}" if symbol else "every symbol"
        return Refusal(ErrorCode.NOT_AUTHORIZED, f"user {user.name!r} may not trade {what} on account {account!r}")
    return None


def _quantity(q: float, rules: InstrumentRules) -> Refusal | None:
    if not q > 0:
        return Refusal(ErrorCode.INVALID_QUANTITY, "quantity must be > 0")
    if steps(q, rules.size_step) is None:
        return Refusal(ErrorCode.INVALID_QUANTITY, f"quantity {q} is not a multiple of {rules.size_step}")
    if q < rules.min_size - 1e-12:
        return Refusal(ErrorCode.INVALID_QUANTITY, f"quantity {q} below minimum {rules.min_size}")
    if rules.max_size is not None and q > rules.max_size:
        return Refusal(ErrorCode.INVALID_QUANTITY, f"quantity {q} above maximum {rules.max_size}")
    return None


def _price(p: float, rules: InstrumentRules, name: str) -> Refusal | None:
    if not p > 0:
        return Refusal(ErrorCode.INVALID_PRICE, f"{name} must be > 0")
    if steps(p, rules.tick_size) is None:
        return Refusal(ErrorCode.INVALID_PRICE, f"{name} {p} is not on the tick grid {rules.tick_size}")
    return None


def check_symbol(symbol: str, instruments: Mapping[str, InstrumentRules]) -> InstrumentRules | Refusal:
    """The rules of ``symbol``, or why it cannot be traded."""
    rules = instruments.get(symbol.upper())
    if rules is None:
        return Refusal(ErrorCode.INVALID_SYMBOL, f"unknown symbol {symbol!r}")
    if not rules.tradeable:
        return Refusal(ErrorCode.MARKET_CLOSED, f"{rules.symbol} is not tradeable")
    return rules


def check_create(req: CreateOrder, rules: InstrumentRules) -> Refusal | None:
    """Order type, time in force, flags, quantity and prices of a new order."""
    t = req.order_type
    if t is OrderType.LIMIT:
        if req.price is None:
            return Refusal(ErrorCode.INVALID_PRICE, "LIMIT needs a price")
        if req.stop_price is not None:
            return Refusal(ErrorCode.INVALID_ORDER_TYPE, "LIMIT takes no stop_price")
        if req.post_only and req.time_in_force is not TimeInForce.GTC:
            return Refusal(ErrorCode.INVALID_TIME_IN_FORCE, "post_only is GTC only")
    elif t is OrderType.MARKET:
        if req.price is not None or req.stop_price is not None:
            return Refusal(ErrorCode.INVALID_ORDER_TYPE, "MARKET takes no price or stop_price")
        if req.post_only:
            return Refusal(ErrorCode.INVALID_ORDER_TYPE, "MARKET cannot be post_only")
    else:  # STOP, TAKE_PROFIT
        if req.stop_price is None:
            return Refusal(ErrorCode.INVALID_PRICE, f"{t.value} needs a stop_price")
        if req.post_only:
            return Refusal(ErrorCode.INVALID_ORDER_TYPE, f"{t.value} cannot be post_only")
        if req.time_in_force is not TimeInForce.GTC:
            return Refusal(ErrorCode.INVALID_TIME_IN_FORCE, f"{t.value} is GTC only")
    if req.trigger_signal is not None and t not in (OrderType.STOP, OrderType.TAKE_PROFIT):
        return Refusal(ErrorCode.INVALID_ORDER_TYPE, "trigger_signal is for STOP and TAKE_PROFIT only")
    if rules.post_only and not req.post_only:
        return Refusal(ErrorCode.MARKET_CLOSED, f"{rules.symbol} accepts post-only orders only")
    refusal = _quantity(req.quantity, rules)
    if refusal is None and req.price is not None:
        refusal = _price(req.price, rules, "price")
    if refusal is None and req.stop_price is not None:
        refusal = _price(req.stop_price, rules, "stop_price")
    return refusal


def check_modify(req: ModifyOrder, rules: InstrumentRules, order_type: OrderType) -> Refusal | None:
    """Fields of an amendment: at least one, each valid for the order's type."""
    if req.quantity is None and req.price is None and req.stop_price is None:
        return Refusal(ErrorCode.INVALID_MESSAGE, "nothing to modify")
    if order_type is OrderType.MARKET:
        return Refusal(ErrorCode.INVALID_ORDER_TYPE, "a MARKET order cannot be modified")
    if req.stop_price is not None and order_type is OrderType.LIMIT:
        return Refusal(ErrorCode.INVALID_ORDER_TYPE, "a LIMIT order has no stop_price")
    refusal = _quantity(req.quantity, rules) if req.quantity is not None else None
    if refusal is None and req.price is not None:
        refusal = _price(req.price, rules, "price")
    if refusal is None and req.stop_price is not None:
        refusal = _price(req.stop_price, rules, "stop_price")
    return refusal
