"""Connections and subscriptions, and the encode-once, write-once fan-out."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from services.sim import metrics
from services.sim.faults import Faults
from services.sim.ws.frames import text_frame

_ids = itertools.count(1)


@dataclass(eq=False, slots=True)
class Connection:
    """One WebSocket client.

    transport: the TCP transport frames are written to. buf: frames waiting for the flush.
    challenge: the challenge issued on this connection (private feeds are verified against it).
    public: subscribed ``(feed, product_id)``; private: subscribed ``(account, feed)``.
    """

    transport: asyncio.Transport
    id: int = field(default_factory=lambda: next(_ids))
    buf: list[bytes] = field(default_factory=list)
    challenge: str | None = None
    challenge_key: str | None = None
    public: set[tuple[str, str]] = field(default_factory=set)
    private: set[tuple[str, str]] = field(default_factory=set)
    closed: bool = False


class Hub:
    """Every connection and who subscribed to what.

    send_buffer_limit: bytes a connection may have unsent in its transport before it is
    considered too slow and dropped (Kraken disconnects slow consumers too).
    """

    def __init__(self, faults: Faults, send_buffer_limit: int) -> None:
        self.faults = faults
        self.send_buffer_limit = send_buffer_limit
        self.connections: set[Connection] = set()
        self.public: dict[tuple[str, str], set[Connection]] = {}
        self.private: dict[tuple[str, str], set[Connection]] = {}
        self.dirty: set[Connection] = set()
        self.sent: Counter[str] = Counter()

    # -------------------------------------------------------------- membership

    def add(self, conn: Connection) -> None:
        self.connections.add(conn)
        metrics.WS_CONNECTS.inc()
        metrics.WS_CONNECTIONS.set(len(self.connections))

    def remove(self, conn: Connection) -> None:
        conn.closed = True
        self.connections.discard(conn)
        self.dirty.discard(conn)
        for key in conn.public:
            self.public.get(key, set()).discard(conn)
        for key in conn.private:
            self.private.get(key, set()).discard(conn)
        conn.public.clear()
        conn.private.clear()
        metrics.WS_CONNECTIONS.set(len(self.connections))

    @staticmethod
    def _join(index: dict[tuple[str, str], set[Connection]], mine: set[tuple[str, str]],
              conn: Connection, key: tuple[str, str]) -> bool:
        if key in mine:
            return False
        mine.add(key)
        index.setdefault(key, set()).add(conn)
        return True

    @staticmethod
    def _leave(index: dict[tuple[str, str], set[Connection]], mine: set[tuple[str, str]],
               conn: Connection, key: tuple[str, str]) -> bool:
        if key not in mine:
            return False
        mine.discard(key)
        index.get(key, set()).discard(conn)
        return True

    def subscribe(self, conn: Connection, feed: str, product: str) -> bool:
        """False if already subscribed."""
        return self._join(self.public, conn.public, conn, (feed, product))

    def unsubscribe(self, conn: Connection, feed: str, product: str) -> bool:
        return self._leave(self.public, conn.public, conn, (feed, product))

    def subscribe_private(self, conn: Connection, account: str, feed: str) -> bool:
        return self._join(self.private, conn.private, conn, (account, feed))

    def unsubscribe_private(self, conn: Connection, account: str, feed: str) -> bool:
        return self._leave(self.private, conn.private, conn, (account, feed))

    def subscribers(self, feed: str, product: str) -> set[Connection]:
        return self.public.get((feed, product), set())

    def private_subscribers(self, account: str, feed: str) -> set[Connection]:
        return self.private.get((account, feed), set())

    # -------------------------------------------------------------- sending

    def send(self, conn: Connection, msg: dict[str, Any], feed: str = "control") -> None:
        """Queue one message to one connection (control replies, snapshots)."""
        self.queue(conn, text_frame(orjson.dumps(msg)), feed)

    def queue(self, conn: Connection, frame: bytes, feed: str) -> None:
        if conn.closed:
            return
        conn.buf.append(frame)
        self.dirty.add(conn)
        self.sent[feed] += 1

    def fanout(self, conns: set[Connection], frame: bytes, feed: str,
               symbol: str | None = None) -> None:
        """Queue the same frame to many connections (encode once)."""
        if not conns:
            return
        if self.faults.stall_until and self.faults.stalled(time.monotonic(), symbol):
            return
        for conn in conns:
            conn.buf.append(frame)
        self.dirty.update(conns)
        self.sent[feed] += len(conns)

    def broadcast(self, conns: set[Connection], msg: dict[str, Any], feed: str,
                  symbol: str | None = None) -> None:
        if conns:
            self.fanout(conns, text_frame(orjson.dumps(msg)), feed, symbol)

    def flush(self) -> None:
        """Write every queued frame: one ``transport.write`` per connection."""
        if not self.dirty:
            return
        dirty, self.dirty = self.dirty, set()
        total = 0
        for conn in dirty:
            if conn.closed or not conn.buf:
                conn.buf.clear()
                continue
            data = b"".join(conn.buf) if len(conn.buf) > 1 else conn.buf[0]
            conn.buf.clear()
            tr = conn.transport
            if tr.is_closing():
                continue
            if tr.get_write_buffer_size() > self.send_buffer_limit:
                metrics.WS_DROPPED.inc()
                self.drop(conn)
                continue
            tr.write(data)
            total += len(data)
        metrics.WS_BYTES.inc(total)
        for feed, n in self.sent.items():
            metrics.WS_MESSAGES.labels(feed).inc(n)
        self.sent.clear()

    def drop(self, conn: Connection) -> None:
        """Cut the TCP connection without a close frame (fault injection, slow clients)."""
        conn.transport.abort()
        self.remove(conn)
