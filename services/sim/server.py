"""The simulator process: one aiohttp server for REST, WebSocket and admin, plus the market,
ticker, heartbeat and dead-man's-switch loops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from common.runtime import ServiceContext
from services.sim import admin, metrics, replay
from services.sim.market import SyntheticMarket
from services.sim.rest import account, public, trading
from services.sim.rest.envelope import error, json_response
from services.sim.rest.shapes import server_time
from services.sim.settings import SimSettings
from services.sim.state import Sim, now_ms
from services.sim.ws import public_feeds, session

log = logging.getLogger("kgw.sim")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fault_middleware(sim: Sim) -> Any:
    """Apply armed REST faults to Kraken paths (never to ``/_sim``)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith(("/derivatives/", "/api/")) and sim.faults.rest:
            fault = sim.faults.next_rest()
            if fault is not None:
                metrics.FAULTS.labels(f"rest_{fault.kind}").inc()
                if fault.kind == "delay":
                    await asyncio.sleep(fault.seconds)
                elif fault.kind == "http":
                    return json_response({"result": "error", "serverTime": server_time(),
                                          "error": "Server Error"}, status=fault.status)
                elif fault.kind == "rate_limit":
                    return error("apiLimitExceeded")
        try:
            return await handler(request)
        except web.HTTPException as e:
            if path.startswith("/derivatives/") and e.status == 404:
                # unknown endpoints: Kraken answers with a JSON error envelope
                return json_response({"result": "error", "serverTime": server_time(),
                                      "error": "Not Found"}, status=404)
            raise

    return middleware


def build_app(sim: Sim, market: SyntheticMarket | None,
              recorded: replay.Recording | None = None) -> web.Application:
    app = web.Application(middlewares=[fault_middleware(sim)], client_max_size=1 << 20)
    if recorded is not None:
        speed = sim.settings.replay_speed

        async def ws_replay(request: web.Request) -> web.StreamResponse:
            return await replay.handle(recorded, speed, request, sim.settings.heartbeat_interval)

        app.router.add_get("/ws/v1", ws_replay)
    else:
        async def ws(request: web.Request) -> web.StreamResponse:
            return await session.handle(sim, request)

        app.router.add_get("/ws/v1", ws)
    app.add_routes(public.routes(sim, recorded.instruments if recorded else None))
    app.add_routes(trading.routes(sim))
    app.add_routes(account.routes(sim))
    app.add_routes(admin.routes(sim, market))
    return app


async def _every(interval: float, fn: Callable[[], None], stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), interval)
        if stopping.is_set():
            return
        try:
            fn()
        except Exception:
            log.exception("periodic task failed")


async def market_loop(sim: Sim, market: SyntheticMarket, stopping: asyncio.Event) -> None:
    """Step the market every ``tick_interval`` with the real elapsed time (capped at 0.5 s)."""
    loop = asyncio.get_running_loop()
    last = loop.time()
    interval = sim.settings.tick_interval
    while not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), interval)
        now = loop.time()
        try:
            market.step(min(now - last, 0.5))
            sim.engine.tick()
            sim.publish()
        except Exception:
            log.exception("market step failed")
        last = now


def tickers(sim: Sim) -> None:
    """``ticker`` and ``ticker_lite`` to their subscribers, once per ``ticker_interval``."""
    now = now_ms()
    hub = sim.hub
    for sym in sim.engine.instruments:
        for feed, render in (("ticker", public_feeds.ticker),
                             ("ticker_lite", public_feeds.ticker_lite)):
            subs = hub.subscribers(feed, sym)
            if subs:
                hub.broadcast(subs, render(sim.engine, sym, now), feed, sym)
    hub.flush()


def heartbeats(sim: Sim) -> None:
    subs = sim.hub.subscribers("heartbeat", "")
    if subs:
        sim.hub.broadcast(subs, public_feeds.heartbeat(now_ms()), "heartbeat")
        sim.hub.flush()


def dms_tick(sim: Sim) -> None:
    sim.engine.tick()
    sim.publish()


def tls_context(settings: SimSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    return ctx


async def serve(settings: SimSettings, ctx: ServiceContext) -> None:
    """Run until ``ctx.stopping``; ready once every listener is up."""
    sim = Sim(settings)
    recorded: replay.Recording | None = None
    market: SyntheticMarket | None = None
    if settings.replay_file:
        recorded = replay.Recording(settings.replay_file, settings.replay_instruments or None)
    else:
        market = SyntheticMarket(sim.engine, seed=settings.seed, book_rate=settings.book_rate,
                                 trade_rate=settings.trade_rate, depth=settings.depth,
                                 volatility=settings.volatility, level_sizes=sim.level_sizes,
                                 max_step_messages=settings.max_step_messages)
        market.seed_books()
        market.warm_up()
        sim.engine.drain()  # the initial layout and history are the starting state, not deltas
    app = build_app(sim, market, recorded)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port, backlog=1024).start()
    urls = {"rest": f"http://{settings.host}:{settings.port}/derivatives/api/v3",
            "ws": f"ws://{settings.host}:{settings.port}/ws/v1",
            "admin": f"http://{settings.host}:{settings.port}/_sim/"}
    if settings.tls_port:
        await web.TCPSite(runner, settings.host, settings.tls_port,
                          ssl_context=tls_context(settings)).start()
        urls["rest_tls"] = f"https://{settings.host}:{settings.tls_port}/derivatives/api/v3"
        urls["ws_tls"] = f"wss://{settings.host}:{settings.tls_port}/ws/v1"
    print(orjson.dumps({"sim": urls}).decode(), flush=True)
    print(f"kgw sim: REST {urls['rest']}  WebSocket {urls['ws']}", flush=True)
    tasks = [asyncio.create_task(_every(settings.ticker_interval, lambda: tickers(sim),
                                        ctx.stopping)),
             asyncio.create_task(_every(settings.heartbeat_interval, lambda: heartbeats(sim),
                                        ctx.stopping)),
             asyncio.create_task(_every(0.1, lambda: dms_tick(sim), ctx.stopping))]
    if market is not None:
        tasks.append(asyncio.create_task(market_loop(sim, market, ctx.stopping)))
    ctx.set_ready(True, **urls, accounts=sorted(a for a in sim.engine.accounts
                                                if not a.startswith("__")))
    try:
        await ctx.stopping.wait()
    finally:
        for t in tasks:
            t.cancel()
        for c in list(sim.hub.connections):
            sim.hub.drop(c)
        await runner.cleanup()
