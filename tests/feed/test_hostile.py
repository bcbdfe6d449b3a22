"""A hostile exchange on loopback: malformed JSON, wrong types, unknown symbols and an oversized
frame reach a real PublicStream over a real WebSocket. Each is counted; none crashes the stream
or touches the book."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
import orjson
import prometheus_client
import pytest
from aiohttp import WSMsgType, web

from common.messages import Message
from services.feed.market import BookStatus, MarketState
from services.feed.public_stream import PublicStream
from services.feed.settings import FeedSettings
from tests.feed.loopback import LoopbackServer, wait_until

SNAPSHOT = {
    "feed": "book_snapshot",
    "product_id": "PF_XBTUSD",
    "timestamp": 1,
    "seq": 10,
    "tickSize": None,
    "bids": [{"price": 100.0, "qty": 1.0}],
    "asks": [{"price": 101.0, "qty": 2.0}],
}
GOOD_DELTA = {"feed": "book", "product_id": "PF_XBTUSD", "side": "buy", "seq": 11, "price": 99.5, "qty": 3.0,
              "timestamp": 2}
HOSTILE = [
    b"{this is not json",
    b'{"feed":"book","product_id":"PF_XBTUSD","side":"buy","seq":"eleven","price":99.0,"qty":1.0}',
    b'{"feed":"book","product_id":"PF_XBTUSD","side":"buy","seq":11,"price":99.0,"qty":-1.0}',
    b'{"feed":"surprise","product_id":"PF_XBTUSD"}',
    b'{"feed":"book","product_id":"PF_NOPEUSD","side":"buy","seq":1,"price":1.0,"qty":1.0,"timestamp":1}',
    b"[]",
]


class HostileKraken(LoopbackServer):
    """Acks, a snapshot, the hostile frames, one good delta; on the first connection only, a
    frame larger than the client accepts."""

    def __init__(self) -> None:
        super().__init__()
        self.connections = 0

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        first = self.connections == 1
        await ws.send_str('{"event":"info","version":1}')
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            req = orjson.loads(msg.data)
            if req.get("feed") != "book" or req.get("event") != "subscribe":
                continue
            await ws.send_bytes(b'{"event":"subscribed","feed":"book","product_ids":["PF_XBTUSD"]}')
            await ws.send_str(orjson.dumps(SNAPSHOT).decode())
            for frame in HOSTILE:
                await ws.send_str(frame.decode())
            await ws.send_str(orjson.dumps(GOOD_DELTA).decode())
            if first:
                await ws.send_str('{"feed":"heartbeat","pad":"' + "x" * 4096 + '"}')
        return ws



@pytest.fixture
async def hostile() -> AsyncIterator[HostileKraken]:
    srv = HostileKraken()
    await srv.start()
    yield srv
    await srv.close()


def parse_errors(stream: str, reason: str) -> float:
    value = prometheus_client.REGISTRY.get_sample_value(
        "kgw_ws_stream_parse_errors_total", {"stream": stream, "reason": reason}
    )
    return value or 0.0


async def test_hostile_frames_are_counted_and_never_touch_the_book(hostile: HostileKraken) -> None:
    out: list[tuple[str, Message]] = []
    market = MarketState("kraken-futures", lambda t, m: out.append((t, m)), lambda *a: None)
    market.add_symbol("PF_XBTUSD")
    settings = msgspec.convert(
        {"feeds": ["book"], "stream": {"max_frame_size": 1024, "backoff_initial": 0.05, "backoff_cap": 0.1}},
        FeedSettings,
    )
    name = f"hostile-{hostile.port}"
    before = {r: parse_errors(name, r) for r in ("json", "invalid", "unknown_feed", "oversized")}
    ps = PublicStream(name, hostile.url, ["PF_XBTUSD"], market, settings, lambda *a: None)
    ps.start()
    try:
        await wait_until(lambda: hostile.connections >= 2 and market.symbols["PF_XBTUSD"].book.seq == 11)
        await asyncio.sleep(0.1)
        st = market.symbols["PF_XBTUSD"]
        assert st.book_status is BookStatus.LIVE
        assert st.book.bids.levels == {100.0: 1.0, 99.5: 3.0} and st.book.asks.levels == {101.0: 2.0}
    finally:
        await ps.stop()
    assert market.problems["unknown_symbol"] == 2  # once per connection
    assert market.problems["gap"] == 0
    assert parse_errors(name, "json") - before["json"] == 2
    assert parse_errors(name, "invalid") - before["invalid"] == 6  # wrong type, negative qty, array
    assert parse_errors(name, "unknown_feed") - before["unknown_feed"] == 2
    assert parse_errors(name, "oversized") - before["oversized"] == 1, ps.stream.last_reason
    assert ps.stream.reconnects >= 1, ps.stream.last_reason


class CrossedKraken(LoopbackServer):
    """Answers every book subscribe with a crossed snapshot, and counts the subscribes."""

    def __init__(self) -> None:
        super().__init__()
        self.subscribes = 0

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            req = orjson.loads(msg.data) if msg.type == WSMsgType.TEXT else {}
            if req.get("event") == "subscribe" and req.get("feed") == "book":
                self.subscribes += 1
                crossed = {**SNAPSHOT, "bids": [{"price": 102.0, "qty": 1.0}]}
                await ws.send_str(orjson.dumps(crossed).decode())
        return ws


async def test_an_exchange_that_keeps_sending_crossed_books_is_not_flooded() -> None:
    srv = CrossedKraken()
    await srv.start()
    out: list[tuple[str, Message]] = []
    resyncs: list[str] = []
    market = MarketState("kraken-futures", lambda t, m: out.append((t, m)), lambda *a: None)
    market.add_symbol("PF_XBTUSD")
    settings = msgspec.convert(
        {"feeds": ["book"], "resubscribe_interval": 0.5, "watchdog_interval": 0.05}, FeedSettings
    )
    ps = PublicStream("crossed", srv.url, ["PF_XBTUSD"], market, settings, lambda *a: None)

    def resync(symbol: str, feed: str, reason: str) -> None:  # what FeedApp wires
        resyncs.append(reason)
        ps.resubscribe(feed, symbol, reason)

    market.resync = resync
    ps.start()
    try:
        await asyncio.sleep(1.6)
    finally:
        await ps.stop()
        await srv.close()
    assert len(resyncs) >= 3  # the feed keeps trying...
    assert 3 <= srv.subscribes <= 5  # ...but at most once per 0.5 s after the first subscribe
    assert market.symbols["PF_XBTUSD"].book_status is BookStatus.STALE
