"""One WebSocket connection to Kraken Futures ("stream"), kept alive forever.

A :class:`Stream` owns one connection and its explicit state machine::

    DISCONNECTED -> CONNECTING -> [LOGIN_SENT] -> DOWNLOADING -> READY
         ^______________|______________|______________|__________|   (any failure)

The stream itself moves DISCONNECTED -> CONNECTING -> (socket open) and back to DISCONNECTED
on any failure; the owner moves it through LOGIN_SENT / DOWNLOADING / READY with
:meth:`Stream.set_state`, because only the owner knows what "logged in" and "downloaded" mean
for its feeds. Every change calls the ``on_state`` hook (owners publish StreamStatus from it).

Hooks, all given to the constructor:

- ``on_connected(stream)`` (async): the socket is open; send subscriptions or the challenge
  request here (:meth:`Stream.send_json`) and set the next state.
- ``on_frame(data, receive_time_ns)`` (sync, hot path): one text or binary frame as ``bytes``
  (never decoded to ``str``: msgspec and orjson parse bytes directly) and the wall-clock time
  it was taken off the socket. An exception here is logged and counted, never fatal.
- ``on_frames(batch, receive_time_ns)`` (optional, sync, hot path): replaces ``on_frame`` with
  one call per wake-up: every data frame aiohttp had already parsed and queued when the first
  one was taken (at most ``max_batch``), in order, all stamped with the time that wake-up took
  them. At low rates a batch is one frame; under load it lets the owner coalesce work. An
  exception here is logged and counted once for the batch: owners that must not lose the rest
  of a batch catch per frame themselves.
- ``on_disconnected(stream, reason)`` (sync): the connection is gone; per-connection state
  (subscriptions, challenge, books) must be considered lost.
- ``on_state(stream, old, new, text)`` (sync): every state change.

Reconnects use :class:`~common.kraken.backoff.Backoff` (capped exponential, full jitter) and
never give up; the backoff restarts from the bottom once a connection reached READY. Keepalive
uses RFC 6455 protocol pings (what Kraken's own sample client does; Kraken drops a connection
that sends nothing for 60 s); a connection whose pongs stop coming is closed by aiohttp. A
connection that delivers no frame at all for ``silence_timeout`` seconds is closed and
reconnected (Kraken can keep a socket open and send nothing).

Metrics (label ``stream``): ``kgw_ws_stream_state`` (enum), ``kgw_ws_stream_reconnects_total``,
``kgw_ws_stream_frames_total``, ``kgw_ws_stream_bytes_total``,
``kgw_ws_stream_parse_errors_total`` (by ``reason``, counted by owners through
:meth:`Stream.parse_error`), ``kgw_ws_stream_silences_total``. Frame and byte counts are plain
integers read at scrape time, so the hot path pays nothing for them.

aiohttp's client is used because it receives ~3x faster than ``websockets`` here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Protocol

import aiohttp
import msgspec
import orjson
import prometheus_client
from aiohttp._websocket.models import WSMessageNoDecodeText
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from common.kraken.backoff import Backoff
from common.messages import ConnectionStatus

log = logging.getLogger("kgw.kraken.stream")

State = ConnectionStatus

#: allowed state changes; anything else is a bug in the owner and raises
TRANSITIONS: dict[State, frozenset[State]] = {
    State.DISCONNECTED: frozenset({State.CONNECTING}),
    State.CONNECTING: frozenset({State.LOGIN_SENT, State.DOWNLOADING, State.READY, State.DISCONNECTED}),
    State.LOGIN_SENT: frozenset({State.DOWNLOADING, State.READY, State.DISCONNECTED}),
    State.DOWNLOADING: frozenset({State.READY, State.DISCONNECTED}),
    State.READY: frozenset({State.DOWNLOADING, State.DISCONNECTED}),
}

STATE_METRIC = prometheus_client.Enum(
    "kgw_ws_stream_state",
    "Connection state of each exchange WebSocket stream",
    ["stream"],
    states=[s.value for s in State],
)
RECONNECTS = prometheus_client.Counter(
    "kgw_ws_stream_reconnects_total", "Connections lost and retried, per stream", ["stream"]
)
PARSE_ERRORS = prometheus_client.Counter(
    "kgw_ws_stream_parse_errors_total", "Frames that could not be used, per stream and reason", ["stream", "reason"]
)
SILENCES = prometheus_client.Counter(
    "kgw_ws_stream_silences_total", "Connections closed because nothing arrived in time, per stream", ["stream"]
)


class StreamSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Tunables of a stream (embeddable in a service's config section).

    ping_interval: seconds between RFC 6455 protocol pings; a pong missing for half of it
        closes the connection (Kraken needs traffic at least every 60 s).
    silence_timeout: seconds without any received frame after which the connection is closed
        and reconnected (0 disables). Subscribe to a feed that always talks (Kraken's
        ``heartbeat``) so an idle market is not mistaken for a dead connection.
    connect_timeout: seconds allowed for TCP + TLS + WebSocket handshake.
    close_timeout: seconds allowed for the closing handshake before the socket is dropped.
    backoff_initial: upper bound of the first reconnect delay, seconds.
    backoff_cap: largest reconnect delay, seconds.
    backoff_multiplier: growth of the delay bound per failed attempt.
    max_frame_size: largest frame accepted, bytes; a larger one closes the connection (it is
        counted as a parse error ``oversized``) and the stream reconnects.
    """

    ping_interval: float = 15.0
    silence_timeout: float = 20.0
    connect_timeout: float = 10.0
    close_timeout: float = 1.0
    backoff_initial: float = 0.1
    backoff_cap: float = 30.0
    backoff_multiplier: float = 2.0
    max_frame_size: int = 16 * 1024 * 1024


