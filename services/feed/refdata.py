"""Reference data: download Kraken's instruments over REST at start and every
``instruments_interval`` seconds, forever; failures retry with capped backoff.

The body goes to ``on_body(body, receive_time_ns)`` (the feed parses and publishes it, and the
recorder keeps it so a replay serves the same instruments).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import aiohttp
import prometheus_client

from common.kraken.backoff import Backoff
from common.kraken.instruments import InstrumentsError

log = logging.getLogger("kgw.feed.refdata")

DOWNLOADS = prometheus_client.Counter(
    "kgw_feed_instruments_downloads_total", "Instruments downloads, by outcome", ["outcome"]
)


class InstrumentsPoller:
    """GET ``<rest_url>/instruments`` now and every ``interval`` seconds.

    timeout: seconds allowed per download.
    on_body: called with (body, receive_time_ns); raising InstrumentsError counts as a failure.
    backoff: delays between failed attempts (then the normal interval resumes).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        rest_url: str,
        interval: float,
        timeout: float,
        on_body: Callable[[bytes, int], None],
        backoff: Backoff | None = None,
    ) -> None:
        self.session = session
        self.url = rest_url.rstrip("/") + "/instruments"
        self.interval = interval
        self.timeout = timeout
        self.on_body = on_body
        self.backoff = backoff or Backoff(0.2, 30.0)
        self.loaded = asyncio.Event()

    async def fetch_once(self) -> bool:
        """One download; True if it was applied."""
        try:
            async with self.session.get(self.url, timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise InstrumentsError(f"HTTP {resp.status}")
            self.on_body(body, time.time_ns())
        except (aiohttp.ClientError, OSError, TimeoutError, InstrumentsError) as e:
            DOWNLOADS.labels("failed").inc()
            log.warning("instruments download failed", extra={"fields": {"url": self.url, "error": str(e)[:300]}})
            return False
        DOWNLOADS.labels("ok").inc()
        self.loaded.set()
        return True

    async def run(self) -> None:
        while True:
            if await self.fetch_once():
                self.backoff.reset()
                await asyncio.sleep(self.interval)
            else:
                await asyncio.sleep(self.backoff.next_delay())
