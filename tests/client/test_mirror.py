"""The client-side Clone pattern over real sockets: a publisher, a state service, a mirror.

The state service here is a minimal last-value cache kept by the test, so the client logic is
tested on its own; the real feed and drop-copy services are tested against it end to end.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from common.bus import Publisher, RouterServer
from common.client.mirror import Mirror, Update, UpdateKind
from common.messages import (
    MarketByPrice,
    Message,
    SnapshotEnd,
    SnapshotEntry,
    SnapshotRequest,
    UpdateType,
    decode,
    encode,
)
from tests.support.processes import free_port

TOPIC = "md.kraken-futures.PF_XBTUSD.mbp."


class Book:
    """What a client keeps: levels by price, and the seq the publisher stamped."""

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}

    def apply(self, msg: MarketByPrice) -> None:
        if msg.update_type is UpdateType.SNAPSHOT:
            self.bids, self.asks = {}, {}
        for side, levels in ((self.bids, msg.bids), (self.asks, msg.asks)):
            for price, qty in levels:
                if qty == 0:
                    side.pop(price, None)
                else:
                    side[price] = qty


class Feed:
    """A publisher plus a last-value snapshot service for one book topic."""

    def __init__(self) -> None:
        self.pub_ep = f"tcp://127.0.0.1:{free_port()}"
        self.snap_ep = f"tcp://127.0.0.1:{free_port()}"
        self.pub = Publisher("feed", self.pub_ep, heartbeat_interval=0.1)
        self.book = Book()
        self.server = RouterServer("feed", self.snap_ep, self.serve, accepted=(SnapshotRequest,))
        self.release = asyncio.Event()  # snapshots are answered while set
        self.release.set()

    async def start(self) -> None:
        await self.pub.start()
        await self.server.start()

    def state(self) -> MarketByPrice:
        msg = MarketByPrice(
            exchange="kraken-futures",
            symbol="PF_XBTUSD",
            update_type=UpdateType.SNAPSHOT,
            bids=sorted(self.book.bids.items(), reverse=True),
            asks=sorted(self.book.asks.items()),
        )
        msg.source, msg.session, msg.seq = "feed", self.pub.session, self.pub.current_seq(TOPIC)
        return msg

    async def serve(self, peer: bytes, req: Message) -> None:
        assert isinstance(req, SnapshotRequest)
        await self.release.wait()
        if not any(TOPIC.startswith(p) for p in req.topics):  # as the real services: only what was asked
            self.server.reply(peer, SnapshotEnd(request_id=req.request_id, count=0))
            return
        self.server.reply(peer, SnapshotEntry(request_id=req.request_id, topic=TOPIC, message=self.state()))
        self.server.reply(peer, SnapshotEnd(request_id=req.request_id, count=1))

    def publish(self, msg: MarketByPrice) -> None:
        self.book.apply(msg)
        self.pub.publish(TOPIC, msg)

    def level(self, price: float, qty: float, update_type: UpdateType = UpdateType.INCREMENTAL) -> None:
        self.publish(
            MarketByPrice(exchange="kraken-futures", symbol="PF_XBTUSD", update_type=update_type, bids=[(price, qty)])
        )

    async def close(self) -> None:
        await self.server.close()
        await self.pub.close()


async def follow(mirror: Mirror, book: Book, until: int, log: list[Update], timeout: float = 10) -> None:
    """Apply mirror updates to ``book`` until the publisher's seq ``until`` has been applied."""

    async def run() -> None:
        async for u in mirror.updates():
            log.append(u)
            if u.kind is UpdateKind.RESET:
                book.bids, book.asks = {}, {}
            elif isinstance(u.message, MarketByPrice):
                book.apply(u.message)
                if u.message.seq >= until:
                    return

    await asyncio.wait_for(run(), timeout)


@contextlib.asynccontextmanager
async def following() -> AsyncIterator[tuple[Feed, Mirror, Book, list[Update]]]:
    """A feed, a mirror of its book and a client book already in sync at seq 2."""
    feed = Feed()
    await feed.start()
    mirror = Mirror("feed", feed.pub_ep, feed.snap_ep, ["md.kraken-futures.PF_XBTUSD."])
    await mirror.start()
    try:
        book, log = Book(), []
        feed.level(1.0, 1.0)
        await asyncio.sleep(0.3)
        feed.level(2.0, 1.0)
        await follow(mirror, book, until=2, log=log)
        yield feed, mirror, book, log
    finally:
        await mirror.close()
        await feed.close()


