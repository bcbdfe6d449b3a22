"""``[feed]``: typed settings of the market-data feed handler. Every field has a default.

Example::

    [feed]
    metrics_port = 9812
    symbols = ["PF_XBTUSD", "pi_xbtusd"]      # explicit list (any case), or:
    include = ["^PF_"]                          # regexes, case-insensitive, searched
    exclude = ["_2[0-9]{5}$"]                   # drop dated futures
    feeds = ["book", "ticker", "trade"]
    max_subscriptions_per_stream = 128
    record_dir = ""                             # set to record raw frames

    [feed.silence_timeouts]                     # seconds without data per (feed, product)
    ticker = 5.0
    book = 60.0

    [feed.stream]                               # tunables of each WebSocket connection
    ping_interval = 15.0
"""

from __future__ import annotations

import msgspec

from common.config import ServiceSettings
from common.kraken.stream import StreamSettings

PUBLIC_FEEDS = ("book", "ticker", "trade")


def _default_silence() -> dict[str, float]:
    return {"ticker": 5.0, "book": 60.0, "trade": 0.0}


class FeedSettings(ServiceSettings, kw_only=True, forbid_unknown_fields=True):
    """``[feed]``.

    metrics_port: port of ``/metrics`` and ``/health`` (0 disables).
    symbols: explicit symbols to carry (any case; Kraken has sent both). Empty = use
        ``include``.
    include: regular expressions (case-insensitive, ``re.search``); a symbol matching any is
        carried. Used when ``symbols`` is empty. Default: every tradeable contract.
    exclude: regular expressions (case-insensitive); a symbol matching any is dropped (applies
        to ``symbols`` too).
    feeds: public feeds to subscribe, among ``book``, ``ticker``, ``trade``.
    max_subscriptions_per_stream: products per WebSocket connection; more symbols open more
        connections (each product is subscribed to every feed of ``feeds`` on its connection).
    instruments_interval: seconds between reference-data downloads (REST ``instruments``).
    instruments_timeout: seconds allowed for one download.
    silence_timeouts: seconds without a message of a feed for one product after which that
        feed is resubscribed for that product (0 disables; Kraken's ticker talks every second,
        a quiet book may legitimately say nothing for a long time).
    resubscribe_interval: least seconds between two resubscriptions of the same feed of the same
        product (later requests wait for the watchdog).
    snapshot_timeout: seconds a product may wait for its ``book_snapshot`` after subscribing
        before it is resubscribed.
    download_timeout: seconds a connection may stay DOWNLOADING; then it is declared READY with
        the missing products named, and their own timeouts keep retrying them.
    allow_crossed: accept a book whose best bid is at or above its best ask (else it is an
        inconsistency: STALE, then resubscribe).
    strict_deletes: a delete (qty 0) of a level the book does not have is an inconsistency
        (never seen in the real 2021 capture).
    watchdog_interval: seconds between checks of the timeouts above.
    record_dir: directory where raw frames are recorded (one file per connection, the
        simulator's replay format); empty = off.
    record_flush_interval: seconds between flushes of the recording files.
    stream: tunables of each WebSocket connection (:class:`StreamSettings`).
    """

    metrics_port: int = 9812
    symbols: list[str] = []
    include: list[str] = msgspec.field(default_factory=lambda: [".*"])
    exclude: list[str] = []
    feeds: list[str] = msgspec.field(default_factory=lambda: list(PUBLIC_FEEDS))
    max_subscriptions_per_stream: int = 128
    instruments_interval: float = 300.0
    instruments_timeout: float = 10.0
    silence_timeouts: dict[str, float] = msgspec.field(default_factory=_default_silence)
    resubscribe_interval: float = 1.0
    snapshot_timeout: float = 10.0
    download_timeout: float = 30.0
    allow_crossed: bool = False
    strict_deletes: bool = True
    watchdog_interval: float = 0.25
    record_dir: str = ""
    record_flush_interval: float = 1.0
    stream: StreamSettings = msgspec.field(default_factory=StreamSettings)

    def __post_init__(self) -> None:
        unknown = set(self.feeds) - set(PUBLIC_FEEDS)
        if unknown:
            raise ValueError(f"unknown feeds {sorted(unknown)}; choose among {list(PUBLIC_FEEDS)}")
        if self.max_subscriptions_per_stream < 1:
            raise ValueError("max_subscriptions_per_stream must be >= 1")
