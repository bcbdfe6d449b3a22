"""ROUTER/DEALER request -> 0..N replies (contract: one JSON frame after the routing frames).

Server side::

    async def handle(peer: bytes, msg: Message) -> None:
        server.reply(peer, OrderAck(...))          # as many replies as needed, any time later

    server = RouterServer("router", "tcp://127.0.0.1:9820", handle)
    await server.start()          # serve() runs until close()

Malformed input never reaches the handler and never raises: a frame set that is not
``[peer, payload]`` (or ``[peer, b"", payload]`` from a REQ socket), a payload over
``max_message_size`` bytes, bytes that are not JSON, JSON that is not a valid message, or a
type the server does not serve, each get an :class:`ErrorReply` (with the request_id when it
can be read) and are counted in ``kgw_bus_rejected_total{code}``.

Client side::

    client = DealerClient("tcp://127.0.0.1:9820")
    await client.start()
    client.send(CreateOrder(...))
    replies = await client.collect(lambda m: ..., timeout=2.0)
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import zmq

from common.messages import DecodeError, ErrorCode, ErrorReply, Message, decode, encode

from .publisher import new_session
from .sockets import DROPPED, RECEIVED, REJECTED, SENT, Readable, bind, make_socket

log = logging.getLogger("kgw.bus.reqrep")

Handler = Callable[[bytes, Message], Awaitable[None] | None]


class _RequestId(msgspec.Struct):
    request_id: Any = None


_request_id_decoder = msgspec.json.Decoder(_RequestId)


def salvage_request_id(payload: bytes) -> str:
    """The request_id of a payload that failed validation, if it can be read at all."""
    try:
        rid = _request_id_decoder.decode(payload).request_id
    except msgspec.DecodeError:
        return ""
    return rid[:64] if isinstance(rid, str) else ""


class RouterServer:
    """A ROUTER socket bound to ``endpoint`` that decodes requests and calls ``handler``.

    service: name stamped as ``source`` on replies and used in metric labels.
    accepted: message types the handler serves; others get ErrorReply UNSUPPORTED_REQUEST
        (None = every type).
    max_message_size: largest payload in bytes accepted (larger: OVERSIZED_MESSAGE). The
        socket's MAXMSGSIZE is set 16x higher so ZeroMQ drops absurd frames before we buffer
        them (ZeroMQ then disconnects that peer).
    sndhwm / rcvhwm: high-water marks in messages.
    """

    def __init__(
        self,
        service: str,
        endpoint: str,
        handler: Handler,
        *,
        accepted: tuple[type[Message], ...] | None = None,
        max_message_size: int = 64 * 1024,
        sndhwm: int = 100_000,
        rcvhwm: int = 100_000,
        curve_server_secret: bytes | None = None,
    ) -> None:
        self.service = service
        self.endpoint = endpoint
        self.handler = handler
        self.accepted = accepted
        self.max_message_size = max_message_size
        self.session = new_session()
        self.sock = make_socket(zmq.ROUTER, sndhwm=sndhwm, rcvhwm=rcvhwm)
        self.sock.setsockopt(zmq.MAXMSGSIZE, max_message_size * 16)
        if curve_server_secret is not None:
            self.sock.setsockopt(zmq.CURVE_SERVER, 1)
            self.sock.setsockopt(zmq.CURVE_SECRETKEY, curve_server_secret)
        self._label = f"{service}.router"
        self._sent = SENT.labels(self._label)
        self._received = RECEIVED.labels(self._label)
        self._seq: dict[bytes, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._readable: Readable | None = None
        self._pending: set[asyncio.Future[None]] = set()
        self.rejected = 0
        self.dropped = 0

    async def start(self) -> None:
        """Bind and start serving in a background task."""
        await bind(self.sock, self.endpoint)
        self._task = asyncio.create_task(self.serve(), name=f"{self.service}-router")
        log.info("serving", extra={"fields": {"endpoint": self.endpoint}})

    def reply(self, peer: bytes, msg: Message) -> bool:
        """Send ``msg`` to ``peer``; False (and counted) if the peer is gone or backed up."""
        seq = self._seq.get(peer, 0) + 1
        self._seq[peer] = seq
        msg.source = self.service
        msg.session = self.session
        msg.seq = seq
        msg.send_time = time.time_ns()
        try:
            self.sock.send(peer, zmq.SNDMORE | zmq.NOBLOCK)
            self.sock.send(encode(msg), zmq.NOBLOCK)
        except zmq.Again:
            self._drop("hwm")
            return False
        except zmq.ZMQError as e:
            if e.errno == zmq.EHOSTUNREACH:
                self._drop("unroutable")
                self._seq.pop(peer, None)
                return False
            raise
        finally:
            if self._readable is not None:
                self._readable.kick()
        self._sent.inc()
        return True

    def forget_peer(self, peer: bytes) -> None:
        """Drop per-peer reply state (after the peer is known to be gone)."""
        self._seq.pop(peer, None)

    def _drop(self, reason: str) -> None:
        self.dropped += 1
        DROPPED.labels(self._label, reason).inc()

    def _reject(self, peer: bytes, code: ErrorCode, text: str, request_id: str = "") -> None:
        self.rejected += 1
        REJECTED.labels(self._label, code.value).inc()
        log.warning("request refused", extra={"fields": {"code": code.value, "text": text[:200]}})
        self.reply(peer, ErrorReply(request_id=request_id, error=code, text=text[:500]))

    def _dispatch(self, frames: list[bytes]) -> None:
        self._received.inc()
        peer = frames[0]
        if len(frames) == 3 and frames[1] == b"":
            payload = frames[2]  # from a REQ socket: empty delimiter
        elif len(frames) == 2:
            payload = frames[1]
        else:
            self._reject(peer, ErrorCode.INVALID_FRAMES, f"expected 1 payload frame, got {len(frames) - 1}")
            return
        if len(payload) > self.max_message_size:
            self._reject(peer, ErrorCode.OVERSIZED_MESSAGE, f"{len(payload)} bytes > limit {self.max_message_size}")
            return
        try:
            msg = decode(payload)
        except DecodeError as e:
            self._reject(peer, e.code, e.reason, salvage_request_id(payload))
            return
        if self.accepted is not None and not isinstance(msg, self.accepted):
            self._reject(
                peer,
                ErrorCode.UNSUPPORTED_REQUEST,
                f"{type(msg).__name__} is not served here",
                getattr(msg, "request_id", "") or "",
            )
            return
        try:
            result = self.handler(peer, msg)
        except Exception as e:  # a handler bug must not kill the socket owner
            log.exception("handler failed")
            self._reject(peer, ErrorCode.INTERNAL_ERROR, f"{type(e).__name__}", getattr(msg, "request_id", "") or "")
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._pending.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Future[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("handler failed", exc_info=task.exception())

    def watch(self) -> Readable:
        """The socket's reader wake-up, kept so that :meth:`reply` can re-arm it after a send
        (used by :meth:`serve` and by subclasses that serve differently)."""
        self._readable = Readable(self.sock)
        return self._readable

    async def serve(self) -> None:
        readable = self.watch()
        try:
            while True:
                await readable.wait()
                for _ in range(4096):
                    try:
                        frames = self.sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self._dispatch(frames)
                await asyncio.sleep(0)
        finally:
            readable.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for t in list(self._pending):
            t.cancel()
        self.sock.close(0)


class DealerClient:
    """A DEALER socket connected to a ROUTER at ``endpoint``; replies are queued in order.

    identity: optional routing id (bytes) to set before connecting.
    curve: optional (server_public, client_public, client_secret) z85 keys for CURVE.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        identity: bytes | None = None,
        curve: tuple[bytes, bytes, bytes] | None = None,
        sndhwm: int = 100_000,
        rcvhwm: int = 100_000,
    ) -> None:
        self.endpoint = endpoint
        self.sock = make_socket(zmq.DEALER, sndhwm=sndhwm, rcvhwm=rcvhwm)
        if identity is not None:
            self.sock.setsockopt(zmq.IDENTITY, identity)
        if curve is not None:
            server_public, public, secret = curve
            self.sock.setsockopt(zmq.CURVE_SERVERKEY, server_public)
            self.sock.setsockopt(zmq.CURVE_PUBLICKEY, public)
            self.sock.setsockopt(zmq.CURVE_SECRETKEY, secret)
        self.sock.connect(endpoint)
        self._readable: Readable | None = None
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._readable = Readable(self.sock)
        self._task = asyncio.create_task(self._reader())

    def send(self, msg: Message) -> None:
        """Send a request (non-blocking; raises zmq.Again if the HWM is reached)."""
        try:
            self.sock.send(encode(msg), zmq.NOBLOCK)
        finally:
            if self._readable is not None:
                self._readable.kick()

    def send_raw(self, *frames: bytes) -> None:
        """Send arbitrary frames (for tests of hostile input)."""
        try:
            self.sock.send_multipart(list(frames), zmq.NOBLOCK)
        finally:
            if self._readable is not None:
                self._readable.kick()

    async def _reader(self) -> None:
        assert self._readable is not None
        while True:
            await self._readable.wait()
            while True:
                try:
                    payload = self.sock.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                try:
                    self._queue.put_nowait(decode(payload))
                except DecodeError:
                    log.warning("undecodable reply dropped")

    async def recv(self, timeout: float | None = None) -> Message:
        """The next reply; TimeoutError after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            return await self._queue.get()

    async def collect(self, done: Callable[[Message], bool], timeout: float = 5.0) -> list[Message]:
        """Replies until one for which ``done(reply)`` is true (included); TimeoutError if not
        seen within ``timeout`` seconds."""
        out: list[Message] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no final reply in {timeout}s; got {out}")
            msg = await self.recv(left)
            out.append(msg)
            if done(msg):
                return out

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._readable is not None:
            self._readable.close()
        self.sock.close(0)
