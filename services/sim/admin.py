"""The simulator's admin API under ``/_sim/`` (not part of Kraken): inspect the book, drive the
market, and inject faults. Bodies and answers are JSON. Documented in services/sim/README.md.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from services.sim import metrics
from services.sim.faults import PRIVATE_ORDERS, RestFault
from services.sim.market import SyntheticMarket
from services.sim.state import Sim


class AdminError(Exception):
    """Bad admin request (HTTP 400 with ``{"error": message}``)."""


def _ok(**fields: Any) -> web.Response:
    return web.Response(body=orjson.dumps({"ok": True, **fields}),
                        content_type="application/json")


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return dict(request.query)
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise AdminError("body is not JSON") from None
    if not isinstance(doc, dict):
        raise AdminError("body must be a JSON object")
    return doc


def _num(doc: dict[str, Any], key: str, default: float | None = None) -> float:
    v = doc.get(key, default)
    if v is None:
        raise AdminError(f"{key} is required")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise AdminError(f"{key} must be a number") from None


def routes(sim: Sim, market: SyntheticMarket | None) -> list[web.RouteDef]:
    """Admin handlers bound to ``sim`` (market is None in replay mode)."""

    def symbol_of(doc: dict[str, Any]) -> str:
        inst = sim.engine.instrument(str(doc.get("symbol", "")))
        if inst is None:
            raise AdminError("unknown symbol")
        return inst.symbol

    def need_market() -> SyntheticMarket:
        if market is None:
            raise AdminError("no live market in replay mode")
        return market

    def wrap(fn: Any) -> Any:
        async def handler(request: web.Request) -> web.Response:
            try:
                resp: web.Response = await fn(request)
                return resp
            except AdminError as e:
                return web.Response(status=400, body=orjson.dumps({"error": str(e)}),
                                    content_type="application/json")
        return handler

    async def book(request: web.Request) -> web.Response:
        """``GET /_sim/book/{symbol}`` -> ``{"symbol","seq","bids":[[p,q]],"asks":[[p,q]]}``."""
        sym = symbol_of({"symbol": request.match_info["symbol"]})
        b = sim.engine.books[sym]
        return _ok(symbol=sym, seq=b.seq, bids=b.bids.depth(), asks=b.asks.depth(),
                   mark=sim.engine.prices[sym].mark, last=sim.engine.prices[sym].last)

    async def rate(request: web.Request) -> web.Response:
        """``POST /_sim/rate {"book_rate": 50000, "trade_rate": 5}``"""
        doc = await _body(request)
        m = need_market()
        if "book_rate" in doc:
            m.book_rate = max(0.0, _num(doc, "book_rate"))
        if "trade_rate" in doc:
            m.trade_rate = max(0.0, _num(doc, "trade_rate"))
        return _ok(book_rate=m.book_rate, trade_rate=m.trade_rate)

    async def price(request: web.Request) -> web.Response:
        """``POST /_sim/price {"symbol","price"}``: move fair/mark/index there, trading through
        resting orders on the way, so orders priced through it fill."""
        doc = await _body(request)
        sym = symbol_of(doc)
        px = sim.engine.instruments[sym].round_price(_num(doc, "price"))
        need_market().jump_to(sym, px)
        sim.publish()
        return _ok(symbol=sym, price=px)

    async def trade(request: web.Request) -> web.Response:
        """``POST /_sim/trade {"symbol","price","qty"?}``: a trader takes every order priced
        through ``price`` and a trade prints at ``price`` (fires last-price triggers)."""
        doc = await _body(request)
        sym = symbol_of(doc)
        inst = sim.engine.instruments[sym]
        px = inst.round_price(_num(doc, "price"))
        qty = _num(doc, "qty", 10.0 ** -max(inst.precision, 0))
        book = sim.engine.books[sym]
        ask, bid = book.best_ask(), book.best_bid()
        if ask is not None and ask <= px:
            vol = sum(q for p, q in book.asks.depth() if p <= px)
            sim.engine.market_order(sym, "buy", vol, px)
        if bid is not None and bid >= px:
            vol = sum(q for p, q in book.bids.depth() if p >= px)
            sim.engine.market_order(sym, "sell", vol, px)
        sim.engine.print_trade(sym, "buy", px, qty)
        if market is not None:
            market.refill(sym)
        sim.publish()
        return _ok(symbol=sym, price=px)

    def count(kind: str) -> None:
        sim.faults.injected[kind] += 1
        metrics.FAULTS.labels(kind).inc()

    async def drop(request: web.Request) -> web.Response:
        """``POST /_sim/fault/drop``: cut every WebSocket connection (no close frame)."""
        conns = list(sim.hub.connections)
        for c in conns:
            sim.hub.drop(c)
        count("drop")
        return _ok(dropped=len(conns))

    async def skip_seq(request: web.Request) -> web.Response:
        """``POST /_sim/fault/skip_seq {"symbol"}``: the next book delta skips one seq."""
        sym = symbol_of(await _body(request))
        sim.engine.skip_seq.add(sym)
        count("skip_seq")
        return _ok(symbol=sym)

    async def stall(request: web.Request) -> web.Response:
        """``POST /_sim/fault/stall {"seconds", "symbols"?}``: withhold data silently, sockets
        stay open (pings still answered)."""
        doc = await _body(request)
        seconds = _num(doc, "seconds", 5.0)
        syms = doc.get("symbols") or []
        sim.faults.stall_until = time.monotonic() + seconds
        sim.faults.stall_symbols = {symbol_of({"symbol": s}) for s in syms}
        count("stall")
        return _ok(seconds=seconds)

    async def rest_fault(request: web.Request, kind: str) -> web.Response:
        doc = await _body(request)
        n = int(_num(doc, "count", 1))
        fault = RestFault(kind, seconds=_num(doc, "seconds", 0.0),
                          status=int(_num(doc, "status", 503)))
        sim.faults.arm_rest(fault, n)
        return _ok(armed=len(sim.faults.rest))

    async def rest_delay(request: web.Request) -> web.Response:
        """``POST /_sim/fault/rest_delay {"seconds", "count"?}``: the next answers are late."""
        return await rest_fault(request, "delay")

    async def http_error(request: web.Request) -> web.Response:
        """``POST /_sim/fault/http_error {"status"?: 503, "count"?}``"""
        return await rest_fault(request, "http")

    async def rate_limit(request: web.Request) -> web.Response:
        """``POST /_sim/fault/rate_limit {"count"?}``: answer ``apiLimitExceeded``."""
        return await rest_fault(request, "rate_limit")

    async def private_order(request: web.Request) -> web.Response:
        """``POST /_sim/fault/private_order {"mode": "rest_first", "hold_ms"?: 200}``"""
        doc = await _body(request)
        mode = str(doc.get("mode", "natural"))
        if mode not in PRIVATE_ORDERS:
            raise AdminError(f"mode must be one of {', '.join(PRIVATE_ORDERS)}")
        sim.faults.private_order = mode
        sim.faults.private_hold_ms = int(_num(doc, "hold_ms", sim.faults.private_hold_ms))
        count(f"private_order_{mode}")
        return _ok(mode=mode, hold_ms=sim.faults.private_hold_ms)

    async def clear(request: web.Request) -> web.Response:
        """``POST /_sim/fault/clear``: disarm everything."""
        sim.faults.rest.clear()
        sim.faults.stall_until = 0.0
        sim.faults.stall_symbols.clear()
        sim.faults.private_order = "natural"
        sim.engine.skip_seq.clear()
        return _ok()

    async def faults(request: web.Request) -> web.Response:
        """``GET /_sim/faults``: what is armed and what was injected."""
        return _ok(**sim.faults.describe())

    p = "/_sim"
    table: list[tuple[str, str, Any]] = [
        ("GET", f"{p}/book/{{symbol}}", book), ("POST", f"{p}/rate", rate),
        ("POST", f"{p}/price", price), ("POST", f"{p}/trade", trade),
        ("POST", f"{p}/fault/drop", drop), ("POST", f"{p}/fault/skip_seq", skip_seq),
        ("POST", f"{p}/fault/stall", stall), ("POST", f"{p}/fault/rest_delay", rest_delay),
        ("POST", f"{p}/fault/http_error", http_error),
        ("POST", f"{p}/fault/rate_limit", rate_limit),
        ("POST", f"{p}/fault/private_order", private_order),
        ("POST", f"{p}/fault/clear", clear), ("GET", f"{p}/faults", faults),
    ]
    return [web.route(method, path, wrap(fn)) for method, path, fn in table]