class FrameTap(Protocol):
    """Sees every frame of a stream (the recorder uses it). Times are ns since the epoch."""

    def connected(self, url: str, time_ns: int) -> None: ...
    def sent(self, url: str, time_ns: int, data: bytes) -> None: ...
    def received(self, time_ns: int, data: bytes) -> None: ...


OnConnected = Callable[["Stream"], Awaitable[None]]
OnFrame = Callable[[bytes, int], None]
OnFrames = Callable[[list[bytes], int], None]
OnDisconnected = Callable[["Stream", str], None]
OnState = Callable[["Stream", State, State, str], None]


_DATA_TYPES = (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY)

DEFAULT_MAX_BATCH = 1024
"""Most frames handed to ``on_frames`` in one call (bounds how long the first one waits)."""


def _queue_of(ws: aiohttp.ClientWebSocketResponse[bool]) -> Sequence[tuple[Any, int]]:
    """aiohttp's queue of parsed frames (``(message, size)`` pairs), to see whether the next
    ``receive()`` would return at once. aiohttp has no public call for it; 3.9 - 3.14 keep a
    deque at ``_reader._buffer``. Anything else gives an empty tuple: batches of one frame."""
    buf = getattr(getattr(ws, "_reader", None), "_buffer", None)
    return buf if isinstance(buf, deque) else ()


def _ignore_disconnect(stream: Stream, reason: str) -> None:
    pass


def _ignore_state(stream: Stream, old: State, new: State, text: str) -> None:
    pass


