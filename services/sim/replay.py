"""Replay mode: serve a recorded session to WebSocket clients, with its REST instruments.

Each client gets ``info``, per-product acks generated from its own subscribe requests, then the
recorded data frames (snapshots and deltas, byte for byte) of the feeds and products it
subscribed to, as fast as possible (speed 0) or at the recorded pace divided by ``speed``.
Recorded control frames (info, acks) are not replayed; they are answered live instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import orjson
from aiohttp import WSMsgType, web

from common.kraken import recording
from services.sim.ws import public_feeds
from services.sim.ws.frames import text_frame

log = logging.getLogger("kgw.sim.replay")

FEED_FAMILY = {"book_snapshot": "book", "book": "book", "trade_snapshot": "trade",
               "trade": "trade", "ticker": "ticker", "ticker_lite": "ticker_lite"}
BATCH = 512
"""Frames per write when replaying as fast as possible."""
SETTLE = 0.1
"""Seconds between the first subscribe and the start of the replay."""
HIGH_WATER = 4 << 20
"""Bytes of unsent data at which the replay waits for the client."""


@dataclass(frozen=True, slots=True)
class Frame:
    ts: float
    family: str
    product: str
    frame: bytes


class Recording:
    """A loaded session: data frames with their family/product, and the REST instruments."""

    def __init__(self, ws_path: str | Path, instruments_path: str | Path | None) -> None:
        self.frames: list[Frame] = []
        self.instruments: bytes | None = None
        for rec in recording.read(ws_path):
            if rec.kind == "recv":
                self._add(rec)
            elif rec.kind == "rest" and rec.url.endswith("/instruments"):
                self.instruments = rec.payload.encode()
        if instruments_path:
            for rec in recording.read(instruments_path):
                if rec.kind == "rest" and rec.url.endswith("/instruments"):
                    self.instruments = rec.payload.encode()
        self.products = {f.product for f in self.frames}

    def _add(self, rec: recording.Record) -> None:
        try:
            msg = orjson.loads(rec.payload)
        except orjson.JSONDecodeError:
            return
        if not isinstance(msg, dict) or "event" in msg:
            return
        family = FEED_FAMILY.get(str(msg.get("feed")))
        product = msg.get("product_id")
        if family and isinstance(product, str):
            self.frames.append(Frame(rec.ts, family, product.upper(),
                                     text_frame(rec.payload.encode())))


async def _writable(transport: asyncio.Transport, patience: float = 30.0) -> bool:
    """Wait (bounded by ``patience`` seconds) until the client has taken most of the data."""
    for _ in range(int(patience * 1000)):
        if transport.is_closing():
            return False
        if transport.get_write_buffer_size() <= HIGH_WATER:
            return True
        await asyncio.sleep(0.001)
    return False


async def _stream(rec: Recording, subs: set[tuple[str, str]], transport: asyncio.Transport,
                  speed: float) -> None:
    frames = rec.frames
    # give a client that sends several subscribe requests a moment to send them all
    await asyncio.sleep(SETTLE)
    if not frames:
        return
    t0 = frames[0].ts
    loop = asyncio.get_running_loop()
    start = loop.time()
    batch: list[bytes] = []
    for f in frames:
        if (f.family, f.product) not in subs:
            continue
        if speed > 0:
            delay = (f.ts - t0) / speed - (loop.time() - start)
            if delay > 0:
                if batch:
                    transport.write(b"".join(batch))
                    batch.clear()
                await asyncio.sleep(delay)
        batch.append(f.frame)
        if len(batch) >= BATCH:
            transport.write(b"".join(batch))
            batch.clear()
            if not await _writable(transport):
                return
    if batch:
        transport.write(b"".join(batch))


async def _heartbeats(ws: web.WebSocketResponse, interval: float) -> None:
    """``{"feed":"heartbeat","time":...}`` every ``interval`` seconds, as in live mode."""
    while not ws.closed:
        await ws.send_str(orjson.dumps(public_feeds.heartbeat(time.time_ns() // 1_000_000)).decode())
        await asyncio.sleep(interval)


async def handle(
    rec: Recording, speed: float, request: web.Request, heartbeat_interval: float = 5.0
) -> web.WebSocketResponse:
    """aiohttp handler of ``/ws/v1`` in replay mode. The recorded data frames are replayed;
    control messages (acks, errors, pong, the heartbeat feed every ``heartbeat_interval``
    seconds) are generated as live mode does."""
    ws = web.WebSocketResponse(autoping=True, compress=False)
    await ws.prepare(request)
    # uvloop's transports are not asyncio.Transport subclasses, but have its interface
    transport = cast(asyncio.Transport, request.transport)
    assert transport is not None
    await ws.send_str('{"event":"info","version":1}')
    subs: set[tuple[str, str]] = set()
    streamer: asyncio.Task[None] | None = None
    beats: asyncio.Task[None] | None = None
    try:
        async for m in ws:
            if m.type != WSMsgType.TEXT:
                continue
            try:
                msg = orjson.loads(m.data)
            except orjson.JSONDecodeError:
                await ws.send_str('{"event":"error","message":"Json Error"}')
                continue
            if not isinstance(msg, dict):
                await ws.send_str('{"event":"error","message":"Json Error"}')
                continue
            if msg.get("event") == "ping":
                await ws.send_str('{"event":"pong"}')
                continue
            feed, ids = msg.get("feed"), msg.get("product_ids")
            if msg.get("event") == "subscribe" and feed == "heartbeat":
                await ws.send_str('{"event":"subscribed","feed":"heartbeat"}')
                if beats is None:
                    beats = asyncio.create_task(_heartbeats(ws, heartbeat_interval))
                continue
            if msg.get("event") != "subscribe" or feed not in FEED_FAMILY.values() or not (
                    isinstance(ids, list)):
                await ws.send_str('{"event":"error","message":"Invalid feed"}')
                continue
            for p in ids:
                pid = str(p).upper()
                if pid not in rec.products:
                    await ws.send_str('{"event":"error","message":"Invalid product id"}')
                    continue
                subs.add((str(feed), pid))
                ack = {"event": "subscribed", "feed": feed, "product_ids": [pid]}
                await ws.send_str(orjson.dumps(ack).decode())
            if streamer is None and subs:
                streamer = asyncio.create_task(_stream(rec, subs, transport, speed))
    finally:
        for task in (streamer, beats):
            if task is not None:
                task.cancel()
    return ws
