"""Clone pattern for clients: a consistent mirror of some topics of one publisher.

Subscribe first, ask the publisher's state service for a snapshot of the same topics, drop the
updates the snapshot already covers, apply the rest, and start over for a topic whenever it
cannot be trusted: a seq gap, a publisher restart, a STALE book, an incremental update with no
snapshot under it. It never guesses.

The feed (market data, snapshot service) and the drop-copy listener (account state, download
service) speak the same protocol, so this class serves both::

    mirror = Mirror("feed", pub_endpoint, snapshot_endpoint, ["md.kraken-futures.PF_XBTUSD."])
    await mirror.start()
    async for update in mirror.updates():
        update.kind     # SNAPSHOT (state replaced), UPDATE (apply), RESET (forget the topic),
                        # SYNCED (a prefix's snapshot is complete)
        update.topic, update.message

Within one topic, what ``updates()`` yields after a SNAPSHOT is exactly the publisher's sequence
with nothing missing and nothing twice. RESET says the topic is being resynchronized: drop its
state until the next SNAPSHOT. SYNCED (``topic`` is the prefix, ``message`` None) follows the
SNAPSHOTs of each completed snapshot request. A prefix whose snapshot held no topic is in
:attr:`Mirror.empty` until a message under it arrives: the publisher has nothing for it (an
unknown symbol, an account with no state, or not yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from enum import StrEnum

from common.bus import BusEvent, DealerClient, EventKind, Received, Subscriber
from common.messages import (
    DecodeError,
    ErrorReply,
    MarketByPrice,
    Message,
    SnapshotEnd,
    SnapshotEntry,
    SnapshotRequest,
    UpdateType,
    decode,
)

log = logging.getLogger("kgw.client.mirror")


class UpdateKind(StrEnum):
    SNAPSHOT = "SNAPSHOT"
    UPDATE = "UPDATE"
    RESET = "RESET"
    SYNCED = "SYNCED"


@dataclass(slots=True)
class Update:
    """One step of the mirror: ``message`` on ``topic`` (None for RESET and SYNCED)."""

    kind: UpdateKind
    topic: str
    message: Message | None


def needs_base(msg: Message) -> bool:
    """True if ``msg`` only makes sense on top of earlier state (an incremental book update)."""
    return isinstance(msg, MarketByPrice) and msg.update_type is UpdateType.INCREMENTAL


class Mirror:
    """Mirror of the topics under ``prefixes`` of one publisher.

    name: publisher name (for events and logs).
    pub_endpoint: the publisher's PUB endpoint; snapshot_endpoint: its state service (ROUTER).
    prefixes: topic prefixes to mirror (each ends with a dot).
    snapshot_timeout: seconds to wait for a complete snapshot before asking again.
    heartbeat_timeout: seconds of publisher silence before the mirror is declared stale.
    """

    def __init__(
        self,
        name: str,
        pub_endpoint: str,
        snapshot_endpoint: str,
        prefixes: Iterable[str],
        *,
        snapshot_timeout: float = 5.0,
        heartbeat_timeout: float = 3.0,
    ) -> None:
        self.name = name
        self.prefixes = list(prefixes)
        self.snapshot_timeout = snapshot_timeout
        self.sub = Subscriber(
            {name: pub_endpoint}, self.prefixes, heartbeat_timeout=heartbeat_timeout, name=f"{name}-mirror"
        )
        self.dealer = DealerClient(snapshot_endpoint)
        self._queue: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._ids = itertools.count(1)
        #: topic -> (session, seq) applied
        self._applied: dict[str, tuple[str, int]] = {}
        #: prefixes being resynchronized -> request id
        self._syncing: dict[str, str] = {}
        #: request id -> entries received so far
        self._entries: dict[str, list[SnapshotEntry]] = {}
        #: request id -> loop time by which its SnapshotEnd must have arrived
        self._deadlines: dict[str, float] = {}
        #: bus messages held back while their topic is syncing
        self._held: list[tuple[str, Message]] = []
        self.resyncs = 0
        #: prefixes whose last snapshot held no topic, and under which nothing arrived since
        self.empty: set[str] = set()
        self.silent = False
        self._synced_once = False

    async def start(self) -> None:
        await self.sub.start()
        await self.dealer.start()
        self._tasks = [
            asyncio.create_task(self._pump_bus(), name=f"{self.name}-mirror-bus"),
            asyncio.create_task(self._pump_replies(), name=f"{self.name}-mirror-replies"),
        ]

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await self.sub.close()
        await self.dealer.close()

    async def _pump_bus(self) -> None:
        async for batch in self.sub.batches():
            for item in batch:
                self._queue.put_nowait(("bus", item))

    async def _pump_replies(self) -> None:
        while True:
            msg = await self.dealer.recv()
            self._queue.put_nowait(("reply", msg))

    def _request(self, prefixes: list[str]) -> None:
        rid = f"mirror-{next(self._ids)}"
        for p in prefixes:
            self._syncing[p] = rid
        self._entries[rid] = []
        self._deadlines[rid] = asyncio.get_running_loop().time() + self.snapshot_timeout
        self.dealer.send(SnapshotRequest(request_id=rid, topics=prefixes))

    def _syncing_prefix(self, topic: str) -> str | None:
        for p in self._syncing:
            if topic.startswith(p):
                return p
        return None

    def _resync(self, prefixes: list[str], out: list[Update]) -> None:
        """Forget the topics under ``prefixes`` and ask for them again."""
        todo = [p for p in prefixes if p not in self._syncing]
        if not todo:
            return
        self.resyncs += 1
        for topic in [t for t in self._applied if any(t.startswith(p) for p in todo)]:
            del self._applied[topic]
            out.append(Update(UpdateKind.RESET, topic, None))
        self._request(todo)

    def _apply(self, topic: str, msg: Message, out: list[Update]) -> None:
        """Apply one bus message to a synchronized topic (or resync it)."""
        applied = self._applied.get(topic)
        if applied is None:
            if self.empty:
                self.empty.difference_update([p for p in self.empty if topic.startswith(p)])
            if needs_base(msg):
                self._resync([topic], out)
                return
            self._applied[topic] = (msg.session, msg.seq)
            out.append(Update(UpdateKind.SNAPSHOT, topic, msg))
            return
        session, seq = applied
        if msg.session == session and msg.seq <= seq:
            return  # covered by the snapshot (or a duplicate)
        if msg.session != session or msg.seq != seq + 1:
            self._resync([topic], out)
            return
        self._applied[topic] = (session, msg.seq)
        if isinstance(msg, MarketByPrice) and msg.update_type is UpdateType.STALE:
            # the book is not trustworthy until the publisher sends a fresh SNAPSHOT on the bus
            out.append(Update(UpdateKind.RESET, topic, msg))
            return
        snapshot = isinstance(msg, MarketByPrice) and msg.update_type is UpdateType.SNAPSHOT
        out.append(Update(UpdateKind.SNAPSHOT if snapshot else UpdateKind.UPDATE, topic, msg))

    def _on_bus(self, item: Received | BusEvent, out: list[Update]) -> None:
        if isinstance(item, BusEvent):
            if item.kind is EventKind.GAP:
                self._resync([item.topic], out)
            elif item.kind is EventKind.RESTART:
                self._resync(self.prefixes, out)
            elif item.kind is EventKind.SILENT:
                self.silent = True
            elif item.kind is EventKind.ALIVE:
                self.silent = False
            return
        try:
            msg = decode(item.payload)
        except DecodeError as e:
            log.warning("undecodable message", extra={"fields": {"reason": e.reason}})
            return
        topic = item.topic.decode()
        if self._syncing_prefix(topic) is not None:
            self._held.append((topic, msg))
            return
        self._apply(topic, msg, out)

    def _on_reply(self, msg: Message, out: list[Update]) -> None:
        if isinstance(msg, SnapshotEntry):
            entries = self._entries.get(msg.request_id)
            if entries is not None:
                entries.append(msg)
            return
        if isinstance(msg, ErrorReply):
            log.error("snapshot refused", extra={"fields": {"error": msg.error, "text": msg.text}})
            return
        if not isinstance(msg, SnapshotEnd):
            return
        entries = self._entries.pop(msg.request_id, None)
        self._deadlines.pop(msg.request_id, None)
        if entries is None:
            return
        done = [p for p, rid in self._syncing.items() if rid == msg.request_id]
        for p in done:
            del self._syncing[p]
        for entry in entries:
            self._applied[entry.topic] = (entry.message.session, entry.message.seq)
            out.append(Update(UpdateKind.SNAPSHOT, entry.topic, entry.message))
        for p in done:
            if any(entry.topic.startswith(p) for entry in entries):
                self.empty.discard(p)
            else:
                self.empty.add(p)
        held, self._held = self._held, []
        for topic, bus_msg in held:
            if self._syncing_prefix(topic) is not None:
                self._held.append((topic, bus_msg))
            else:
                self._apply(topic, bus_msg, out)
        out.extend(Update(UpdateKind.SYNCED, p, None) for p in done)

    def _expire(self, out: list[Update]) -> None:
        """Ask again for every snapshot that did not complete in time: never wait forever."""
        now = asyncio.get_running_loop().time()
        for rid in [r for r, t in self._deadlines.items() if t <= now]:
            del self._deadlines[rid]
            self._entries.pop(rid, None)
            stuck = [p for p, r in self._syncing.items() if r == rid]
            for p in stuck:
                del self._syncing[p]
            log.warning("snapshot timed out; asking again", extra={"fields": {"topics": stuck}})
            self._resync(stuck, out)

    async def updates(self) -> AsyncIterator[Update]:
        """Consistent updates, forever. The first call sends the first snapshot request; later
        calls continue where the previous iteration stopped."""
        out: list[Update] = []
        if not self._synced_once:
            self._synced_once = True
            self._resync(self.prefixes, out)
        loop = asyncio.get_running_loop()
        while True:
            for u in out:
                yield u
            out = []
            timeout = max(min(self._deadlines.values()) - loop.time(), 0.0) if self._deadlines else None
            try:
                async with asyncio.timeout(timeout):
                    source, item = await self._queue.get()
            except TimeoutError:
                self._expire(out)
                continue
            if source == "bus":
                assert isinstance(item, (Received, BusEvent))
                self._on_bus(item, out)
            else:
                assert isinstance(item, Message)
                self._on_reply(item, out)