class Stream:
    """One exchange WebSocket connection with reconnects, pings, silence detection and metrics.

    name: stream name in logs, metrics and StreamStatus (e.g. ``public-0``).
    url: WebSocket URL (``wss://futures.kraken.com/ws/v1``).
    settings: tunables (:class:`StreamSettings`).
    tap: optional observer of every frame (recording).
    backoff: reconnect policy (default built from ``settings``).

    Run it with ``await stream.run()`` (returns after :meth:`stop`), usually as a task.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        on_connected: OnConnected,
        on_frame: OnFrame,
        on_frames: OnFrames | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        on_disconnected: OnDisconnected = _ignore_disconnect,
        on_state: OnState = _ignore_state,
        settings: StreamSettings | None = None,
        tap: FrameTap | None = None,
        backoff: Backoff | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.settings = settings or StreamSettings()
        s = self.settings
        self.backoff = backoff or Backoff(s.backoff_initial, s.backoff_cap, s.backoff_multiplier)
        self.tap = tap
        self._on_connected = on_connected
        self._on_frame = on_frame
        self._on_frames = on_frames or self._each_frame
        self.max_batch = max(1, max_batch)
        self._on_disconnected = on_disconnected
        self._on_state = on_state
        self._session = session
        self._own_session = session is None
        self.state = State.DISCONNECTED
        self.frames = 0
        self.bytes = 0
        self.connects = 0
        self.reconnects = 0
        self.last_frame_ns = 0
        self.last_reason = ""
        self._ws: aiohttp.ClientWebSocketResponse[bool] | None = None
        self._kill = asyncio.Event()
        self._kill_reason = ""
        self._stopping = False
        self._running = False
        self._stopped = asyncio.Event()
        STATE_METRIC.labels(name).state(self.state.value)
        self._reconnects = RECONNECTS.labels(name)
        self._silences = SILENCES.labels(name)
        _COLLECTOR.streams.add(self)

    # ------------------------------------------------------------------ owner API

    def set_state(self, new: State, text: str = "") -> None:
        """Move to ``new`` (no-op if already there); raises ValueError on a forbidden change."""
        old = self.state
        if new == old:
            return
        if new not in TRANSITIONS[old]:
            raise ValueError(f"stream {self.name}: {old} -> {new} is not a valid transition")
        self.state = new
        STATE_METRIC.labels(self.name).state(new.value)
        if new == State.READY:
            self.backoff.reset()
        log.info(
            "stream state", extra={"fields": {"stream": self.name, "from": old.value, "to": new.value, "text": text}}
        )
        self._on_state(self, old, new, text)

    @property
    def connected(self) -> bool:
        """True while the socket is open (any state past CONNECTING)."""
        return self._ws is not None and not self._ws.closed

    async def send_json(self, obj: Any) -> None:
        """Send one JSON text frame; raises ConnectionError if the socket is not open."""
        await self.send_bytes(orjson.dumps(obj))

    async def send_bytes(self, data: bytes) -> None:
        """Send ``data`` (UTF-8 JSON) as one text frame."""
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionError(f"stream {self.name} is not connected")
        if self.tap is not None:
            self.tap.sent(self.url, time.time_ns(), data)
        await ws.send_str(data.decode())

    def parse_error(self, reason: str) -> None:
        """Count a frame the owner could not use (``reason``: short, low-cardinality)."""
        PARSE_ERRORS.labels(self.name, reason).inc()

    def restart(self, reason: str) -> None:
        """Close the current connection and reconnect (after the backoff delay)."""
        if self._ws is not None:
            self._kill_reason = reason
            self._kill.set()

    async def stop(self) -> None:
        """Close the connection and make :meth:`run` return."""
        self._stopping = True
        self._kill_reason = "stopped"
        self._kill.set()
        if self._running:
            await self._stopped.wait()

    # ------------------------------------------------------------------ loop

    async def run(self) -> None:
        """Connect, serve, reconnect with backoff, forever (until :meth:`stop`)."""
        self._stopped.clear()
        self._running = True
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            while not self._stopping:
                self.set_state(State.CONNECTING)
                reason = await self._connect_once()
                self.last_reason = reason
                self.set_state(State.DISCONNECTED, reason)
                try:
                    self._on_disconnected(self, reason)
                except Exception:
                    log.exception("on_disconnected failed", extra={"fields": {"stream": self.name}})
                if self._stopping:
                    break
                self.reconnects += 1
                self._reconnects.inc()
                delay = self.backoff.next_delay()
                log.warning(
                    "stream disconnected",
                    extra={"fields": {"stream": self.name, "reason": reason, "retry_in_s": round(delay, 3)}},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._kill.wait(), delay)
                self._kill.clear()
        finally:
            if self._own_session and self._session is not None:
                await self._session.close()
                self._session = None
            self._running = False
            self._stopped.set()

    async def _connect_once(self) -> str:
        """One connection from handshake to loss; returns why it ended."""
        s = self.settings
        assert self._session is not None
        if not self._stopping:
            self._kill.clear()
            self._kill_reason = ""
        try:
            ws = await asyncio.wait_for(
                self._session.ws_connect(
                    self.url,
                    heartbeat=s.ping_interval or None,
                    autoping=True,
                    max_msg_size=s.max_frame_size,
                    decode_text=False,
                    timeout=aiohttp.ClientWSTimeout(ws_close=s.close_timeout),
                ),
                s.connect_timeout,
            )
        except (aiohttp.ClientError, OSError, TimeoutError) as e:
            return f"connect failed: {type(e).__name__}: {e}"
        self._ws = ws
        self.connects += 1
        self.last_frame_ns = time.time_ns()
        if self.tap is not None:
            self.tap.connected(self.url, self.last_frame_ns)
        receiver = asyncio.create_task(self._receive(ws), name=f"{self.name}-receive")
        killer = asyncio.create_task(self._kill.wait(), name=f"{self.name}-kill")
        try:
            await self._on_connected(self)
            reason = await self._supervise(receiver, killer)
        except (ConnectionError, aiohttp.ClientError) as e:
            reason = f"send failed: {type(e).__name__}: {e}"
        finally:
            for task in (receiver, killer):
                task.cancel()
            with contextlib.suppress(BaseException):
                await receiver
            self._ws = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), s.close_timeout)
        return reason

    async def _supervise(self, receiver: asyncio.Task[str], killer: asyncio.Task[Any]) -> str:
        """Wait for the receiver to end, a kill request, or silence."""
        timeout = self.settings.silence_timeout
        tick = min(max(timeout / 4, 0.05), 1.0) if timeout > 0 else None
        while True:
            done, _ = await asyncio.wait({receiver, killer}, timeout=tick, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                return receiver.result()
            if killer in done:
                return self._kill_reason or "restart requested"
            if timeout > 0 and time.time_ns() - self.last_frame_ns > timeout * 1e9:
                self._silences.inc()
                return f"silent for {timeout}s"

    def _each_frame(self, batch: list[bytes], receive_time: int) -> None:
        """Batch handler for owners that gave only ``on_frame``: one call per frame."""
        on_frame = self._on_frame
        for data in batch:
            try:
                on_frame(data, receive_time)
            except Exception:
                self._handler_failed()

    def _handler_failed(self) -> None:
        self.parse_error("handler")
        log.exception("frame handler failed", extra={"fields": {"stream": self.name}})

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> str:
        """The hot loop: wait for a frame, take every data frame already queued behind it
        (``receive()`` returns those without yielding to the event loop), hand them to
        ``on_frames`` as one batch."""
        on_frames = self._on_frames
        tap = self.tap
        queue = _queue_of(ws)
        data_types = _DATA_TYPES
        max_batch = self.max_batch
        while True:
            msg = await ws.receive()
            if msg.type not in data_types:
                return self._ended(ws, msg)
            now = time.time_ns()
            batch: list[bytes] = [msg.data]
            # only data frames: a queued PING/CLOSE is left to the next receive(), which may
            # wait, and nothing taken may wait with it
            while queue and queue[0][0].type in data_types and len(batch) < max_batch:
                msg = await ws.receive()
                batch.append(msg.data)
            self.frames += len(batch)
            self.last_frame_ns = now
            for data in batch:
                self.bytes += len(data)
                if tap is not None:
                    tap.received(now, data)
            try:
                on_frames(batch, now)
            except Exception:
                self._handler_failed()

    def _ended(self, ws: aiohttp.ClientWebSocketResponse[bool], msg: WSMessageNoDecodeText) -> str:
        """Why the connection ended, from the non-data message ``receive()`` returned."""
        if msg.type is aiohttp.WSMsgType.ERROR:
            # aiohttp hands the error in the message (e.g. WebSocketError MESSAGE_TOO_BIG)
            exc = msg.data if isinstance(msg.data, BaseException) else ws.exception()
            if isinstance(exc, aiohttp.WebSocketError) and exc.code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG:
                self.parse_error("oversized")
            return f"error: {type(exc).__name__}: {exc}"
        # CLOSE, CLOSING, CLOSED
        return f"closed by peer (code {ws.close_code})"


class _StreamCollector(Collector):
    """Exports frame and byte counts of every live stream at scrape time."""

    def __init__(self) -> None:
        self.streams: weakref.WeakSet[Stream] = weakref.WeakSet()

    def collect(self) -> Iterator[CounterMetricFamily]:
        frames = CounterMetricFamily("kgw_ws_stream_frames", "Frames received, per stream", labels=["stream"])
        nbytes = CounterMetricFamily("kgw_ws_stream_bytes", "Bytes received, per stream", labels=["stream"])
        for s in list(self.streams):
            frames.add_metric([s.name], s.frames)
            nbytes.add_metric([s.name], s.bytes)
        yield frames
        yield nbytes


_COLLECTOR = _StreamCollector()
prometheus_client.REGISTRY.register(_COLLECTOR)
