"""Subscriber: per-topic seq tracking, gap and restart detection, silent-publisher detection.

One SUB socket per publisher endpoint, so a publisher that never speaks is noticed too. Each
wake-up drains every readable socket without blocking, and the owner gets what arrived in
order, as a batch::

    sub = Subscriber({"feed": "tcp://127.0.0.1:9810"}, ["md.kraken-futures.PF_XBTUSD."])
    await sub.start()
    async for batch in sub.batches():
        for item in batch:
            if isinstance(item, Received): ...      # item.topic, item.payload, item.header
            else: ...                               # BusEvent: GAP, RESTART, SILENT, ALIVE

Heartbeats (``sys.<service>.heartbeat.``) keep a publisher alive and are delivered only if
they match one of the requested prefixes. A publisher silent for ``heartbeat_timeout``
seconds gives one SILENT event, and ALIVE when it speaks again. A message whose seq is not the
previous + 1 on its topic gives GAP (with the first missing and the received seq); a new
``session`` from a source gives RESTART and resets that source's topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import msgspec
import zmq

from .sockets import DROPPED, RECEIVED, make_socket, readable_now, socket_fd

log = logging.getLogger("kgw.bus.subscriber")

HEARTBEAT_SUFFIX = b".heartbeat."

_NOBLOCK = zmq.NOBLOCK


def _discard_rest(sock: zmq.Socket[bytes]) -> int:
    """Read and drop the remaining frames of a message; how many there were."""
    n = 0
    while True:
        n += 1
        if not sock.recv(_NOBLOCK, copy=False).more:
            return n


class Header(msgspec.Struct):
    """The envelope fields of a payload, decoded without the body."""

    type: str = ""
    source: str = ""
    session: str = ""
    seq: int = 0
    send_time: int = 0


_header_decoder = msgspec.json.Decoder(Header)


class EventKind(StrEnum):
    GAP = "GAP"
    RESTART = "RESTART"
    SILENT = "SILENT"
    ALIVE = "ALIVE"
    MALFORMED = "MALFORMED"


@dataclass(slots=True)
class BusEvent:
    """Something the owner must know about the stream itself.

    GAP: ``topic`` jumped from ``expected`` (first missing seq) to ``received``.
    RESTART: ``source`` has a new ``session`` (was ``old_session``).
    SILENT / ALIVE: ``publisher`` (the configured name) stopped / resumed speaking.
    MALFORMED: a frame set that is not ``[topic, JSON payload]`` (``text`` says why).
    """

    kind: EventKind
    publisher: str
    topic: str = ""
    source: str = ""
    session: str = ""
    old_session: str = ""
    expected: int = 0
    received: int = 0
    time: int = field(default_factory=time.time_ns)
    text: str = ""


@dataclass(slots=True)
class Received:
    """One message: raw frames, decoded envelope, receive time (ns) and publisher name."""

    topic: bytes
    payload: bytes
    header: Header
    receive_time: int
    publisher: str


Item = Received | BusEvent


class _Feed:
    """State of one publisher endpoint."""

    __slots__ = ("endpoint", "fd", "last_heard", "name", "silent", "sock")

    def __init__(self, name: str, endpoint: str, sock: zmq.Socket[bytes]) -> None:
        self.name = name
        self.endpoint = endpoint
        self.sock = sock
        self.fd: int | None = None
        self.last_heard = time.monotonic()
        self.silent = False


class Subscriber:
    """SUB sockets to ``publishers`` (name -> endpoint) filtered by topic ``prefixes``.

    prefixes: topic prefixes to deliver (``""`` = everything).
    rcvhwm: receive high-water mark in messages, per publisher.
    heartbeat_timeout: seconds of silence before a SILENT event.
    max_batch: most messages taken from one socket per wake-up (fairness between publishers).
    track_seq: report GAP and RESTART events (on by default); an owner that tracks seq itself
        (the event-log writer) turns it off to save ~1 us per message. SILENT / ALIVE and
        MALFORMED are reported either way.
    reconnect_ivl: milliseconds before reconnecting to a publisher that went away (doubling up
        to 1 s); short, so little of a restarted publisher's first burst is missed.
    """

    def __init__(
        self,
        publishers: Mapping[str, str],
        prefixes: Iterable[str] = ("",),
        *,
        rcvhwm: int = 1_000_000,
        heartbeat_timeout: float = 3.0,
        max_batch: int = 4096,
        name: str = "sub",
        track_seq: bool = True,
        reconnect_ivl: int = 20,
    ) -> None:
        self.prefixes = [p.encode() for p in prefixes]
        self.heartbeat_timeout = heartbeat_timeout
        self.max_batch = max_batch
        self.name = name
        self.track_seq = track_seq
        self._feeds: list[_Feed] = []
        deliver_all = b"" in self.prefixes
        for pub_name, endpoint in publishers.items():
            sock = make_socket(zmq.SUB, rcvhwm=rcvhwm)
            sock.setsockopt(zmq.RECONNECT_IVL, reconnect_ivl)
            sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
            for p in set(self.prefixes) if not deliver_all else {b""}:
                sock.setsockopt(zmq.SUBSCRIBE, p)
            if not deliver_all:
                sock.setsockopt(zmq.SUBSCRIBE, b"sys.")  # heartbeats keep liveness
            sock.connect(endpoint)
            self._feeds.append(_Feed(pub_name, endpoint, sock))
        self._deliver_all = deliver_all
        #: topic -> (session, last seq)
        self._seq: dict[bytes, tuple[str, int]] = {}
        #: source -> session
        self._sessions: dict[str, str] = {}
        self._received = RECEIVED.labels(name)
        self._malformed = DROPPED.labels(name, "malformed")
        self._wake = asyncio.Event()
        self._closed = False

    async def start(self) -> None:
        """Start watching the sockets (connects are already under way)."""
        loop = asyncio.get_running_loop()
        for f in self._feeds:
            if f.fd is None:
                f.fd = socket_fd(f.sock)
                loop.add_reader(f.fd, self._wake.set)
            f.last_heard = time.monotonic()

    def forget(self, topic: str | None = None) -> None:
        """Forget seq state (of one topic, or all): the next message starts a fresh count."""
        if topic is None:
            self._seq.clear()
        else:
            self._seq.pop(topic.encode(), None)

    def _wanted(self, topic: bytes) -> bool:
        # one C call (startswith with a tuple) instead of a generator over the prefixes
        return self._deliver_all or topic.startswith(tuple(self.prefixes))

    def _track(self, feed: _Feed, topic: bytes, header: Header, out: list[Item]) -> None:
        source, session, seq = header.source, header.session, header.seq
        known = self._sessions.get(source)
        if known != session:
            self._sessions[source] = session
            if known is not None:
                out.append(BusEvent(EventKind.RESTART, feed.name, source=source, session=session, old_session=known))
                for t in [t for t, (s, _) in self._seq.items() if s == known]:
                    del self._seq[t]
        prev = self._seq.get(topic)
        if prev is not None and prev[0] == session and seq != prev[1] + 1:
            out.append(
                BusEvent(
                    EventKind.GAP,
                    feed.name,
                    topic=topic.decode(errors="replace"),
                    source=source,
                    session=session,
                    expected=prev[1] + 1,
                    received=seq,
                )
            )
        self._seq[topic] = (session, seq)

    def _drain(self, feed: _Feed, out: list[Item]) -> int:
        # Frames are read with copy=False and checked with Frame.more, then copied to bytes:
        # recv_multipart asks getsockopt(RCVMORE) after every frame, which costs ~0.6 us each in
        # pyzmq 27 (an enum lookup per call) and was a third of the cost of a message here.
        recv = feed.sock.recv
        n = 0
        now_ns = time.time_ns()
        while n < self.max_batch:
            try:
                first = recv(_NOBLOCK, copy=False)
            except zmq.Again:
                break
            n += 1
            if not first.more:
                self._malformed_frames(feed, 1, out)
                continue
            second = recv(_NOBLOCK, copy=False)
            if second.more:
                self._malformed_frames(feed, 2 + _discard_rest(feed.sock), out)
                continue
            topic, payload = first.bytes, second.bytes
            try:
                header = _header_decoder.decode(payload)
            except msgspec.DecodeError as e:
                self._malformed.inc()
                out.append(BusEvent(EventKind.MALFORMED, feed.name, topic=topic.decode(errors="replace"), text=str(e)))
                continue
            if self.track_seq:
                self._track(feed, topic, header, out)
            if self._wanted(topic):  # heartbeats included only when a prefix asks for them
                out.append(Received(topic, payload, header, now_ns, feed.name))
        if n:
            feed.last_heard = time.monotonic()
            if feed.silent:
                feed.silent = False
                out.append(BusEvent(EventKind.ALIVE, feed.name))
            self._received.inc(n)
        return n

    def _malformed_frames(self, feed: _Feed, frames: int, out: list[Item]) -> None:
        self._malformed.inc()
        out.append(BusEvent(EventKind.MALFORMED, feed.name, text=f"{frames} frames"))

    def _check_silence(self, out: list[Item]) -> None:
        now = time.monotonic()
        for f in self._feeds:
            if not f.silent and now - f.last_heard > self.heartbeat_timeout:
                f.silent = True
                out.append(BusEvent(EventKind.SILENT, f.name, text=f"no message for {self.heartbeat_timeout}s"))

    def poll(self) -> list[Item]:
        """Everything readable right now, without waiting."""
        out: list[Item] = []
        for f in self._feeds:
            self._drain(f, out)
        self._check_silence(out)
        return out

    async def batches(self) -> AsyncIterator[list[Item]]:
        """Yield batches of items as they arrive; a batch may hold only events."""
        check_every = max(self.heartbeat_timeout / 4, 0.05)
        while not self._closed:
            out = self.poll()
            if out:
                yield out
                continue
            self._wake.clear()
            # re-check after clearing: the FD is edge-triggered
            if any(readable_now(f.sock) for f in self._feeds):
                continue
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # coincides with the wake-up, leaving this loop running after close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(check_every):
                    await self._wake.wait()

    async def close(self) -> None:
        self._closed = True
        loop = asyncio.get_running_loop()
        for f in self._feeds:
            if f.fd is not None:
                loop.remove_reader(f.fd)
                f.fd = None
            f.sock.close(0)
