"""CURVE authentication of client DEALERs: a ZAP handler maps a client's public key to its
user, and the ROUTER reads that user from each message's ``User-Id`` property.

The ZAP handler is pyzmq's :class:`ThreadAuthenticator` on the bus context, with a
credentials callback that accepts only configured keys (an unknown key fails the handshake:
the client never gets a message through, and the refusal is counted), and ``curve_user_id``
returning the user name instead of the key.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import zmq
from zmq.auth.thread import ThreadAuthenticator

from common.bus import RouterServer
from common.bus.sockets import context
from common.messages import Message

from . import metrics
from .outbox import Outbox
from .permissions import Permissions

log = logging.getLogger("kgw.router.curve")


class _KeyCheck:
    def __init__(self, permissions: Permissions) -> None:
        self.permissions = permissions

    def callback(self, domain: str, key: bytes) -> bool:
        user = self.permissions.user_for_key(key.decode("ascii", "replace"))
        if user is None:
            metrics.CURVE_DENIED.inc()
            log.warning("CURVE key refused", extra={"fields": {"domain": domain}})
            return False
        return True


class UserAuthenticator(ThreadAuthenticator):
    """ZAP handler: known keys only; the ZAP user id is the user name."""

    def __init__(self, permissions: Permissions) -> None:
        super().__init__(context())
        self.permissions = permissions

    def curve_user_id(self, client_public_key: bytes) -> str:
        user = self.permissions.user_for_key(zmq.utils.z85.encode(client_public_key).decode("ascii"))
        return user.name if user is not None else ""

    def begin(self) -> None:
        self.start()
        self.configure_curve_callback(domain="*", credentials_provider=_KeyCheck(self.permissions))


class OrderServer(RouterServer):
    """RouterServer that also records, per message, the peer's authenticated user (ZAP
    ``User-Id``) and the wall-clock receive time (for the latency probe).

    peer_user: peer routing id -> user name, for the message being handled.
    last_recv_ns: ``time.perf_counter_ns()`` when the message being handled was read.
    on_drain_start / on_drain_end: called before the first and after the last message of each
        drain of the socket (everything readable at once), with the handler calls in between.
    outbox: while it holds, every reply (the router's and this server's own ErrorReplies) waits
        there, in order (:mod:`.outbox`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.peer_user: dict[bytes, str] = {}
        self.last_recv_ns = 0
        self.on_drain_start: Callable[[], None] | None = None
        self.on_drain_end: Callable[[], None] | None = None
        self.outbox: Outbox | None = None

    def reply(self, peer: bytes, msg: Message) -> bool:
        if self.outbox is not None and self.outbox.holding:
            self.outbox.reply(peer, msg)
            return True
        return super().reply(peer, msg)

    def send_now(self, peer: bytes, msg: Message) -> bool:
        """Send ``msg`` to ``peer`` now, whatever the outbox holds (the outbox's own sender)."""
        return super().reply(peer, msg)

    async def serve(self) -> None:
        readable = self.watch()
        curve = bool(self.sock.getsockopt(zmq.CURVE_SERVER))
        try:
            while True:
                await readable.wait()
                if self.on_drain_start is not None:
                    self.on_drain_start()
                try:
                    self._drain(curve)
                finally:
                    if self.on_drain_end is not None:
                        self.on_drain_end()
                await asyncio.sleep(0)
        finally:
            readable.close()

    def _drain(self, curve: bool) -> None:
        for _ in range(4096):
            try:
                frames = self.sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            self.last_recv_ns = time.perf_counter_ns()
            if curve:
                user = frames[-1].get("User-Id")
                if isinstance(user, str) and user:
                    self.peer_user[frames[0].bytes] = user
            self._dispatch([f.bytes for f in frames])
