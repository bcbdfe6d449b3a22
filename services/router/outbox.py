"""Everything the router sends to clients and publishes on the bus, in the order it was made,
held back while a drain's REST calls are being written.

Sending a ZeroMQ message to an idle peer wakes ZeroMQ's I/O thread: 10-30 us on a 2-core
machine, paid by the sender. Done for the request publication and the FORWARDED ack before the
REST call, that was the largest part of the router's request -> REST latency. So while one
drain of the ROUTER socket is handled (:meth:`hold`), replies and publications are only
recorded; when the drain is over the dispatchers start their calls, and what was recorded is
sent ``hops`` event-loop turns later (:meth:`release_soon`): after aiohttp has written the
request (asyncio < 3.12 writes a POST body from a task of its own, one turn after the call
task's first step), but before the answer can have been read, which takes another turn at
least. Order is kept: a client still sees FORWARDED before the exchange's answer, and the bus
still carries each request before its acks, because everything passes through here in one
sequence.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from common.messages import Message

Send = Callable[[bytes, Message], object]
Publish = Callable[[str, Message], object]

RELEASE_HOPS = 2
"""Event-loop turns between the end of a drain and the release of what it recorded: one for
the call task's first step (signing, aiohttp up to the write of the headers), one for aiohttp's
body write."""


class Outbox:
    """Replies (sent with ``send``) and publications (``publish``) of the router, held while
    ``holding``."""

    def __init__(self, send: Send, publish: Publish, hops: int = RELEASE_HOPS) -> None:
        self.send = send
        self.pub = publish
        self.hops = hops
        self.holding = False
        self._held: list[tuple[bytes | None, str, Message]] = []
        self._release_scheduled = False

    def reply(self, peer: bytes, msg: Message) -> None:
        """Send ``msg`` to the client ``peer`` (now, or on release while holding)."""
        if self.holding:
            self._held.append((peer, "", msg))
        else:
            self.send(peer, msg)

    def publish(self, topic: str, msg: Message) -> None:
        """Publish ``msg`` on ``topic`` (now, or on release while holding)."""
        if self.holding:
            self._held.append((None, topic, msg))
        else:
            self.pub(topic, msg)

    def hold(self) -> None:
        """Record instead of sending until :meth:`release`."""
        self.holding = True

    def release_soon(self) -> None:
        """Release after ``hops`` event-loop turns (once, however often asked meanwhile)."""
        if not self._release_scheduled:
            self._release_scheduled = True
            asyncio.get_running_loop().call_soon(self._hop, self.hops - 1)

    def _hop(self, left: int) -> None:
        if left > 0:
            asyncio.get_running_loop().call_soon(self._hop, left - 1)
        else:
            self.release()

    def release(self) -> None:
        """Send everything recorded, in order, and stop holding."""
        self.holding = False
        self._release_scheduled = False
        held, self._held = self._held, []
        for peer, topic, msg in held:
            if peer is not None:
                self.send(peer, msg)
            else:
                self.pub(topic, msg)
