"""Retrying a listener's bind while its address is still in use.

A service restarted at once can find its port still held: ZeroMQ closes listeners
asynchronously, and a killed predecessor's sockets take a moment to go. Every listener the
gateway opens (ZeroMQ sockets, the metrics/health HTTP port) waits the same way, for the same
time, before it gives up.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Awaitable, Callable

BIND_RETRY_S = 5.0
"""Seconds a bind is retried while its address is in use."""

RETRY_INTERVAL_S = 0.05
"""Seconds between attempts."""


async def retry_while_in_use(start: Callable[[], Awaitable[None]], timeout: float = BIND_RETRY_S) -> None:
    """Await ``start()`` until it succeeds, retrying for up to ``timeout`` seconds while it fails
    with EADDRINUSE (``OSError`` or ``zmq.ZMQError``, which carry the same errno); any other
    error, or the address still in use after ``timeout``, is raised."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await start()
            return
        except Exception as e:
            if getattr(e, "errno", None) != errno.EADDRINUSE or loop.time() >= deadline:
                raise
        await asyncio.sleep(RETRY_INTERVAL_S)
