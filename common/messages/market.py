"""Reference and market data published by the feed handler on ``md.<exchange>.<symbol>.<kind>.``."""

from __future__ import annotations

import msgspec

from .enums import Side, SymbolType, TradingStatus, UpdateType
from .header import Level, Message, Price, Quantity, Symbol, TimeNs


class MarginLevel(msgspec.Struct, kw_only=True):
    """One margin tier: from ``threshold`` (contracts for inverse, quote notional for linear)
    upward, the initial and maintenance margin as fractions (0.02 = 2%)."""

    threshold: float
    initial_margin: float
    maintenance_margin: float


class ReferenceData(Message, kw_only=True):
    """Static description of an instrument (topic ``md.<exchange>.<symbol>.refdata.``).

    tick_size: price increment. contract_size: value of one contract. size_step: quantity
    increment (10^-contractValueTradePrecision). size_precision: Kraken's
    contractValueTradePrecision (may be negative). min_size: smallest quantity (one step).
    max_size: Kraken's maxPositionSize. expiry: last trading time (ns) of a dated future.
    """

    exchange: str
    symbol: Symbol
    symbol_type: SymbolType
    tick_size: Price
    contract_size: float
    size_step: Quantity
    size_precision: int
    min_size: Quantity
    max_size: Quantity | None = None
    underlying: str | None = None
    base: str | None = None
    quote: str | None = None
    expiry: TimeNs | None = None
    margin_levels: list[MarginLevel] = []
    post_only: bool = False
    tradeable: bool = True


class MarketStatus(Message, kw_only=True):
    """Trading state of an instrument (topic ``md.<exchange>.<symbol>.status.``)."""

    exchange: str
    symbol: Symbol
    trading_status: TradingStatus


class TopOfBook(Message, kw_only=True):
    """Best bid and ask, published when either changes (topic ``md.<exchange>.<symbol>.tob.``).
    A side with no orders has null price and quantity 0. exchange_seq is Kraken's book seq."""

    exchange: str
    symbol: Symbol
    bid_price: Price | None
    bid_quantity: Quantity
    ask_price: Price | None
    ask_quantity: Quantity
    exchange_seq: int = 0
    exchange_time: TimeNs = 0


class MarketByPrice(Message, kw_only=True):
    """L2 book by price level (topic ``md.<exchange>.<symbol>.mbp.``).

    SNAPSHOT carries the full book (bids best first, asks best first); INCREMENTAL carries
    changed levels with their new absolute quantity (0 = delete); STALE carries no levels and
    says the book must not be used until the next SNAPSHOT. exchange_seq is Kraken's per-product
    book ``seq`` the book is current to.
    """

    exchange: str
    symbol: Symbol
    update_type: UpdateType
    bids: list[Level] = []
    asks: list[Level] = []
    exchange_seq: int = 0
    exchange_time: TimeNs = 0


class Trade(msgspec.Struct, kw_only=True):
    """One public trade. side is the taker's side; trade_id is the exchange's uid."""

    side: Side
    price: Price
    quantity: Quantity
    trade_id: str
    exchange_time: TimeNs = 0


class TradeSummary(Message, kw_only=True):
    """Public trades (topic ``md.<exchange>.<symbol>.trade.``), oldest first."""

    exchange: str
    symbol: Symbol
    trades: list[Trade]
    exchange_time: TimeNs = 0


class Statistics(Message, kw_only=True):
    """Ticker statistics (topic ``md.<exchange>.<symbol>.stats.``); null = not given.

    settlement_price: Kraken's mark price. funding_rate / funding_rate_prediction: absolute
    (quote per contract); relative_funding_rate(_prediction): fraction. next_funding_time: ns.
    volume: 24 h in contracts; volume_quote: 24 h in quote currency; open/high/low: 24 h.
    """

    exchange: str
    symbol: Symbol
    index_price: Price | None = None
    settlement_price: Price | None = None
    last_price: Price | None = None
    funding_rate: float | None = None
    funding_rate_prediction: float | None = None
    relative_funding_rate: float | None = None
    relative_funding_rate_prediction: float | None = None
    next_funding_time: TimeNs | None = None
    open_interest: float | None = None
    volume: float | None = None
    volume_quote: float | None = None
    open_price: Price | None = None
    high_price: Price | None = None
    low_price: Price | None = None
    exchange_time: TimeNs = 0
