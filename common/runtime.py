"""What every process shares: uvloop, JSON logs, ``/metrics`` + ``/health``, clean shutdown.

A service is an ``async def main(ctx: ServiceContext) -> None`` that runs until
``ctx.stopping`` is set (SIGTERM or SIGINT) and then returns. :func:`run_service` gives it
``SHUTDOWN_GRACE`` seconds (5 s, the contract with honcho and systemd) before cancelling it, so
the process always exits within the grace period.

``/health`` answers 200 ``{"service", "ready": true, "details"}`` once the service called
``ctx.set_ready(True)``, else 503; ``/metrics`` is the Prometheus text format of the default
registry (each service defines its counters with ``prometheus_client``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

import orjson
import prometheus_client
import uvloop
from aiohttp import web

from common import logs
from common.bindretry import retry_while_in_use
from common.config import ServiceSettings

log = logging.getLogger("kgw.runtime")

SHUTDOWN_GRACE = 5.0
"""Seconds between SIGTERM and a forced exit."""


class ServiceContext:
    """Handed to a service's main: stop signal, readiness and health details."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.stopping = asyncio.Event()
        self.ready = False
        self.details: dict[str, Any] = {}
        self.started = time.time()

    def set_ready(self, ready: bool, **details: Any) -> None:
        """Declare readiness (``/health`` 200 vs 503), with details shown on ``/health``."""
        if ready != self.ready:
            log.info("ready" if ready else "not ready", extra={"fields": details})
        self.ready = ready
        self.details.update(details)

    def health(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "ready": self.ready,
            "uptime_s": round(time.time() - self.started, 3),
            "details": self.details,
        }


async def _serve_metrics(ctx: ServiceContext, host: str, port: int) -> web.AppRunner | None:
    if not port:
        return None

    async def metrics(_: web.Request) -> web.Response:
        body = prometheus_client.generate_latest()
        return web.Response(body=body, headers={"Content-Type": prometheus_client.CONTENT_TYPE_LATEST})

    async def health(_: web.Request) -> web.Response:
        return web.Response(
            body=orjson.dumps(ctx.health(), default=str),
            status=200 if ctx.ready else 503,
            content_type="application/json",
        )

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        # a new site per attempt: aiohttp registers a site with its runner when it starts
        await retry_while_in_use(lambda: web.TCPSite(runner, host, port).start())
    except OSError as e:
        await runner.cleanup()
        raise OSError(e.errno, f"cannot listen on {host}:{port} for /metrics and /health: {e.strerror}") from None
    log.info("metrics and health listening", extra={"fields": {"url": f"http://{host}:{port}/health"}})
    return runner


async def _run(
    service: str,
    main: Callable[[ServiceContext], Coroutine[Any, Any, None]],
    metrics_host: str,
    metrics_port: int,
) -> int:
    ctx = ServiceContext(service)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, ctx.stopping.set)
    try:
        runner = await _serve_metrics(ctx, metrics_host, metrics_port)
    except OSError as e:  # a configuration problem: one clear line, not a traceback
        log.error("cannot start", extra={"fields": {"error": str(e)}})
        return 1
    task = asyncio.create_task(main(ctx), name=f"{service}-main")
    stop_wait = asyncio.create_task(ctx.stopping.wait())
    code = 0
    try:
        await asyncio.wait({task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            exc = task.exception()
            if exc is not None:
                log.error("service failed", exc_info=exc)
                code = 1
        else:
            log.info("stopping")
            try:
                await asyncio.wait_for(asyncio.shield(task), SHUTDOWN_GRACE - 0.5)
            except TimeoutError:
                log.warning("service did not stop in time; cancelling")
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            except Exception as e:  # the service failed while stopping
                log.error("service failed while stopping", exc_info=e)
                code = 1
    finally:
        stop_wait.cancel()
        if runner is not None:
            await runner.cleanup()
    log.info("stopped", extra={"fields": {"exit_code": code}})
    return code


def run_service(
    service: str,
    main: Callable[[ServiceContext], Coroutine[Any, Any, None]],
    *,
    metrics_host: str = "127.0.0.1",
    metrics_port: int = 0,
    log_level: str = "INFO",
) -> int:
    """Run ``main`` on uvloop with logs, metrics and signal handling; return the exit code."""
    logs.setup(service, log_level)
    return uvloop.run(_run(service, main, metrics_host, metrics_port))


def run_configured(
    service: str, main: Callable[[ServiceContext], Coroutine[Any, Any, None]], settings: ServiceSettings
) -> NoReturn:
    """:func:`run_service` with the metrics endpoint and log level of the service's config
    section, then exit the process with its code (what every ``kgw <service>`` command does)."""
    sys.exit(
        run_service(
            service,
            main,
            metrics_host=settings.metrics_host,
            metrics_port=settings.metrics_port,
            log_level=settings.log_level,
        )
    )
