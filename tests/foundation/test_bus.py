"""Bus helpers over real ZeroMQ sockets on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from common.bus import BusEvent, DealerClient, EventKind, Publisher, Received, RouterServer, Subscriber
from common.messages import (
    ErrorCode,
    ErrorReply,
    Heartbeat,
    MarketStatus,
    Message,
    OrderAck,
    Origin,
    RequestStatus,
    RequestType,
    TradingStatus,
    decode,
)
from tests.support.processes import free_port

TOPIC = "md.kraken-futures.PF_XBTUSD.status."
OTHER = "md.kraken-futures.PF_ETHUSD.status."


def status(symbol: str = "PF_XBTUSD") -> MarketStatus:
    return MarketStatus(exchange="kraken-futures", symbol=symbol, trading_status=TradingStatus.OPEN)


def endpoint() -> str:
    return f"tcp://127.0.0.1:{free_port()}"


@contextlib.asynccontextmanager
async def pubsub(
    prefixes: list[str], service: str = "feed", *, settle: float = 0.3, **sub_kw: Any
) -> AsyncIterator[tuple[Publisher, Subscriber]]:
    """A publisher and a subscriber to it on a fresh loopback port, ``settle`` seconds after
    connecting (the slow-joiner window), closed afterwards."""
    ep = endpoint()
    pub = Publisher(service, ep)
    await pub.start()
    sub = Subscriber({service: ep}, prefixes, **sub_kw)
    await sub.start()
    try:
        await asyncio.sleep(settle)
        yield pub, sub
    finally:
        await sub.close()
        await pub.close()


async def gather(sub: Subscriber, want: int, timeout: float = 5.0) -> list[Received | BusEvent]:
    """Items until ``want`` Received messages (heartbeats excluded) or the timeout."""
    out: list[Received | BusEvent] = []

    async def run() -> None:
        async for batch in sub.batches():
            out.extend(batch)
            if sum(isinstance(i, Received) for i in out) >= want:
                return

    await asyncio.wait_for(run(), timeout)
    return out


async def gather_events(
    sub: Subscriber,
    pred: Callable[[Received | BusEvent], bool],
    probe: Callable[[], object] | None = None,
    timeout: float = 5.0,
) -> list[Received | BusEvent]:
    """Items until one satisfies ``pred``; ``probe`` is called on every wake-up (e.g. to keep
    publishing while a reconnecting subscription reaches the publisher)."""
    out: list[Received | BusEvent] = []

    async def run() -> None:
        if probe is not None:
            probe()
        async for batch in sub.batches():
            out.extend(batch)
            if any(pred(i) for i in batch):
                return
            if probe is not None:
                probe()

    await asyncio.wait_for(run(), timeout)
    return out


async def test_round_trip_with_per_topic_seq() -> None:
    async with pubsub(["md.kraken-futures."]) as (pub, sub):
        for _ in range(3):
            pub.publish(TOPIC, status())
        pub.publish(OTHER, status("PF_ETHUSD"))
        pub.publish(TOPIC, status())
        items = await gather(sub, 5)
        got = [(i.topic.decode(), i.header.seq) for i in items if isinstance(i, Received)]
        assert got == [(TOPIC, 1), (TOPIC, 2), (TOPIC, 3), (OTHER, 1), (TOPIC, 4)]
        assert not [i for i in items if isinstance(i, BusEvent)]
        first = next(i for i in items if isinstance(i, Received))
        msg = decode(first.payload)
        assert isinstance(msg, MarketStatus)
        assert msg.source == "feed" and msg.session == pub.session and msg.send_time > 0
        assert first.receive_time >= msg.send_time


async def test_heartbeats_are_published_at_least_every_second() -> None:
    ep = endpoint()
    pub = Publisher("router", ep, heartbeat_interval=0.2)
    await pub.start()
    sub = Subscriber({"router": ep}, ["sys.router.heartbeat."])
    await sub.start()
    try:
        items = await gather(sub, 3, timeout=5)
        beats = [decode(i.payload) for i in items if isinstance(i, Received)]
        assert all(isinstance(b, Heartbeat) and b.service == "router" for b in beats)
        seqs = [b.seq for b in beats]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    finally:
        await sub.close()
        await pub.close()


async def test_gap_is_reported_with_first_missing_and_received_seq() -> None:
    async with pubsub(["md.kraken-futures."]) as (pub, sub):
        pub.publish(TOPIC, status())  # seq 1
        pub.publish(TOPIC, status())  # seq 2
        pub._seq[TOPIC][0] = 6  # the next message is seq 7: 3..6 are lost
        pub.publish(TOPIC, status())
        items = await gather(sub, 3)
        gaps = [i for i in items if isinstance(i, BusEvent) and i.kind is EventKind.GAP]
        assert len(gaps) == 1
        assert (gaps[0].topic, gaps[0].expected, gaps[0].received) == (TOPIC, 3, 7)


async def test_publisher_restart_is_reported_and_resets_seq_tracking() -> None:
    ep = endpoint()
    pub = Publisher("feed", ep)
    await pub.start()
    sub = Subscriber({"feed": ep}, ["md.kraken-futures."])
    await sub.start()
    try:
        await asyncio.sleep(0.3)
        pub.publish(TOPIC, status())
        pub.publish(TOPIC, status())
        await gather(sub, 2)
        old = pub.session
        await pub.close()
        pub = Publisher("feed", ep, heartbeat_interval=0.1)
        await pub.start()
        # seq starts at 1 again in the new session: a restart, not a gap. Keep publishing
        # until the reconnected subscription reaches the new publisher.
        items = await gather_events(sub, lambda i: isinstance(i, Received), probe=lambda: pub.publish(TOPIC, status()))
        kinds = [i.kind for i in items if isinstance(i, BusEvent)]
        assert EventKind.RESTART in kinds and EventKind.GAP not in kinds
        restart = next(i for i in items if isinstance(i, BusEvent) and i.kind is EventKind.RESTART)
        assert (restart.old_session, restart.session) == (old, pub.session)
    finally:
        await sub.close()
        await pub.close()


async def test_silent_publisher_is_detected_from_missing_heartbeats() -> None:
    ep = endpoint()
    pub = Publisher("dropcopy", ep, heartbeat_interval=0.1)
    await pub.start()
    sub = Subscriber({"dropcopy": ep}, ["oms."], heartbeat_timeout=0.6)
    await sub.start()
    try:
        # alive: heartbeats flow, so no SILENT for a while
        alive = sub.poll()
        await asyncio.sleep(0.8)
        alive += sub.poll()
        assert not [i for i in alive if isinstance(i, BusEvent) and i.kind is EventKind.SILENT]
        await pub.close()  # dies: heartbeats stop
        events = await gather_events(sub, lambda i: isinstance(i, BusEvent) and i.kind is EventKind.SILENT)
        assert any(isinstance(i, BusEvent) and i.kind is EventKind.SILENT and i.publisher == "dropcopy" for i in events)
        pub = Publisher("dropcopy", ep, heartbeat_interval=0.1)
        await pub.start()
        events = await gather_events(sub, lambda i: isinstance(i, BusEvent) and i.kind is EventKind.ALIVE)
        assert any(isinstance(i, BusEvent) and i.kind is EventKind.ALIVE for i in events)
    finally:
        await sub.close()
        await pub.close()


def ack(req_id: str, status: RequestStatus, origin: Origin) -> OrderAck:
    return OrderAck(
        account="main",
        order_id=7,
        request_id=req_id,
        request_type=RequestType.CREATE_ORDER,
        origin=origin,
        status=status,
    )


async def test_router_dealer_request_with_several_replies() -> None:
    ep = endpoint()
    seen: list[Message] = []
    server: RouterServer

    async def handle(peer: bytes, msg: Message) -> None:
        seen.append(msg)
        rid = getattr(msg, "request_id", "")
        server.reply(peer, ack(rid, RequestStatus.FORWARDED, Origin.GATEWAY))
        await asyncio.sleep(0.05)
        server.reply(peer, ack(rid, RequestStatus.ACCEPTED, Origin.EXCHANGE))

    server = RouterServer("router", ep, handle)
    await server.start()
    client = DealerClient(ep)
    await client.start()
    try:
        client.send(Heartbeat(service="client-a"))
        replies = await client.collect(lambda m: isinstance(m, OrderAck) and m.status is RequestStatus.ACCEPTED)
        assert [type(r).__name__ for r in replies] == ["OrderAck", "OrderAck"]
        assert [r.status for r in replies if isinstance(r, OrderAck)] == [
            RequestStatus.FORWARDED,
            RequestStatus.ACCEPTED,
        ]
        assert [r.seq for r in replies] == [1, 2]
        assert all(r.source == "router" for r in replies)
        assert len(seen) == 1
    finally:
        await client.close()
        await server.close()


@pytest.mark.parametrize(
    ("frames", "code", "request_id"),
    [
        ([b"{not json"], ErrorCode.PARSE_ERROR, ""),
        (
            [b'{"type":"CancelOrder","account":"main","order_id":"7","request_id":"r1"}'],
            ErrorCode.INVALID_MESSAGE,
            "r1",
        ),
        ([b'{"type":"CancelOrder","account":"main","request_id":"r2"}'], ErrorCode.INVALID_MESSAGE, "r2"),
        ([b'{"type":"Launch","request_id":"r3"}'], ErrorCode.INVALID_MESSAGE, "r3"),
        ([b"[1,2,3]"], ErrorCode.INVALID_MESSAGE, ""),
        ([b'{"type":"Heartbeat","service":"x"}', b"extra"], ErrorCode.INVALID_FRAMES, ""),
        ([b'{"type":"Heartbeat","service":"' + b"x" * 70_000 + b'"}'], ErrorCode.OVERSIZED_MESSAGE, ""),
        (
            [
                b'{"type":"OrderAck","account":"a","order_id":1,"request_type":"CREATE_ORDER","origin":"GATEWAY",'
                b'"status":"ACCEPTED","request_id":"r4"}'
            ],
            ErrorCode.UNSUPPORTED_REQUEST,
            "r4",
        ),
    ],
)
async def test_invalid_requests_get_an_error_reply_and_are_counted(
    frames: list[bytes], code: ErrorCode, request_id: str
) -> None:
    ep = endpoint()
    handled: list[Message] = []
    server = RouterServer("router", ep, lambda peer, msg: handled.append(msg), accepted=(Heartbeat,))
    await server.start()
    client = DealerClient(ep)
    await client.start()
    try:
        client.send_raw(*frames)
        reply = await client.recv(timeout=5)
        assert isinstance(reply, ErrorReply)
        assert reply.error is code
        assert reply.request_id == request_id
        assert reply.text
        assert server.rejected == 1 and not handled
        # the server still serves well-formed requests afterwards
        client.send(Heartbeat(service="ok"))
        await asyncio.sleep(0.2)
        assert len(handled) == 1
    finally:
        await client.close()
        await server.close()


async def test_reply_to_vanished_peer_is_counted_not_lost_silently() -> None:
    ep = endpoint()
    server = RouterServer("router", ep, lambda peer, msg: None)
    await server.start()
    try:
        assert server.reply(b"\x00nobody", Heartbeat(service="x")) is False
        assert server.dropped == 1
    finally:
        await server.close()


async def test_seq_tracking_can_be_left_to_the_owner() -> None:
    async with pubsub(["md.kraken-futures."], track_seq=False) as (pub, sub):
        pub.publish(TOPIC, status())
        pub._seq[TOPIC][0] = 6
        pub.publish(TOPIC, status())
        items = await gather(sub, 2)
        assert [i.header.seq for i in items if isinstance(i, Received)] == [1, 7]
        assert not [i for i in items if isinstance(i, BusEvent)]
