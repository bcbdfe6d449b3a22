"""The reusable exchange stream: backoff policy (plain calls) and the connection state machine
against a real aiohttp WebSocket server on loopback."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import orjson
import pytest
from aiohttp import WSMsgType, web

from common.kraken.backoff import Backoff
from common.kraken.stream import Stream, StreamSettings
from common.messages import ConnectionStatus as S
from tests.feed.loopback import LoopbackServer, wait_until

# ---------------------------------------------------------------- backoff (sans-I/O)


def test_backoff_bounds_grow_exponentially_and_cap() -> None:
    b = Backoff(initial=0.1, cap=2.0, multiplier=2.0)
    assert [b.bound(n) for n in range(7)] == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert b.bound(100_000) == 2.0  # never overflows, never gives up


def test_backoff_full_jitter_stays_within_bound_and_resets() -> None:
    b = Backoff(initial=0.5, cap=4.0, rng=random.Random(7))
    delays = [b.next_delay() for _ in range(200)]
    assert all(0.0 <= d <= 4.0 for d in delays)
    assert b.attempts == 200
    assert max(delays[10:]) > 2.0  # jitter spans the capped range
    assert len(set(delays)) == len(delays)  # jittered, not a fixed schedule
    b.reset()
    assert b.attempts == 0
    assert b.next_delay() <= 0.5


def test_backoff_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        Backoff(initial=0.0)
    with pytest.raises(ValueError):
        Backoff(initial=2.0, cap=1.0)


# ---------------------------------------------------------------- stream against a real server


class FakeKraken(LoopbackServer):
    """A loopback WebSocket server: says info, acks subscribes, then streams a counter.
    ``mute`` stops data (the socket stays open); ``drop()`` aborts every connection."""

    def __init__(self) -> None:
        super().__init__()
        self.mute = False
        self.connections: list[web.WebSocketResponse] = []
        self.received: list[dict[str, object]] = []

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections.append(ws)
        await ws.send_str('{"event":"info","version":1}')
        pump = asyncio.create_task(self.pump(ws))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    obj = orjson.loads(msg.data)
                    self.received.append(obj)
                    await ws.send_str(orjson.dumps({"event": "subscribed", "feed": obj.get("feed")}).decode())
        finally:
            pump.cancel()
        return ws

    async def pump(self, ws: web.WebSocketResponse) -> None:
        n = 0
        while not ws.closed:
            if not self.mute:
                n += 1
                await ws.send_str(f'{{"feed":"counter","n":{n}}}')
            await asyncio.sleep(0.01)

    def drop(self) -> None:
        for ws in self.connections:
            if ws._req is not None and ws._req.transport is not None:  # abort: no close frame
                ws._req.transport.abort()
        self.connections.clear()



@pytest.fixture
async def server() -> AsyncIterator[FakeKraken]:
    srv = FakeKraken()
    await srv.start()
    yield srv
    await srv.close()


class Owner:
    """A minimal stream owner: subscribes on connect, READY on the first counter frame."""

    def __init__(self) -> None:
        self.states: list[tuple[S, S, str]] = []
        self.frames: list[bytes] = []
        self.disconnects: list[str] = []
        self.ready = asyncio.Event()
        self.stream: Stream | None = None

    async def on_connected(self, stream: Stream) -> None:
        await stream.send_json({"event": "subscribe", "feed": "counter"})
        stream.set_state(S.DOWNLOADING, "subscribed")

    def on_frame(self, data: bytes, t: int) -> None:
        assert t > 0
        self.frames.append(data)
        if b'"counter"' in data and self.stream is not None and self.stream.state == S.DOWNLOADING:
            self.stream.set_state(S.READY)
            self.ready.set()

    def on_state(self, stream: Stream, old: S, new: S, text: str) -> None:
        self.states.append((old, new, text))
        if new != S.READY:
            self.ready.clear()

    def on_disconnected(self, stream: Stream, reason: str) -> None:
        self.disconnects.append(reason)


def make_stream(owner: Owner, url: str, **settings: float) -> Stream:
    base = {"backoff_initial": 0.05, "backoff_cap": 0.2, "silence_timeout": 5.0, "ping_interval": 1.0}
    base.update(settings)
    stream = Stream(
        "test-0",
        url,
        on_connected=owner.on_connected,
        on_frame=owner.on_frame,
        on_disconnected=owner.on_disconnected,
        on_state=owner.on_state,
        settings=StreamSettings(**base),  # type: ignore[arg-type]
    )
    owner.stream = stream
    return stream


async def test_stream_walks_the_state_machine_and_recovers_from_a_dropped_connection(server: FakeKraken) -> None:
    owner = Owner()
    stream = make_stream(owner, server.url)
    task = asyncio.create_task(stream.run())
    try:
        await asyncio.wait_for(owner.ready.wait(), 5)
        assert [(o, n) for o, n, _ in owner.states] == [
            (S.DISCONNECTED, S.CONNECTING),
            (S.CONNECTING, S.DOWNLOADING),
            (S.DOWNLOADING, S.READY),
        ]
        assert server.received == [{"event": "subscribe", "feed": "counter"}]
        server.drop()
        await wait_until(lambda: bool(owner.disconnects))
        await asyncio.wait_for(owner.ready.wait(), 5)
        assert stream.reconnects == 1 and len(owner.disconnects) == 1
        assert server.received.count({"event": "subscribe", "feed": "counter"}) == 2  # resubscribed
        assert (S.READY, S.DISCONNECTED) in [(o, n) for o, n, _ in owner.states]
        assert stream.frames > 0 and stream.bytes > 0
    finally:
        await stream.stop()
        await asyncio.wait_for(task, 5)
    assert stream.state == S.DISCONNECTED


async def test_stream_reconnects_a_silent_connection(server: FakeKraken) -> None:
    owner = Owner()
    stream = make_stream(owner, server.url, silence_timeout=0.3)
    task = asyncio.create_task(stream.run())
    try:
        await asyncio.wait_for(owner.ready.wait(), 5)
        server.mute = True
        await wait_until(lambda: bool(owner.disconnects))
        assert owner.disconnects and "silent" in owner.disconnects[0]
        server.mute = False
        await asyncio.wait_for(owner.ready.wait(), 5)
    finally:
        await stream.stop()
        await asyncio.wait_for(task, 5)


async def test_stream_keeps_retrying_while_the_server_is_down() -> None:
    owner = Owner()
    srv = FakeKraken()
    stream = make_stream(owner, srv.url)
    task = asyncio.create_task(stream.run())
    try:
        await wait_until(lambda: len(owner.disconnects) >= 3)
        assert len(owner.disconnects) >= 3 and all("connect failed" in r for r in owner.disconnects)
        await srv.start()  # the exchange comes back: the stream finds it by itself
        await asyncio.wait_for(owner.ready.wait(), 5)
    finally:
        await stream.stop()
        await asyncio.wait_for(task, 5)
        await srv.close()


async def test_restart_reconnects_and_a_failing_handler_is_counted_not_fatal(server: FakeKraken) -> None:
    owner = Owner()
    stream = make_stream(owner, server.url)
    calls = 0

    def exploding(data: bytes, t: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("owner bug")
        owner.on_frame(data, t)

    stream._on_frame = exploding
    task = asyncio.create_task(stream.run())
    try:
        await asyncio.wait_for(owner.ready.wait(), 5)
        stream.restart("resync")
        await wait_until(lambda: bool(owner.disconnects))
        assert owner.disconnects == ["resync"]
        await asyncio.wait_for(owner.ready.wait(), 5)
    finally:
        await stream.stop()
        await asyncio.wait_for(task, 5)


def test_invalid_transition_is_refused() -> None:
    owner = Owner()
    stream = make_stream(owner, "ws://127.0.0.1:1/ws/v1")
    with pytest.raises(ValueError):
        stream.set_state(S.READY)


class BurstServer(LoopbackServer):
    """Sends ``count`` numbered frames back to back on connect, then stays open."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        for n in range(self.count):
            await ws.send_str(f'{{"n":{n}}}')
        async for _ in ws:
            pass
        return ws


