"""The feed-handler process: wires REST reference data, the public streams, the sans-I/O market
core, the bus publisher, the snapshot service and the recorder.

Lifecycle: bind the PUB and the snapshot ROUTER, publish GatewayStatus not ready, download the
instruments (retrying forever), split the selected tradeable symbols into connections of
``max_subscriptions_per_stream`` products, and run until stopped. GatewayStatus is ready (and
``/health`` 200) when every connection is READY.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging

import aiohttp

from common import topics
from common.bus import Publisher, RouterServer
from common.config import Config
from common.kraken import instruments as kinstruments
from common.kraken.stream import State
from common.messages import (
    GatewayStatus,
    Message,
    SnapshotEnd,
    SnapshotEntry,
    SnapshotRequest,
    StreamStatus,
)
from common.runtime import ServiceContext
from services.feed import metrics
from services.feed.market import MarketState
from services.feed.public_stream import PublicStream
from services.feed.recorder import Recorder
from services.feed.refdata import InstrumentsPoller
from services.feed.selection import SymbolSelector, streamable
from services.feed.settings import FeedSettings

log = logging.getLogger("kgw.feed")

SERVICE = "feed"

GC_GEN0_THRESHOLD = 50_000
"""Allocations between young-generation collections (CPython's default is 700). The hot path
allocates a few short-lived objects per Kraken message; collecting every 700 allocations
showed up as latency spikes, and nothing on the hot path forms reference cycles."""


class FeedApp:
    """One feed-handler process (see the module docstring)."""

    def __init__(self, config: Config, settings: FeedSettings, ctx: ServiceContext | None = None) -> None:
        self.config = config
        self.settings = settings
        self.ctx = ctx
        bus = config.bus
        self.exchange = config.gateway.exchange
        self.publisher = Publisher(
            SERVICE, bus.feed_pub, sndhwm=bus.sndhwm, heartbeat_interval=bus.heartbeat_interval
        )
        self.market = MarketState(
            self.exchange,
            self.publisher.publish,
            self._resync,
            allow_crossed=settings.allow_crossed,
            strict_deletes=settings.strict_deletes,
        )
        self.selector = SymbolSelector(settings.symbols, settings.include, settings.exclude)
        self.snapshot_server = RouterServer(
            SERVICE, bus.feed_snapshot, self._on_snapshot_request, accepted=(SnapshotRequest,)
        )
        self.recorder = Recorder(settings.record_dir) if settings.record_dir else None
        self.streams: list[PublicStream] = []
        self.owner: dict[str, PublicStream] = {}
        self.known: set[str] = set()
        self.stream_status: dict[str, StreamStatus] = {}
        self.gateway: GatewayStatus | None = None
        self.refdata_loaded = False
        self.topic_stream = topics.sys(SERVICE, "stream")
        self.topic_gateway = topics.sys(SERVICE, "gateway")
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        metrics.register(self.market)

    # ------------------------------------------------------------------ lifecycle

    async def run(self, stopping: asyncio.Event) -> None:
        gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])
        await self.publisher.start()
        await self.snapshot_server.start()
        self._publish_gateway("starting")
        self._session = aiohttp.ClientSession()
        poller = InstrumentsPoller(
            self._session,
            self.config.gateway.rest_url,
            self.settings.instruments_interval,
            self.settings.instruments_timeout,
            self._on_instruments_body,
        )
        self._tasks.append(asyncio.create_task(poller.run(), name="feed-instruments"))
        if self.recorder is not None:
            self._tasks.append(asyncio.create_task(self._flush_recorder(), name="feed-recorder"))
        try:
            await stopping.wait()
        finally:
            await self.close()

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
        await asyncio.gather(*(s.stop() for s in self.streams), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        await self.snapshot_server.close()
        await self.publisher.close()
        if self.recorder is not None:
            self.recorder.close()

    async def _flush_recorder(self) -> None:
        assert self.recorder is not None
        while True:
            await asyncio.sleep(self.settings.record_flush_interval)
            self.recorder.flush()

    # ------------------------------------------------------------------ reference data

    def _on_instruments_body(self, body: bytes, receive_time: int) -> None:
        insts = kinstruments.parse(body)
        if self.recorder is not None:
            self.recorder.rest(self.config.gateway.rest_url.rstrip("/") + "/instruments", receive_time, body)
        self.apply_instruments(insts, receive_time)

    def apply_instruments(self, insts: list[kinstruments.Instrument], receive_time: int) -> None:
        """Publish reference data and status of the selected instruments; close the ones that
        disappeared; open connections for new streamable symbols."""
        selected = self.selector.select(insts)
        names = {i.symbol.upper() for i in selected}
        for inst in selected:
            self.market.on_instrument(inst, receive_time)
        for gone in sorted(self.known - names):
            log.warning("instrument gone", extra={"fields": {"symbol": gone}})
            self.market.close_symbol(gone, receive_time)
        self.known = names
        missing = sorted(self.selector.symbols - names)
        if missing and not self.refdata_loaded:
            log.warning("configured symbols unknown to the exchange", extra={"fields": {"symbols": missing}})
        new = [i.symbol.upper() for i in selected if streamable(i) and i.symbol.upper() not in self.owner]
        self.refdata_loaded = True
        if new:
            self._open_streams(new)
        self._update_gateway()
        # long-lived state (symbols, topics, reference data) out of the collector's way
        gc.freeze()

    def _open_streams(self, symbols: list[str]) -> None:
        size = self.settings.max_subscriptions_per_stream
        for i in range(0, len(symbols), size):
            chunk = symbols[i : i + size]
            ps = PublicStream(
                f"public-{len(self.streams)}",
                self.config.gateway.ws_url,
                chunk,
                self.market,
                self.settings,
                self._on_stream_status,
                tap=self.recorder,
            )
            self.streams.append(ps)
            for s in chunk:
                self.owner[s] = ps
            ps.start()
        log.info(
            "streams opened", extra={"fields": {"symbols": len(self.owner), "streams": len(self.streams)}}
        )

    # ------------------------------------------------------------------ status

    def _resync(self, symbol: str, feed: str, reason: str) -> None:
        ps = self.owner.get(symbol)
        if ps is not None:
            ps.resubscribe(feed, symbol, reason)

    def _on_stream_status(self, ps: PublicStream, state: State, text: str) -> None:
        msg = StreamStatus(service=SERVICE, stream=ps.name, connection_status=state, text=text[:500])
        self.stream_status[ps.name] = msg
        self.publisher.publish(self.topic_stream, msg)
        self._update_gateway()

    def _update_gateway(self) -> None:
        not_ready = [s.name for s in self.streams if s.state != State.READY]
        ready = self.refdata_loaded and not not_ready
        text = "all streams ready" if ready else f"waiting for {not_ready[:10] or 'reference data'}"
        if self.gateway is None or self.gateway.ready != ready:
            self._publish_gateway(text, ready)
        if self.ctx is not None:
            self.ctx.set_ready(ready, streams=len(self.streams), symbols=len(self.owner))

    def _publish_gateway(self, text: str, ready: bool = False) -> None:
        self.gateway = GatewayStatus(service=SERVICE, ready=ready, text=text)
        self.publisher.publish(self.topic_gateway, self.gateway)

    # ------------------------------------------------------------------ snapshot service

    def _on_snapshot_request(self, peer: bytes, req: Message) -> None:
        """Clone pattern: the current state of every topic under the requested prefixes, each
        naming the seq it is current to, then SnapshotEnd. Synchronous, so no bus message is
        published between two entries of one answer."""
        assert isinstance(req, SnapshotRequest)
        prefixes = tuple(req.topics) or ("",)
        server = self.snapshot_server
        count = 0
        for topic, msg in self.market.state(prefixes):
            if msg.session == "":
                self.publisher.stamp_current(topic, msg)
            server.reply(peer, SnapshotEntry(request_id=req.request_id, topic=topic, message=msg))  # type: ignore[arg-type]
            count += 1
        sys_state: list[tuple[str, Message]] = [(self.topic_stream, m) for m in self.stream_status.values()]
        if self.gateway is not None:
            sys_state.append((self.topic_gateway, self.gateway))
        for topic, msg in sys_state:
            if topic.startswith(prefixes):
                server.reply(peer, SnapshotEntry(request_id=req.request_id, topic=topic, message=msg))  # type: ignore[arg-type]
                count += 1
        server.reply(peer, SnapshotEnd(request_id=req.request_id, count=count))


async def main(ctx: ServiceContext, config: Config, settings: FeedSettings) -> None:
    """The service body for :func:`common.runtime.run_service`."""
    app = FeedApp(config, settings, ctx)
    await app.run(ctx.stopping)
