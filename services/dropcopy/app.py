"""The drop-copy process: one private connection per configured account, the bus publisher,
and the download service.

Publishes (``<x>`` = ``[gateway].exchange``):

- ``oms.<x>.<account>.order.`` / ``.trade.`` / ``.position.`` / ``.funds.``: OrderUpdate,
  TradeUpdate, PositionUpdate, FundsUpdate;
- ``sys.dropcopy.stream.``: StreamStatus of each connection (``private-<account>``), on every
  change and every ``status_interval`` seconds;
- ``sys.dropcopy.download.``: DownloadBegin / DownloadEnd around each account's download;
- ``sys.dropcopy.gateway.``: GatewayStatus, ready when every account is READY (``/health``
  answers 200 then).

Download service (ROUTER on ``[bus].dropcopy_download``): SnapshotRequest{topics} is answered
with one SnapshotEntry per open order, non-zero position and funds entry under those topic
prefixes, each message carrying the seq of its topic it is current to, then SnapshotEnd.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from common import topics
from common.bus import Publisher, RouterServer
from common.config import Config, account_credentials
from common.kraken.rest import KrakenRest
from common.kraken.stream import State
from common.messages import (
    DownloadBegin,
    DownloadEnd,
    GatewayStatus,
    Message,
    SnapshotEnd,
    SnapshotEntry,
    SnapshotRequest,
    StreamStatus,
)
from common.oms.account_state import AccountState, Out
from common.runtime import ServiceContext
from services.dropcopy import metrics
from services.dropcopy.connection import PrivateConnection
from services.dropcopy.published import PublishedState
from services.dropcopy.settings import DropcopySettings

log = logging.getLogger("kgw.dropcopy")

SERVICE = "dropcopy"


class DropcopyApp:
    """One drop-copy process (see the module docstring)."""

    def __init__(self, config: Config, settings: DropcopySettings, ctx: ServiceContext | None = None) -> None:
        self.config = config
        self.settings = settings
        self.ctx = ctx
        self.exchange = config.gateway.exchange
        bus = config.bus
        self.publisher = Publisher(
            SERVICE, bus.dropcopy_pub, sndhwm=bus.sndhwm, heartbeat_interval=bus.heartbeat_interval
        )
        self.download_server = RouterServer(
            SERVICE, bus.dropcopy_download, self._on_download_request, accepted=(SnapshotRequest,)
        )
        self.published = PublishedState(settings.download_recent)
        self.topic_stream = topics.sys(SERVICE, "stream")
        self.topic_download = topics.sys(SERVICE, "download")
        self.topic_gateway = topics.sys(SERVICE, "gateway")
        self.statuses: dict[str, StreamStatus] = {}
        self.gateway: GatewayStatus | None = None
        self.connections: list[PrivateConnection] = []
        self.rests: list[KrakenRest] = []
        for account in settings.accounts:
            key, secret = account_credentials(config, account)
            # no Nonce header: the router owns this key's nonce sequence in another process,
            # and Kraken's Nonce is optional (section 2.1)
            rest = KrakenRest(config.gateway.rest_url, key, secret, timeout=settings.rest_timeout, use_nonce=False)
            self.rests.append(rest)
            state = AccountState(
                self.exchange,
                account,
                fill_memory=settings.fill_memory,
                closed_memory=settings.closed_order_memory,
            )
            self.connections.append(
                PrivateConnection(
                    account,
                    key,
                    secret,
                    ws_url=config.gateway.ws_url,
                    rest=rest,
                    state=state,
                    sink=self,
                    settings=settings,
                )
            )

    async def run(self, stopping: asyncio.Event) -> None:
        await self.publisher.start()
        await self.download_server.start()
        self._update_gateway()
        try:
            # ZeroMQ drops what a PUB sends before a subscriber is connected: give subscribers of
            # a previous run of this process (they retry every 0.1 s) time to come back before
            # the first download is published
            if self.settings.start_delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), self.settings.start_delay)
            for c in self.connections:
                c.start()
            await stopping.wait()
        finally:
            await self.close()

    async def close(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.connections), return_exceptions=True)
        await asyncio.gather(*(r.close() for r in self.rests), return_exceptions=True)
        await self.download_server.close()
        await self.publisher.close()

    # ------------------------------------------------------------------ Sink

    def publish(self, account: str, out: list[Out], receive_time: int) -> None:
        for kind, msg in out:
            topic = topics.oms(self.exchange, account, kind)
            msg.receive_time = receive_time
            self.publisher.publish(topic, msg)
            self.published.record(topic, msg)
            metrics.PUBLISHED.labels(account, kind).inc()

    def stream_status(self, conn: PrivateConnection, state: State, text: str) -> None:
        msg = StreamStatus(
            service=SERVICE, stream=conn.name, account=conn.account, connection_status=state, text=text[:500]
        )
        self.statuses[conn.name] = msg
        self.publisher.publish(self.topic_stream, msg)
        self._update_gateway()

    def download_begin(self, account: str) -> None:
        self.publisher.publish(self.topic_download, DownloadBegin(service=SERVICE, account=account))

    def download_end(self, account: str) -> None:
        self.publisher.publish(self.topic_download, DownloadEnd(service=SERVICE, account=account))

    def _update_gateway(self) -> None:
        waiting = [c.name for c in self.connections if c.connection_state is not State.READY]
        ready = not waiting
        if self.gateway is None or self.gateway.ready != ready:
            text = "all accounts ready" if ready else f"waiting for {waiting[:10]}"
            self.gateway = GatewayStatus(service=SERVICE, ready=ready, text=text)
            self.publisher.publish(self.topic_gateway, self.gateway)
        if self.ctx is not None:
            self.ctx.set_ready(ready, accounts=len(self.connections), waiting=waiting)

    # ------------------------------------------------------------------ download service

    def _on_download_request(self, peer: bytes, req: Message) -> None:
        """Synchronous, so nothing is published between two entries of one answer."""
        assert isinstance(req, SnapshotRequest)
        metrics.DOWNLOAD_REQUESTS.inc()
        prefixes = tuple(req.topics) or ("",)
        state: list[tuple[str, Message]] = list(self.published.entries(prefixes))
        state += [(self.topic_stream, m) for m in self.statuses.values()]
        if self.gateway is not None:
            state.append((self.topic_gateway, self.gateway))
        count = 0
        for topic, msg in state:
            if not topic.startswith(prefixes):
                continue
            self.publisher.stamp_current(topic, msg)
            self.download_server.reply(
                peer, SnapshotEntry(request_id=req.request_id, topic=topic, message=msg)  # type: ignore[arg-type]
            )
            count += 1
        self.download_server.reply(peer, SnapshotEnd(request_id=req.request_id, count=count))


async def main(ctx: ServiceContext, config: Config, settings: DropcopySettings) -> None:
    """The service body for :func:`common.runtime.run_service`."""
    app = DropcopyApp(config, settings, ctx)
    await app.run(ctx.stopping)
