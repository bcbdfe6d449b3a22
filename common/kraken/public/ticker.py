"""The public ``ticker`` feed (every field, every second) and ``ticker_lite``.

Quirks: names mix snake_case and camelCase (``openInterest``, ``markPrice``, ``volumeQuote``,
``maturityTime``); funding fields are absent on dated futures and "if zero, not populated";
``next_funding_rate_time`` is an absolute epoch in ms although the docs say "time until";
``leverage`` is a string ("50x"); ``ticker_lite`` has no ``time`` (2021 capture).
"""

from __future__ import annotations

import msgspec


class Ticker(msgspec.Struct, tag_field="feed", tag="ticker", rename={
    "open_interest": "openInterest",
    "mark_price": "markPrice",
    "volume_quote": "volumeQuote",
    "maturity_time": "maturityTime",
}):
    """Statistics of one product. Real (2023, PI_XBTUSD)::

        {"time":1676393235406,"product_id":"PI_XBTUSD","funding_rate":-6.2604214e-11,
         "funding_rate_prediction":-3.65989977e-10,"relative_funding_rate":-1.380384722222e-6,
         "relative_funding_rate_prediction":-8.047629166667e-6,
         "next_funding_rate_time":1676394000000,"feed":"ticker","bid":21978.5,"ask":21987.0,
         "bid_size":2536.0,"ask_size":13948.0,"volume":31403908.0,"dtm":0,"leverage":"50x",
         "index":21984.54,"premium":-0.0,"last":21983.5,"change":1.9974017538161748,
         "suspended":false,"tag":"perpetual","pair":"XBT:USD","openInterest":30072580.0,
         "markPrice":21979.68641534714,"maturityTime":0,"post_only":false,
         "volumeQuote":31403908.0,"open":21968.5,"high":22123.0,"low":21456.0}
    """

    product_id: str
    time: int = 0
    bid: float | None = None
    ask: float | None = None
    bid_size: float | None = None
    ask_size: float | None = None
    last: float | None = None
    index: float | None = None
    mark_price: float | None = None
    funding_rate: float | None = None
    funding_rate_prediction: float | None = None
    relative_funding_rate: float | None = None
    relative_funding_rate_prediction: float | None = None
    next_funding_rate_time: int | None = None
    open_interest: float | None = None
    volume: float | None = None
    volume_quote: float | None = None
    open: float | None = None
    high: float | None = None
    low: float | None = None
    suspended: bool = False
    post_only: bool = False
    tag: str = ""
    maturity_time: int = 0


class TickerLite(msgspec.Struct, tag_field="feed", tag="ticker_lite", rename={"volume_quote": "volumeQuote"}):
    """Top of book and daily figures. Real (2021)::

        {"feed":"ticker_lite","product_id":"FI_BCHUSD_210730","bid":439.3,"ask":439.6,
         "change":2.640803926150981,"premium":0.3,"volume":3413476.0,"tag":"month",
         "pair":"BCH:USD","dtm":7,"maturityTime":1627657200000}
    """

    product_id: str
    bid: float | None = None
    ask: float | None = None
    volume: float | None = None
    volume_quote: float | None = None
