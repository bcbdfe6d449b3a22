"""One public Kraken WebSocket connection of the feed handler and the products it carries.

:class:`PublicStream` owns a :class:`~common.kraken.stream.Stream` and drives its state:
on connect it subscribes every product of its share to every configured feed (plus Kraken's
``heartbeat`` so an idle market never looks like a dead socket) and goes DOWNLOADING; it goes
READY once every product's ``book_snapshot`` arrived (or, without the book feed, every ack).
Frames are decoded here and handed to the shared :class:`~services.feed.market.MarketState`.

A watchdog (every ``watchdog_interval`` s) resubscribes, per product, any feed silent for its
``silence_timeouts`` entry (Kraken can ack and then send nothing), any book whose snapshot is
late, and declares READY after ``download_timeout`` with the missing products named.

Resubscribing one product is ``unsubscribe`` then ``subscribe`` on the same socket: frames of
the old subscription cannot arrive after the new snapshot (one TCP stream, in order), so the
new ``book_snapshot`` cleanly replaces the book.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import prometheus_client

from common.kraken.public import frames
from common.kraken.public.book import BookDelta, BookSnapshot
from common.kraken.public.control import Control, Heartbeat
from common.kraken.public.ticker import Ticker, TickerLite
from common.kraken.public.trade import PublicTrade, TradeSnapshot
from common.kraken.stream import FrameTap, State, Stream, StreamSettings
from services.feed.market import MarketState
from services.feed.settings import FeedSettings

log = logging.getLogger("kgw.feed.stream")

RESUBSCRIBES = prometheus_client.Counter(
    "kgw_feed_resubscribes_total", "Products resubscribed, per stream, feed and reason", ["stream", "feed", "reason"]
)
CONTROL = prometheus_client.Counter(
    "kgw_feed_control_frames_total", "Control frames received, per stream and event", ["stream", "event"]
)

OnStatus = Callable[["PublicStream", State, str], None]


class PublicStream:
    """Connection ``name`` to ``url`` carrying ``products`` on ``settings.feeds``.

    on_status: called with (stream, new state, text) on every state change.
    tap: optional frame recorder.
    """

    def __init__(
        self,
        name: str,
        url: str,
        products: list[str],
        market: MarketState,
        settings: FeedSettings,
        on_status: OnStatus,
        *,
        tap: FrameTap | None = None,
        stream_settings: StreamSettings | None = None,
    ) -> None:
        self.name = name
        self.products: list[str] = [p.upper() for p in products]
        self.market = market
        self.settings = settings
        self.feeds = list(settings.feeds)
        self._on_status = on_status
        self.stream = Stream(
            name,
            url,
            on_connected=self._connected,
            on_frame=self._frame,
            on_frames=self._frames,
            on_disconnected=self._disconnected,
            on_state=self._state,
            settings=stream_settings or settings.stream,
            tap=tap,
        )
        #: products whose book snapshot has not arrived since they were (re)subscribed -> since (ns)
        self.awaiting_snapshot: dict[str, int] = {}
        #: (feed, product) subscribed but not acked
        self.pending_acks: set[tuple[str, str]] = set()
        #: (feed, product) -> when last (re)subscribed (ns), the floor of silence detection
        self.subscribed_at: dict[tuple[str, str], int] = {}
        #: (feed, product) -> when last resubscribed (ns), and requests deferred by the rate limit
        self.resubscribed_at: dict[tuple[str, str], int] = {}
        self.deferred: dict[tuple[str, str], str] = {}
        self.downloading_since = 0
        self._handlers: dict[type, Callable[[Any, int], None]] = {
            BookSnapshot: self._on_snapshot,
            Ticker: market.on_ticker,
            TickerLite: market.on_ticker_lite,
            PublicTrade: market.on_trade,
            TradeSnapshot: market.on_trade_snapshot,
            Heartbeat: _ignore,
            Control: self._on_control,
        }
        self._tasks: set[asyncio.Task[None]] = set()
        self._run: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._run = asyncio.create_task(self.stream.run(), name=f"{self.name}-run")
        self._watch = asyncio.create_task(self._watchdog(), name=f"{self.name}-watchdog")

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self.stream.stop()
        if self._run is not None:
            await self._run
        for t in list(self._tasks):
            t.cancel()

    @property
    def state(self) -> State:
        return self.stream.state

    # ------------------------------------------------------------------ stream hooks

    async def _connected(self, stream: Stream) -> None:
        now = time.time_ns()
        self.downloading_since = now
        self.awaiting_snapshot = {p: now for p in self.products} if "book" in self.feeds else {}
        self.pending_acks = {(f, p) for f in self.feeds for p in self.products}
        self.subscribed_at = {(f, p): now for f in self.feeds for p in self.products}
        self.deferred.clear()
        stream.set_state(State.DOWNLOADING, f"subscribing {len(self.products)} products")
        await stream.send_json({"event": "subscribe", "feed": "heartbeat"})
        if self.products:
            for feed in self.feeds:
                await stream.send_json({"event": "subscribe", "feed": feed, "product_ids": self.products})
        self._check_ready()

    def _disconnected(self, stream: Stream, reason: str) -> None:
        # subscriptions are per connection: every book of this stream is now unknown
        now = time.time_ns()
        for p in self.products:
            self.market.mark_stale(p, "disconnected", now)

    def _state(self, stream: Stream, old: State, new: State, text: str) -> None:
        self._on_status(self, new, text)

    def _frame(self, data: bytes, receive_time: int) -> None:
        self._frames([data], receive_time)

    def _frames(self, batch: list[bytes], receive_time: int) -> None:
        """One wake-up's frames, in order: each run of consecutive book deltas goes to the
        market as one batch (coalesced per symbol there), anything else one at a time. A
        failing handler costs its own frame (or run) only."""
        run: list[BookDelta] = []
        for data in batch:
            try:
                msg = frames.decode(data)
            except frames.FrameError as e:
                self.stream.parse_error(e.reason)
                log.warning(
                    "unusable frame",
                    extra={"fields": {"stream": self.name, "reason": e.reason, "detail": e.detail[:200]}},
                )
                continue
            if type(msg) is BookDelta:
                run.append(msg)
                continue
            if run:
                self._deltas(run, receive_time)
                run = []
            try:
                self._handlers[type(msg)](msg, receive_time)
            except Exception:
                self._handler_failed()
        if run:
            self._deltas(run, receive_time)

    def _deltas(self, run: list[BookDelta], receive_time: int) -> None:
        try:
            self.market.on_book_deltas(run, receive_time)
        except Exception:
            self._handler_failed()

    def _handler_failed(self) -> None:
        self.stream.parse_error("handler")
        log.exception("frame handler failed", extra={"fields": {"stream": self.name}})

    # ------------------------------------------------------------------ messages

    def _on_snapshot(self, m: BookSnapshot, receive_time: int) -> None:
        self.market.on_book_snapshot(m, receive_time)
        if self.awaiting_snapshot.pop(m.product_id.upper(), None) is not None:
            self._check_ready()

    def _on_control(self, m: Control, receive_time: int) -> None:
        CONTROL.labels(self.name, m.event).inc()
        if m.event == "subscribed":
            for p in m.product_ids:
                self.pending_acks.discard((m.feed, p.upper()))
            self._check_ready()
        elif m.event in ("error", "subscribed_failed", "alert"):
            # Kraken's errors do not name the product ("Invalid product id"); timeouts retry
            log.warning(
                "exchange says",
                extra={"fields": {"stream": self.name, "event": m.event, "feed": m.feed, "message": m.message}},
            )

    def _check_ready(self) -> None:
        if self.stream.state != State.DOWNLOADING:
            return
        if self.awaiting_snapshot or ("book" not in self.feeds and self.pending_acks):
            return
        self.stream.set_state(State.READY, f"{len(self.products)} products")

    # ------------------------------------------------------------------ resubscription

    def resubscribe(self, feed: str, product: str, reason: str) -> None:
        """Unsubscribe and subscribe again ``feed`` of ``product`` (no-op while disconnected:
        the reconnect resubscribes everything). At most once per ``resubscribe_interval``
        seconds per (feed, product): a request that comes sooner (an exchange that keeps sending
        crossed snapshots) is deferred to the watchdog, so the feed never floods Kraken's
        100-requests-per-second WebSocket limit."""
        if not self.stream.connected:
            return
        now = time.time_ns()
        key = (feed, product)
        if now - self.resubscribed_at.get(key, 0) < self.settings.resubscribe_interval * 1e9:
            self.deferred.setdefault(key, reason)
            return
        self.deferred.pop(key, None)
        self.resubscribed_at[key] = now
        self.subscribed_at[key] = now
        if feed == "book":
            self.awaiting_snapshot[product] = now
        RESUBSCRIBES.labels(self.name, feed, reason).inc()
        log.info(
            "resubscribing",
            extra={"fields": {"stream": self.name, "feed": feed, "product": product, "reason": reason}},
        )
        task = asyncio.get_running_loop().create_task(self._resubscribe(feed, product))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resubscribe(self, feed: str, product: str) -> None:
        with contextlib.suppress(ConnectionError):
            await self.stream.send_json({"event": "unsubscribe", "feed": feed, "product_ids": [product]})
            await self.stream.send_json({"event": "subscribe", "feed": feed, "product_ids": [product]})

    def check_timeouts(self, now: int) -> None:
        """One watchdog pass (plain call): silent feeds, late snapshots, long downloads."""
        state = self.stream.state
        if state not in (State.DOWNLOADING, State.READY):
            return
        s = self.settings
        for (feed, product), reason in list(self.deferred.items()):
            self.resubscribe(feed, product, reason)
        late = [p for p, since in self.awaiting_snapshot.items() if now - since > s.snapshot_timeout * 1e9]
        for p in late:
            self.resubscribe("book", p, "snapshot_timeout")
        for feed in self.feeds:
            timeout = s.silence_timeouts.get(feed, 0.0)
            if timeout <= 0:
                continue
            limit = timeout * 1e9
            for p in self.products:
                if p in self.awaiting_snapshot and feed == "book":
                    continue
                st = self.market.symbols.get(p)
                last = max(st.last_seen(feed) if st else 0, self.subscribed_at.get((feed, p), 0))
                if now - last > limit:
                    if feed == "book":
                        self.market.mark_stale(p, "silent", now)
                    self.resubscribe(feed, p, "silent")
        if state == State.DOWNLOADING and now - self.downloading_since > s.download_timeout * 1e9:
            missing = sorted(self.awaiting_snapshot)
            self.stream.set_state(State.READY, f"download timeout, missing {missing[:10]}")

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self.settings.watchdog_interval)
            try:
                self.check_timeouts(time.time_ns())
            except Exception:
                log.exception("watchdog failed", extra={"fields": {"stream": self.name}})


def _ignore(msg: Any, receive_time: int) -> None:
    pass
