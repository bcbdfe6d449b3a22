"""``kgw eventlog``: subscribe to every publisher and append everything to the log.

One asyncio task owns the bus subscriber: each wake-up's batch is planned into records
(:class:`~common.eventlog.writer.LogWriter`) and handed to the disk thread. When the disk
thread's queue is full the task stops reading the sockets until there is room, so a slow disk
becomes visible as bus-side drops and GAP records, never as silent loss or unbounded memory.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import queue
import time
from pathlib import Path
from typing import Any

import prometheus_client

from common.bus import Subscriber, new_session
from common.config import Config
from common.eventlog.planner import Op
from common.eventlog.writer import LogWriter, identity
from common.runtime import ServiceContext

from .metrics import WriterCollector
from .settings import Settings

log = logging.getLogger("kgw.eventlog")

TICK_S = 0.25
"""Seconds between housekeeping ticks (time rotation, /health details)."""

GC_THRESHOLD = (50_000, 20, 100)
"""Cyclic-GC thresholds for the writer: every message allocates a few short-lived tracked
objects, and at the default (700, 10, 10) collections cost about a third of the hot path."""


def tune_gc() -> None:
    """Move what startup allocated out of the collector's sight and collect less often (the
    writer's garbage is acyclic and freed by reference counting anyway)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def publishers(cfg: Config, settings: Settings) -> dict[str, str]:
    """Every endpoint to record: ``[bus]`` publishers and ``[eventlog.publishers]``."""
    found = {**cfg.bus.publishers(), **settings.publishers}
    return {name: ep for name, ep in found.items() if name not in settings.exclude}


class EventLogService:
    """The asyncio side of the writer."""

    def __init__(self, cfg: Config, settings: Settings) -> None:
        self.cfg = cfg
        self.settings = settings
        self.session = new_session()
        self.writer = LogWriter(
            Path(settings.directory),
            identity(self.session),
            settings.rotation(),
            settings.durability(),
            {"public": settings.public_file_mode, "private": settings.private_file_mode},
        )
        self.endpoints = publishers(cfg, settings)
        self.backpressure_s = 0.0

    async def hand_over(self, ops: list[Op]) -> None:
        """Give ops to the disk thread, waiting (not reading the bus) while its queue is full."""
        if not ops:
            return
        try:
            self.writer.put(ops)
            return
        except queue.Full:
            pass
        t0 = time.monotonic()
        while True:
            await asyncio.sleep(0.001)
            try:
                self.writer.put(ops)
                break
            except queue.Full:
                continue
        self.backpressure_s += time.monotonic() - t0

    def details(self) -> dict[str, Any]:
        s = self.writer.stats
        return {
            "session": self.session,
            "directory": str(self.writer.directory),
            "publishers": self.endpoints,
            "ingested": self.writer.ingested,
            "queue_depth": self.writer.disk.depth,
            "write_lag_ms": round(s.write_lag_ns / 1e6, 3),
            "streams": {
                name: {
                    "segment": st.segment,
                    "records_written": st.records_written,
                    "records_durable": st.records_durable,
                    "bytes_written": st.bytes_written,
                }
                for name, st in s.streams.items()
            },
            "recovered": self.writer.recovered,
            "error": s.error,
        }

    async def consume(self, sub: Subscriber) -> None:
        writer = self.writer
        async for batch in sub.batches():
            await self.hand_over(writer.ingest(batch))
            await asyncio.sleep(0)  # batches() does not wait while data flows: let /health, stop run

    async def housekeeping(self, ctx: ServiceContext) -> None:
        while True:
            await self.hand_over(self.writer.tick())
            ctx.details.update(self.details())
            if self.writer.stats.error:
                ctx.set_ready(False, error=self.writer.stats.error)
                raise OSError(f"event log cannot write: {self.writer.stats.error}")
            await asyncio.sleep(TICK_S)

    async def run(self, ctx: ServiceContext) -> None:
        s = self.settings
        await asyncio.to_thread(self.writer.start)
        collector = WriterCollector(self.writer, lambda: self.backpressure_s)
        prometheus_client.REGISTRY.register(collector)
        sub = Subscriber(
            self.endpoints,
            [""],
            rcvhwm=s.rcvhwm,
            heartbeat_timeout=self.cfg.bus.heartbeat_timeout,
            max_batch=s.max_batch,
            name="eventlog",
            track_seq=False,  # the writer tracks continuity itself (GAP / SESSION records)
        )
        await sub.start()
        tune_gc()
        tasks = [
            asyncio.create_task(self.consume(sub), name="eventlog-consume"),
            asyncio.create_task(self.housekeeping(ctx), name="eventlog-housekeeping"),
        ]
        ctx.set_ready(True, **self.details())
        log.info("recording", extra={"fields": {"publishers": self.endpoints, "directory": s.directory}})
        stop = asyncio.create_task(ctx.stopping.wait())
        try:
            done, _ = await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                if t is not stop and t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]
        finally:
            stop.cancel()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # what was drained from the sockets is written before we stop (if the disk lets us)
            try:
                await asyncio.wait_for(self.hand_over(self.writer.ingest(sub.poll())), 1.0)
            except (OSError, TimeoutError) as e:
                log.warning("last batch not handed over", extra={"fields": {"error": repr(e)}})
            await sub.close()
            clean = await asyncio.to_thread(self.writer.stop, 3.5)
            prometheus_client.REGISTRY.unregister(collector)
            log.info("closed", extra={"fields": {"clean": clean, **self.details()}})