async def test_on_frames_gets_every_queued_frame_in_order_in_bounded_batches() -> None:
    server = BurstServer(3000)
    await server.start()
    batches: list[tuple[list[bytes], int]] = []
    got = asyncio.Event()

    async def connected(stream: Stream) -> None:
        stream.set_state(S.READY)

    def on_frames(batch: list[bytes], t: int) -> None:
        batches.append((batch, t))
        if sum(len(b) for b, _ in batches) >= server.count:
            got.set()

    def never(data: bytes, t: int) -> None:
        raise AssertionError("on_frame is not used when on_frames is given")

    stream = Stream("burst", server.url, on_connected=connected, on_frame=never, on_frames=on_frames, max_batch=64)
    task = asyncio.create_task(stream.run())
    try:
        await asyncio.wait_for(got.wait(), 10)
        frames = [f for b, _ in batches for f in b]
        assert frames == [f'{{"n":{n}}}'.encode() for n in range(server.count)]
        assert max(len(b) for b, _ in batches) == 64, "queued frames were not taken in one wake-up"
        assert all(t > 0 for _, t in batches) and stream.frames == server.count
        assert stream.bytes == sum(len(f) for f in frames)
    finally:
        await stream.stop()
        await asyncio.wait_for(task, 5)
        await server.close()
