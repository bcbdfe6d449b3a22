"""Market data for clients: consistent L2 books and the latest state of each instrument.

::

    md = MarketData(symbols=["PF_XBTUSD"])          # endpoints default to the demo socket map
    await md.start()
    async for update in md.updates():               # each update already applied to md's state
        book = md.books["PF_XBTUSD"]                # common.book.Book: bids/asks, best, depth
        if "PF_XBTUSD" in md.stale: ...             # not trustworthy right now (resyncing)
        if "PF_XBTUSD" in md.unpublished: ...       # the feed has nothing for it (unknown symbol?)

The snapshot-then-updates dance (Clone pattern) is done by :class:`~common.client.mirror.Mirror`:
a gap, a STALE book or a feed restart resynchronizes that book by itself.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterable

from common import topics
from common.book import Book
from common.messages import (
    MarketByPrice,
    MarketStatus,
    ReferenceData,
    Statistics,
    TopOfBook,
    Trade,
    TradeSummary,
    UpdateType,
)

from .mirror import Mirror, Update, UpdateKind

DEFAULT_FEED_PUB = "tcp://127.0.0.1:9810"
DEFAULT_FEED_SNAPSHOT = "tcp://127.0.0.1:9811"


class MarketData:
    """Mirror of the market data of ``symbols`` published by the feed handler.

    pub_endpoint / snapshot_endpoint: the feed's PUB and snapshot ROUTER.
    exchange: exchange name in topics. trades_kept: last public trades kept per symbol.
    """

    def __init__(
        self,
        symbols: Iterable[str],
        *,
        pub_endpoint: str = DEFAULT_FEED_PUB,
        snapshot_endpoint: str = DEFAULT_FEED_SNAPSHOT,
        exchange: str = "kraken-futures",
        trades_kept: int = 100,
    ) -> None:
        self.symbols = [s.upper() for s in symbols]
        self.exchange = exchange
        #: symbol -> the topic prefix mirrored for it
        self._prefixes = {s: f"md.{exchange}.{s}." for s in self.symbols}
        self.mirror = Mirror("feed", pub_endpoint, snapshot_endpoint, self._prefixes.values())
        self.books: dict[str, Book] = {s: Book(s) for s in self.symbols}
        #: symbols whose book is not trustworthy now (before the first snapshot, after STALE)
        self.stale: set[str] = set(self.symbols)
        self.top: dict[str, TopOfBook] = {}
        self.refdata: dict[str, ReferenceData] = {}
        self.status: dict[str, MarketStatus] = {}
        self.stats: dict[str, Statistics] = {}
        self.trades: dict[str, deque[Trade]] = {s: deque(maxlen=trades_kept) for s in self.symbols}

    @property
    def unpublished(self) -> set[str]:
        """Requested symbols the feed's snapshot had nothing for, and that nothing has arrived
        for since: an unknown symbol, one outside the feed's symbol selection, or a feed still
        starting. A ``SYNCED`` update is the moment to look."""
        return {s for s, prefix in self._prefixes.items() if prefix in self.mirror.empty}

    async def start(self) -> None:
        await self.mirror.start()

    async def close(self) -> None:
        await self.mirror.close()

    def _apply_book(self, msg: MarketByPrice) -> None:
        book = self.books.setdefault(msg.symbol, Book(msg.symbol))
        if msg.update_type is UpdateType.SNAPSHOT:
            book.load(msg.bids, msg.asks, msg.exchange_seq, msg.exchange_time // 1_000_000)
            self.stale.discard(msg.symbol)
            return
        if msg.update_type is UpdateType.STALE:
            book.clear()
            self.stale.add(msg.symbol)
            return
        for price, qty in msg.bids:
            book.bids.set(price, qty)
        for price, qty in msg.asks:
            book.asks.set(price, qty)
        book.seq = msg.exchange_seq
        book.time_ms = msg.exchange_time // 1_000_000

    def apply(self, update: Update) -> None:
        """Apply one mirror update to the state (``updates()`` does this for you)."""
        if update.kind is UpdateKind.SYNCED:
            return
        kind = topics.parts(update.topic)[-1]
        symbol = topics.parts(update.topic)[2]
        if update.kind is UpdateKind.RESET:
            if kind == "mbp":
                self.books.setdefault(symbol, Book(symbol)).clear()
                self.stale.add(symbol)
            return
        msg = update.message
        if isinstance(msg, MarketByPrice):
            self._apply_book(msg)
        elif isinstance(msg, TopOfBook):
            self.top[msg.symbol] = msg
        elif isinstance(msg, ReferenceData):
            self.refdata[msg.symbol] = msg
        elif isinstance(msg, MarketStatus):
            self.status[msg.symbol] = msg
        elif isinstance(msg, Statistics):
            self.stats[msg.symbol] = msg
        elif isinstance(msg, TradeSummary):
            self.trades.setdefault(msg.symbol, deque(maxlen=100)).extend(msg.trades)

    async def updates(self) -> AsyncIterator[Update]:
        """Every update, applied to the state before it is yielded."""
        async for update in self.mirror.updates():
            self.apply(update)
            yield update
