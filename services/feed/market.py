"""The feed handler's core, sans-I/O: Kraken public messages in, normalized bus messages out.

:class:`MarketState` keeps, per symbol, the L2 book and the last state message of every topic,
checks every book update, and hands each outgoing message to ``emit(topic, msg)``. When a book
cannot be trusted it publishes MarketByPrice STALE at once, drops that symbol's deltas and
asks ``resync(symbol, feed, reason)`` for a fresh subscription; nothing of any other symbol is
touched. Plain function calls drive it in tests.

Book rules (Kraken ``book`` feed, futures-protocol.md 4.2):

- a book starts from ``book_snapshot``; the next delta must carry ``seq`` = snapshot seq + 1,
  and each following delta the previous + 1; anything else is a gap;
- a delete (qty 0) of a level the book does not hold is an inconsistency (``strict_deletes``);
- a crossed book (best bid >= best ask) is an inconsistency unless ``allow_crossed``;
- while STALE, deltas are dropped (counted) until the next snapshot.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from enum import Enum

from common import topics
from common.book import Book
from common.kraken import instruments as kinstruments
from common.kraken.public.book import BookDelta, BookSnapshot
from common.kraken.public.ticker import Ticker, TickerLite
from common.kraken.public.trade import PublicTrade, TradeSnapshot
from common.messages import (
    MarketByPrice,
    MarketStatus,
    Message,
    ReferenceData,
    Side,
    Statistics,
    TopOfBook,
    Trade,
    TradeSummary,
    TradingStatus,
    UpdateType,
    encode,
)

log = logging.getLogger("kgw.feed.market")

Emit = Callable[[str, Message], object]
Resync = Callable[[str, str, str], None]

MS = 1_000_000
"""Nanoseconds per millisecond (Kraken times are ms)."""

_NO_LEVELS: list[tuple[float, float]] = []


class BookStatus(Enum):
    """AWAITING: no snapshot yet; LIVE: trusted; STALE: distrusted until the next snapshot."""

    AWAITING = "AWAITING"
    LIVE = "LIVE"
    STALE = "STALE"


class SymbolState:
    """Everything the feed knows about one symbol, and its topics.

    last_book_ns / last_ticker_ns / last_trade_ns: receive time of the last message of that
    feed (silence detection). last_trade_seq: Kraken trade seq of the newest trade published
    (trade snapshots after a reconnect only publish what is newer).
    """

    __slots__ = (
        "book",
        "book_status",
        "last_book_ns",
        "last_ticker_ns",
        "last_trade_ns",
        "last_trade_seq",
        "market_status",
        "post_only",
        "refdata",
        "refdata_key",
        "stats",
        "suspended",
        "symbol",
        "tob",
        "topic_mbp",
        "topic_refdata",
        "topic_stats",
        "topic_status",
        "topic_tob",
        "topic_trade",
        "tradeable",
    )

    def __init__(self, exchange: str, symbol: str) -> None:
        self.symbol = symbol
        self.book = Book(symbol)
        self.book_status = BookStatus.AWAITING
        self.topic_mbp = topics.md(exchange, symbol, "mbp")
        self.topic_tob = topics.md(exchange, symbol, "tob")
        self.topic_trade = topics.md(exchange, symbol, "trade")
        self.topic_stats = topics.md(exchange, symbol, "stats")
        self.topic_status = topics.md(exchange, symbol, "status")
        self.topic_refdata = topics.md(exchange, symbol, "refdata")
        self.tob: TopOfBook | None = None
        self.stats: Statistics | None = None
        self.refdata: ReferenceData | None = None
        self.refdata_key = b""
        self.market_status: MarketStatus | None = None
        self.tradeable = True
        self.suspended = False
        self.post_only = False
        self.last_book_ns = 0
        self.last_ticker_ns = 0
        self.last_trade_ns = 0
        self.last_trade_seq: int | None = None

    def last_seen(self, feed: str) -> int:
        """Receive time (ns) of the last message of ``feed`` for this symbol (0 = never)."""
        if feed == "book":
            return self.last_book_ns
        if feed == "ticker":
            return self.last_ticker_ns
        return self.last_trade_ns


class _Pending:
    """What one batch of deltas changed in one symbol's book, not yet published.

    bids / asks: price -> new absolute quantity (0 = delete) in order of first change.
    new_bids / new_asks: levels the book did not hold when the batch first touched them (a
    delete of one of those leaves it out: the subscriber never saw it).
    best_changed: a delta changed the best bid or ask. applied: at least one delta applied.
    """

    __slots__ = ("applied", "asks", "best_changed", "bids", "new_asks", "new_bids", "st")

    def __init__(self, st: SymbolState) -> None:
        self.st = st
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.new_bids: set[float] = set()
        self.new_asks: set[float] = set()
        self.best_changed = False
        self.applied = False


class MarketState:
    """Books and state of every carried symbol; see the module docstring.

    exchange: exchange name of topics and messages.
    emit: called with (topic, message) for everything to publish, in order.
    resync: called with (symbol, feed, reason) when a feed of a symbol must be resubscribed.
    allow_crossed / strict_deletes: see FeedSettings.
    """

    def __init__(
        self,
        exchange: str,
        emit: Emit,
        resync: Resync,
        *,
        allow_crossed: bool = False,
        strict_deletes: bool = True,
    ) -> None:
        self.exchange = exchange
        self.emit = emit
        self.resync = resync
        self.allow_crossed = allow_crossed
        self.strict_deletes = strict_deletes
        self.symbols: dict[str, SymbolState] = {}
        #: problems by reason (gap, crossed, unknown_level, unknown_symbol, stale_drop, ...)
        self.problems: Counter[str] = Counter()
        #: messages handled by kind (book_delta, book_snapshot, ticker, trade, ...)
        self.handled: Counter[str] = Counter()
        self.deltas = 0

    # ------------------------------------------------------------------ symbols

    def add_symbol(self, symbol: str) -> SymbolState:
        """Start carrying ``symbol`` (upper case); returns its state (existing or new)."""
        symbol = symbol.upper()
        st = self.symbols.get(symbol)
        if st is None:
            st = self.symbols[symbol] = SymbolState(self.exchange, symbol)
        return st

    def _lookup(self, product_id: str) -> SymbolState | None:
        st = self.symbols.get(product_id)
        if st is None:
            # Kraken has sent lower-case product ids (2021 REST); WebSocket data is upper case
            st = self.symbols.get(product_id.upper())
            if st is None:
                self.problems["unknown_symbol"] += 1
        return st

    def _begin(self, product_id: str, kind: str) -> SymbolState | None:
        """The state of a message's symbol (None if not carried), counting the message."""
        st = self._lookup(product_id)
        if st is not None:
            self.handled[kind] += 1
        return st

    # ------------------------------------------------------------------ reference data

    def on_instrument(self, inst: kinstruments.Instrument, receive_time: int = 0) -> None:
        """One instrument of a REST ``instruments`` download (sample in
        :class:`common.kraken.instruments.Instrument`): ReferenceData when it changed, and the
        MarketStatus it implies."""
        st = self.add_symbol(inst.symbol)
        ref = kinstruments.reference_data(inst, self.exchange)
        key = encode(ref)
        if key != st.refdata_key:
            st.refdata_key = key
            ref.receive_time = receive_time
            st.refdata = ref
            self.emit(st.topic_refdata, ref)
        st.tradeable = inst.tradeable
        st.post_only = inst.post_only
        self._update_status(st, receive_time)

    def _update_status(self, st: SymbolState, receive_time: int) -> None:
        status = kinstruments.trading_status(st.tradeable, st.suspended, st.post_only)
        if st.market_status is None or st.market_status.trading_status != status:
            msg = MarketStatus(
                exchange=self.exchange, symbol=st.symbol, trading_status=status, receive_time=receive_time
            )
            st.market_status = msg
            self.emit(st.topic_status, msg)

    def close_symbol(self, symbol: str, receive_time: int = 0) -> None:
        """``symbol`` left the instruments list: it is CLOSED and its book is not trusted."""
        st = self.symbols.get(symbol)
        if st is None:
            return
        st.tradeable = False
        self._update_status(st, receive_time)
        self.mark_stale(symbol, "closed")

    # ------------------------------------------------------------------ book

    def on_book_snapshot(self, m: BookSnapshot, receive_time: int) -> None:
        """Seed (or reseed) a book. Real (2021)::

            {"feed":"book_snapshot","product_id":"PI_XBTUSD","timestamp":1612269825817,
             "seq":326072249,"tickSize":null,"bids":[{"price":34892.5,"qty":6385}],
             "asks":[{"price":34911.5,"qty":20598}]}
        """
        st = self._begin(m.product_id, "book_snapshot")
        if st is None:
            return
        st.last_book_ns = receive_time
        book = st.book
        book.load(((lv.price, lv.qty) for lv in m.bids), ((lv.price, lv.qty) for lv in m.asks), m.seq, m.timestamp)
        if not self.allow_crossed and book.crossed():
            self._distrust(st, "crossed_snapshot", receive_time)
            return
        st.book_status = BookStatus.LIVE
        msg = self.book_message(st)
        msg.receive_time = receive_time
        self.emit(st.topic_mbp, msg)
        self._publish_tob(st, receive_time)

    def on_book_delta(self, m: BookDelta, receive_time: int) -> None:
        """Apply one level: a batch of one (see :meth:`on_book_deltas`). Real (2021)::

            {"feed":"book","product_id":"PI_XBTUSD","side":"sell","seq":326094134,
             "price":34981,"qty":0,"timestamp":1612269953629}
        """
        self.on_book_deltas((m,), receive_time)

    def on_book_deltas(self, deltas: Sequence[BookDelta], receive_time: int) -> None:
        """Apply consecutive deltas (one wake-up's worth, any symbols; the hot path).

        Every delta is checked (seq, delete of an absent level, crossed) before it is applied,
        exactly as one at a time. What goes out is coalesced per symbol: one INCREMENTAL with
        every level the batch changed (absolute quantity, the last change of a level wins; a
        level both added and deleted within the batch is left out), ``exchange_seq`` and
        ``exchange_time`` of the last delta applied; then one TopOfBook if the best bid or ask
        now differs from the last one published. A symbol's messages go out right after its
        last delta in the batch, so a batch of distinct symbols publishes each as early as one
        at a time would. A symbol that fails a check publishes what it applied before the
        failure, then STALE, and drops the rest of its deltas.
        """
        # where each symbol's last delta is: its messages go out there
        last = {m.product_id: i for i, m in enumerate(deltas)} if len(deltas) > 1 else None
        symbols = self.symbols
        live = BookStatus.LIVE
        check_crossed = not self.allow_crossed
        strict = self.strict_deletes
        pending: dict[SymbolState, _Pending] = {}
        applied = 0
        for i, m in enumerate(deltas):
            product = m.product_id
            st = symbols.get(product) or self._lookup(product)
            if st is None:
                continue
            st.last_book_ns = receive_time
            if st.book_status is not live:
                self.problems["stale_drop"] += 1
                continue
            book = st.book
            seq = m.seq
            if seq != book.seq + 1:
                self._fail(st, pending, "gap", receive_time, f"expected seq {book.seq + 1}, got {seq}")
                continue
            p = pending.get(st)
            if p is None:
                p = pending[st] = _Pending(st)
            price, qty = m.price, m.qty
            if m.side == "buy":
                side, levels, new = book.bids, p.bids, p.new_bids
            else:
                side, levels, new = book.asks, p.asks, p.new_asks
            if price not in levels and price not in side.levels:
                new.add(price)
            changed = side.set(price, qty)
            if changed < 0 and strict:
                self._fail(st, pending, "unknown_level", receive_time, f"delete of absent level {price}")
                continue
            book.seq = seq
            book.time_ms = m.timestamp
            if changed > 0:
                if check_crossed and book.crossed():
                    self._fail(st, pending, "crossed", receive_time, f"bid {book.bids.best} >= ask {book.asks.best}")
                    continue
                p.best_changed = True
            if qty > 0:
                levels[price] = qty
            elif price in new:
                # added and deleted within this batch (or, lenient, a delete of nothing)
                levels.pop(price, None)
                new.discard(price)
            else:
                levels[price] = qty
            p.applied = True
            applied += 1
            if last is None or last[product] == i:
                del pending[st]
                self._flush(p, receive_time)
        self.deltas += applied
        for p in pending.values():
            self._flush(p, receive_time)

    def _fail(
        self, st: SymbolState, pending: dict[SymbolState, _Pending], reason: str, receive_time: int, detail: str
    ) -> None:
        """A check failed for ``st``: publish what it applied so far, then distrust it."""
        p = pending.pop(st, None)
        if p is not None:
            self._flush(p, receive_time)
        self._distrust(st, reason, receive_time, detail)

    def _flush(self, p: _Pending, receive_time: int) -> None:
        """Publish one symbol's coalesced INCREMENTAL (if it applied anything) and TopOfBook."""
        if not p.applied:
            return
        st = p.st
        book = st.book
        self.emit(
            st.topic_mbp,
            MarketByPrice(
                exchange=self.exchange,
                symbol=st.symbol,
                update_type=UpdateType.INCREMENTAL,
                bids=list(p.bids.items()) if p.bids else _NO_LEVELS,
                asks=list(p.asks.items()) if p.asks else _NO_LEVELS,
                exchange_seq=book.seq,
                exchange_time=book.time_ms * MS,
                receive_time=receive_time,
            ),
        )
        if p.best_changed:
            tob = st.tob
            bid, bid_qty = book.bids.top()
            ask, ask_qty = book.asks.top()
            if (
                tob is None
                or tob.bid_price != bid
                or tob.ask_price != ask
                or tob.bid_quantity != bid_qty
                or tob.ask_quantity != ask_qty
            ):
                self._publish_tob(st, receive_time)

    def _publish_tob(self, st: SymbolState, receive_time: int) -> None:
        book = st.book
        bid, bid_qty = book.bids.top()
        ask, ask_qty = book.asks.top()
        tob = TopOfBook(
            exchange=self.exchange,
            symbol=st.symbol,
            bid_price=bid,
            bid_quantity=bid_qty,
            ask_price=ask,
            ask_quantity=ask_qty,
            exchange_seq=book.seq,
            exchange_time=book.time_ms * MS,
            receive_time=receive_time,
        )
        st.tob = tob
        self.emit(st.topic_tob, tob)

    def _distrust(self, st: SymbolState, reason: str, receive_time: int, detail: str = "") -> None:
        self.problems[reason] += 1
        log.warning(
            "book distrusted, resubscribing",
            extra={"fields": {"symbol": st.symbol, "reason": reason, "detail": detail}},
        )
        self._go_stale(st, receive_time)
        self.resync(st.symbol, "book", reason)

    def _go_stale(self, st: SymbolState, receive_time: int) -> None:
        if st.book_status is BookStatus.STALE:
            return
        seq = st.book.seq
        st.book_status = BookStatus.STALE
        st.book.clear()
        self.emit(
            st.topic_mbp,
            MarketByPrice(
                exchange=self.exchange,
                symbol=st.symbol,
                update_type=UpdateType.STALE,
                exchange_seq=seq,
                receive_time=receive_time,
            ),
        )

    def mark_stale(self, symbol: str, reason: str, receive_time: int = 0) -> None:
        """Distrust a book without asking for a resync (the connection is gone, or the caller
        resubscribes itself). Publishes STALE only if the book was LIVE."""
        st = self.symbols.get(symbol)
        if st is None or st.book_status is not BookStatus.LIVE:
            return
        self.problems[f"stale_{reason}"] += 1
        self._go_stale(st, receive_time)

    # ------------------------------------------------------------------ ticker

    def on_ticker(self, m: Ticker, receive_time: int) -> None:
        """Statistics and market status. Real (2026, PF_ETHUSD)::

            {"time":1783587648112,"product_id":"PF_ETHUSD","funding_rate":0.032725177043125,
             "funding_rate_prediction":0.031251669645,"relative_funding_rate":0.0000186711875,
             "relative_funding_rate_prediction":0.00001783425,
             "next_funding_rate_time":1783591200000,"leverage":"100x","premium":-0.0,
             "feed":"ticker","bid":1751.6,"ask":1751.7,"bid_size":1.459,"ask_size":2.886,
             "volume":57204.177,"dtm":0,"index":1751.75,"last":1751.7,"change":0.97,
             "suspended":false,"tag":"perpetual","pair":"ETH:USD","openInterest":24085.822,
             "markPrice":1751.97553924942,"maturityTime":0,"post_only":false,
             "volumeQuote":99424431.8132,"open":1734.8,"high":1765.4,"low":1708.8}
        """
        st = self._begin(m.product_id, "ticker")
        if st is None:
            return
        st.last_ticker_ns = receive_time
        nft = m.next_funding_rate_time
        stats = Statistics(
            exchange=self.exchange,
            symbol=st.symbol,
            index_price=m.index,
            settlement_price=m.mark_price,
            last_price=m.last,
            funding_rate=m.funding_rate,
            funding_rate_prediction=m.funding_rate_prediction,
            relative_funding_rate=m.relative_funding_rate,
            relative_funding_rate_prediction=m.relative_funding_rate_prediction,
            next_funding_time=nft * MS if nft else None,
            open_interest=m.open_interest,
            volume=m.volume,
            volume_quote=m.volume_quote,
            open_price=m.open,
            high_price=m.high,
            low_price=m.low,
            exchange_time=m.time * MS,
            receive_time=receive_time,
        )
        st.stats = stats
        self.emit(st.topic_stats, stats)
        if m.suspended != st.suspended or m.post_only != st.post_only:
            st.suspended = m.suspended
            # instruments' postOnly and the ticker's post_only describe the same switch
            st.post_only = m.post_only
            self._update_status(st, receive_time)

    def on_ticker_lite(self, m: TickerLite, receive_time: int) -> None:
        """``ticker_lite`` only proves the feed is alive (the full ``ticker`` carries the
        statistics). Real (2021)::

            {"feed":"ticker_lite","product_id":"FI_BCHUSD_210730","bid":439.3,"ask":439.6,
             "change":2.640803926150981,"premium":0.3,"volume":3413476.0,"tag":"month",
             "pair":"BCH:USD","dtm":7,"maturityTime":1627657200000}
        """
        st = self._begin(m.product_id, "ticker_lite")
        if st is not None:
            st.last_ticker_ns = receive_time

    # ------------------------------------------------------------------ trades

    def _trade(self, t: PublicTrade) -> Trade:
        return Trade(
            side=Side.BUY if t.side == "buy" else Side.SELL,
            price=t.price,
            quantity=t.qty,
            trade_id=t.uid,
            exchange_time=t.time * MS,
        )

    def on_trade(self, m: PublicTrade, receive_time: int) -> None:
        """One public trade (``side`` is the taker's). Real (2021)::

            {"feed":"trade","product_id":"PI_XBTUSD","uid":"05af78ac-a774-478c-a50c-8b9c234e071e",
             "side":"sell","type":"fill","seq":653355,"time":1612266317519,"qty":15000.0,
             "price":34969.5}
        """
        st = self._lookup(m.product_id)
        if st is None:
            return
        st.last_trade_ns = receive_time
        if st.last_trade_seq is not None and m.seq <= st.last_trade_seq:
            self.problems["trade_duplicate"] += 1
            return
        st.last_trade_seq = m.seq
        self.handled["trade"] += 1
        self.emit(
            st.topic_trade,
            TradeSummary(
                exchange=self.exchange,
                symbol=st.symbol,
                trades=[self._trade(m)],
                exchange_time=m.time * MS,
                receive_time=receive_time,
            ),
        )

    def on_trade_snapshot(self, m: TradeSnapshot, receive_time: int) -> None:
        """Recent trades, newest first. The first snapshot only sets where the feed starts
        (history is not republished); after a reconnect the trades missed meanwhile (newer
        than the last one published) go out, oldest first. Real (2021)::

            {"feed":"trade_snapshot","product_id":"PI_XBTUSD","trades":[{"feed":"trade",
             "product_id":"PI_XBTUSD","uid":"caa9c653-420b-4c24-a9f1-462a054d86f1",
             "side":"sell","type":"fill","seq":655508,"time":1612269657781,"qty":440,
             "price":34893}]}
        """
        st = self._begin(m.product_id, "trade_snapshot")
        if st is None:
            return
        st.last_trade_ns = receive_time
        if not m.trades:
            return
        newest = max(t.seq for t in m.trades)
        last = st.last_trade_seq
        st.last_trade_seq = newest if last is None else max(last, newest)
        if last is None:
            return
        missed = sorted((t for t in m.trades if t.seq > last), key=lambda t: t.seq)
        if missed:
            self.emit(
                st.topic_trade,
                TradeSummary(
                    exchange=self.exchange,
                    symbol=st.symbol,
                    trades=[self._trade(t) for t in missed],
                    exchange_time=missed[-1].time * MS,
                    receive_time=receive_time,
                ),
            )

    # ------------------------------------------------------------------ state for late joiners

    def state(self, prefixes: Iterable[str]) -> Iterator[tuple[str, Message]]:
        """(topic, full-state message) of every symbol topic matching one of ``prefixes``
        ("" matches all). The MarketByPrice is built now from the book (SNAPSHOT, or STALE
        when the book is not trusted); its envelope is left for the caller to stamp with the
        topic's current seq. The others are the last messages published (already stamped)."""
        wanted = tuple(prefixes)
        for st in self.symbols.values():
            if st.refdata is not None and st.topic_refdata.startswith(wanted):
                yield st.topic_refdata, st.refdata
            if st.market_status is not None and st.topic_status.startswith(wanted):
                yield st.topic_status, st.market_status
            if st.topic_mbp.startswith(wanted):
                yield st.topic_mbp, self.book_message(st)
            if st.tob is not None and st.book_status is BookStatus.LIVE and st.topic_tob.startswith(wanted):
                yield st.topic_tob, st.tob
            if st.stats is not None and st.topic_stats.startswith(wanted):
                yield st.topic_stats, st.stats

    def book_message(self, st: SymbolState) -> MarketByPrice:
        """The whole book as one message: SNAPSHOT if trusted, else STALE (no levels)."""
        live = st.book_status is BookStatus.LIVE
        book = st.book
        return MarketByPrice(
            exchange=self.exchange,
            symbol=st.symbol,
            update_type=UpdateType.SNAPSHOT if live else UpdateType.STALE,
            bids=book.bids.depth() if live else [],
            asks=book.asks.depth() if live else [],
            exchange_seq=book.seq,
            exchange_time=book.time_ms * MS,
        )

    def status_counts(self) -> dict[str, int]:
        """How many books are in each BookStatus."""
        out = Counter(st.book_status.value for st in self.symbols.values())
        return {s.value: out.get(s.value, 0) for s in BookStatus}


__all__ = ["BookStatus", "MarketState", "SymbolState", "TradingStatus"]
