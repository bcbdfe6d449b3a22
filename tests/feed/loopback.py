"""A WebSocket server on a free loopback port at ``/ws/v1``, for tests that play the exchange,
and a bounded wait helper."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from tests.support.processes import free_port


class LoopbackServer:
    """Subclasses implement ``handler``; ``start``/``close`` run it on 127.0.0.1:``port``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/ws/v1", self.handler)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/v1"


async def wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``cond`` every 20 ms; fail after ``timeout`` seconds."""
    for _ in range(int(timeout / 0.02)):
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met in {timeout}s")
