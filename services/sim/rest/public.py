"""Public REST endpoints: instruments, instruments/status, tickers, orderbook, history."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.sim import metrics
from services.sim.engine.instruments import Instrument
from services.sim.rest.envelope import error, json_response, success
from services.sim.rest.shapes import iso, server_time
from services.sim.state import Sim, now_ms
from services.sim.ws.public_feeds import funding

UNKNOWN_SYMBOL = "contractNotFound"
"""Error for an unknown symbol on public endpoints (Kraken's exact code is unconfirmed)."""


def _display_base(base: str) -> str:
    """Kraken's 2025 responses name bitcoin ``BTC`` in ``base``/``pair`` (symbols keep XBT)."""
    return "BTC" if base == "XBT" else base


def instrument_json(inst: Instrument) -> dict[str, Any]:
    """One ``instruments`` entry (2025 shape, numbers as JSON numbers)::

        {"symbol":"PF_ETHUSD","type":"flexible_futures","tickSize":0.1,"contractSize":1,
         "tradeable":true,"impactMidSize":1.5,"maxPositionSize":16000.0,"openingDate":
         "2022-03-22T13:18:45Z","marginLevels":[{"numNonContractUnits":0.0,"initialMargin":
         0.02,"maintenanceMargin":0.01}],"fundingRateCoefficient":24,"maxRelativeFundingRate":
         0.0025,"isin":"GB00BQ84K502","contractValueTradePrecision":3,"postOnly":false,
         "mtf":true,"base":"ETH","quote":"USD","pair":"ETH:USD"}
    """
    unit = "contracts" if inst.inverse else "numNonContractUnits"
    base = _display_base(inst.base)
    d: dict[str, Any] = {
        "symbol": inst.symbol,
        "type": inst.kraken_type,
        "tickSize": inst.tick_size,
        "contractSize": inst.contract_size,
        "tradeable": True,
        "impactMidSize": inst.impact_mid_size,
        "maxPositionSize": inst.max_position_size,
        "openingDate": "2022-01-01T00:00:00.000Z",
        "marginLevels": [
            {unit: 0.0, "initialMargin": inst.initial_margin,
             "maintenanceMargin": inst.maintenance_margin},
            {unit: 500_000.0, "initialMargin": inst.initial_margin * 2,
             "maintenanceMargin": inst.maintenance_margin * 2},
        ],
        "isin": inst.isin or "GB00SIM00000",
        "contractValueTradePrecision": inst.precision,
        "postOnly": False,
        "mtf": False,
        "base": base,
        "quote": inst.quote,
        "pair": f"{base}:{inst.quote}",
        "category": "",
        "tags": [],
        "tradfi": False,
    }
    if inst.inverse:
        d["underlying"] = f"rr_{inst.base.lower()}{inst.quote.lower()}"
    if inst.last_trading_time:
        d["lastTradingTime"] = inst.last_trading_time
    else:
        d["fundingRateCoefficient"] = 24
        d["maxRelativeFundingRate"] = 0.0025
    return d


def ticker_json(sim: Sim, symbol: str) -> dict[str, Any]:
    """One ``tickers`` entry (2025 shape)::

        {"symbol":"PI_XBTUSD","last":91415.0,"lastTime":"2025-11-17T00:31:01.835Z",
         "tag":"perpetual","pair":"BTC:USD","markPrice":91506.6,"bid":91415.0,
         "bidSize":4960.0,"ask":91490.5,"askSize":5020.0,"vol24h":21118140.0,
         "volumeQuote":260138.86,"openInterest":21279580.0,"open24h":90000.0,
         "high24h":92000.0,"low24h":89000.0,"lastSize":3240.0,"fundingRate":-3.99e-09,
         "fundingRatePrediction":6.27e-08,"suspended":false,"indexPrice":91468.38,
         "postOnly":false,"change24h":1.57}
    """
    eng = sim.engine
    inst = eng.instruments[symbol]
    ps = eng.prices[symbol]
    book = eng.books[symbol]
    bid, ask = book.bids.best(), book.asks.best()
    d: dict[str, Any] = {
        "symbol": symbol, "last": ps.last, "lastTime": iso(ps.last_time or now_ms()),
        "tag": inst.tag, "pair": f"{_display_base(inst.base)}:{inst.quote}",
        "markPrice": ps.mark,
        "bid": bid.price if bid else None, "bidSize": bid.total if bid else None,
        "ask": ask.price if ask else None, "askSize": ask.total if ask else None,
        "vol24h": ps.volume, "volumeQuote": ps.volume_quote,
        "openInterest": sum(max(a.positions[symbol].size, 0) for a in eng.accounts.values()
                            if symbol in a.positions and not a.unlimited),
        "open24h": ps.open24h, "high24h": ps.high24h, "low24h": ps.low24h,
        "lastSize": ps.last_size, "suspended": False, "indexPrice": ps.index,
        "postOnly": False,
        "change24h": round((ps.last - ps.open24h) / ps.open24h * 100, 4) if ps.open24h else 0,
    }
    if not inst.last_trading_time:
        _, absolute = funding(eng, symbol)
        d["fundingRate"] = absolute
        d["fundingRatePrediction"] = absolute * 0.95
    return d


def _symbol(sim: Sim, raw: str | None) -> str | None:
    inst = sim.engine.instrument(raw or "")
    return inst.symbol if inst else None


def routes(sim: Sim, recorded_instruments: bytes | None) -> list[web.RouteDef]:
    """Public handlers bound to ``sim``; ``recorded_instruments`` is served in replay mode."""

    async def instruments(_: web.Request) -> web.Response:
        metrics.REST_REQUESTS.labels("instruments").inc()
        if recorded_instruments is not None:
            return web.Response(body=recorded_instruments, content_type="application/json")
        return success(instruments=[instrument_json(i) for i in
                                    sim.engine.instruments.values()])

    def _status(symbol: str) -> dict[str, Any]:
        return {"tradeable": symbol, "experiencingDislocation": False,
                "priceDislocationDirection": None, "experiencingExtremeVolatility": False,
                "extremeVolatilityInitialMarginMultiplier": 1}

    async def instruments_status(_: web.Request) -> web.Response:
        return success(instrumentStatus=[_status(s) for s in sim.engine.instruments])

    async def instrument_status(request: web.Request) -> web.Response:
        sym = _symbol(sim, request.match_info["symbol"])
        if sym is None:
            return error(UNKNOWN_SYMBOL)
        return success(**_status(sym))

    async def tickers(_: web.Request) -> web.Response:
        metrics.REST_REQUESTS.labels("tickers").inc()
        return success(tickers=[ticker_json(sim, s) for s in sim.engine.instruments])

    async def ticker(request: web.Request) -> web.Response:
        sym = _symbol(sim, request.match_info["symbol"])
        if sym is None:
            return error(UNKNOWN_SYMBOL)
        return success(ticker=ticker_json(sim, sym))

    async def orderbook(request: web.Request) -> web.Response:
        """Full depth, ``[price, qty]`` pairs (bids descending, asks ascending)."""
        metrics.REST_REQUESTS.labels("orderbook").inc()
        raw = request.query.get("symbol")
        if not raw:
            # Kraken quirk: the docs call symbol optional but the server fails without it
            return json_response({"result": "error", "serverTime": server_time(),
                                  "error": "Server Error"}, status=500)
        sym = _symbol(sim, raw)
        if sym is None:
            return error(UNKNOWN_SYMBOL)
        book = sim.engine.books[sym]
        return success(orderBook={"bids": [list(x) for x in book.bids.depth()],
                                  "asks": [list(x) for x in book.asks.depth()]})

    async def history(request: web.Request) -> web.Response:
        """Last 100 public trades, oldest first; ``trade_id`` counts down to 1 (newest)."""
        sym = _symbol(sim, request.query.get("symbol"))
        if sym is None:
            return error(UNKNOWN_SYMBOL if request.query.get("symbol")
                         else "requiredArgumentMissing")
        trades = list(sim.engine.prices[sym].trades)
        trades.reverse()
        out = [{"time": iso(t.ts), "trade_id": len(trades) - i, "price": t.price,
                "size": t.qty, "side": t.side, "type": t.type, "uid": t.uid}
               for i, t in enumerate(trades)]
        return success(history=out)

    base = "/derivatives/api/v3"
    return [
        web.get(f"{base}/instruments", instruments),
        web.get(f"{base}/instruments/status", instruments_status),
        web.get(f"{base}/instruments/{{symbol}}/status", instrument_status),
        web.get(f"{base}/tickers", tickers),
        web.get(f"{base}/tickers/{{symbol}}", ticker),
        web.get(f"{base}/orderbook", orderbook),
        web.get(f"{base}/history", history),
    ]