async def test_late_joiner_gets_snapshot_then_only_newer_updates() -> None:
    feed = Feed()
    await feed.start()
    for i in range(50):
        feed.level(100.0 + i, 1.0)
    mirror = Mirror("feed", feed.pub_ep, feed.snap_ep, ["md.kraken-futures.PF_XBTUSD."])
    await mirror.start()
    try:
        feed.release.clear()  # updates arrive on the bus before the snapshot answers

        async def more() -> None:
            await asyncio.sleep(0.3)
            for i in range(50, 100):
                feed.level(100.0 + i, 2.0)
                await asyncio.sleep(0.002)
            feed.release.set()
            await asyncio.sleep(0.2)
            for i in range(0, 20):
                feed.level(100.0 + i, 0.0)

        task = asyncio.create_task(more())
        book, log = Book(), []
        await follow(mirror, book, until=120, log=log)
        await task
        assert book.bids == feed.book.bids
        seqs = [u.message.seq for u in log if u.message is not None]
        assert log[0].kind is UpdateKind.SNAPSHOT
        assert seqs == list(range(seqs[0], 121)), "after the snapshot: every seq once, in order"
    finally:
        await mirror.close()
        await feed.close()


async def test_gap_resets_the_topic_and_resyncs_from_the_snapshot() -> None:
    async with following() as (feed, mirror, book, log):
        # lose seq 3..4 on the wire: the book changes, the client never sees it
        feed.book.apply(
            MarketByPrice(
                exchange="kraken-futures", symbol="PF_XBTUSD", update_type=UpdateType.INCREMENTAL, bids=[(1.0, 0.0)]
            )
        )
        feed.pub._seq[TOPIC][0] = 4
        feed.level(3.0, 5.0)  # seq 5
        await follow(mirror, book, until=5, log=log)
        kinds = [u.kind for u in log]
        assert UpdateKind.RESET in kinds and mirror.resyncs == 2
        assert book.bids == feed.book.bids == {2.0: 1.0, 3.0: 5.0}


async def test_stale_book_is_reset_until_the_next_snapshot() -> None:
    async with following() as (feed, mirror, book, log):
        feed.publish(MarketByPrice(exchange="kraken-futures", symbol="PF_XBTUSD", update_type=UpdateType.STALE))
        feed.level(7.0, 7.0, UpdateType.SNAPSHOT)
        await follow(mirror, book, until=4, log=log)
        assert [u.kind for u in log[-2:]] == [UpdateKind.RESET, UpdateKind.SNAPSHOT]
        assert book.bids == {7.0: 7.0}


async def test_a_prefix_the_publisher_has_nothing_for_is_empty_until_data_arrives() -> None:
    feed = Feed()
    await feed.start()
    known, unknown = "md.kraken-futures.PF_XBTUSD.", "md.kraken-futures.PF_NOPE."
    mirror = Mirror("feed", feed.pub_ep, feed.snap_ep, [known, unknown])
    await mirror.start()
    log: list[Update] = []

    async def until(pred: Callable[[Update], bool]) -> None:
        async for u in mirror.updates():
            log.append(u)
            if pred(u):
                return

    try:
        await asyncio.wait_for(until(lambda u: u.kind is UpdateKind.SYNCED), 10)
        assert mirror.empty == {unknown}
        assert [u.kind for u in log] == [UpdateKind.SNAPSHOT, UpdateKind.SYNCED]  # the entry, then its end
        # the publisher starts publishing under the prefix (a symbol added late): no longer empty.
        # Published until seen: the snapshot came over the DEALER, so the SUB's subscription may
        # still be on its way to the PUB, which drops what nobody has subscribed to yet.
        async def publish_late() -> None:
            while True:
                late = MarketByPrice(exchange="kraken-futures", symbol="PF_NOPE", update_type=UpdateType.SNAPSHOT)
                feed.pub.publish(unknown + "mbp.", late)
                await asyncio.sleep(0.05)

        publisher = asyncio.create_task(publish_late())
        try:
            await asyncio.wait_for(until(lambda u: u.topic == unknown + "mbp."), 10)
        finally:
            publisher.cancel()
        assert mirror.empty == set()
    finally:
        await mirror.close()
        await feed.close()


def test_snapshot_entry_round_trip_keeps_publisher_seq() -> None:
    feed = Feed()
    entry = SnapshotEntry(topic=TOPIC, message=feed.state())
    back = decode(encode(entry), SnapshotEntry)
    assert back.message.session == feed.pub.session
