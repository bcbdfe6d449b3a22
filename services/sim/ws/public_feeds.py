"""Public WebSocket feeds: book, trade, ticker, ticker_lite, heartbeat. Each function returns
the message dict exactly as Kraken sends it (samples in the docstrings are real captures)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from services.sim.engine.engine import Engine
from services.sim.engine.events import BookDelta, PublicTrade
from services.sim.engine.instruments import Instrument

FUNDING_PERIOD_MS = 3_600_000


def book_snapshot(engine: Engine, symbol: str, now: int) -> dict[str, Any]:
    """Full depth, bids descending, asks ascending, ``tickSize`` always null (real 2021)::

        {"feed":"book_snapshot","product_id":"PI_XBTUSD","timestamp":1612269825817,
         "seq":326072249,"tickSize":null,"bids":[{"price":34892.5,"qty":6385}],
         "asks":[{"price":34911.5,"qty":20598}]}
    """
    book = engine.books[symbol]
    return {
        "feed": "book_snapshot",
        "product_id": symbol,
        "timestamp": now,
        "seq": book.seq,
        "tickSize": None,
        "bids": [{"price": p, "qty": q} for p, q in book.bids.depth()],
        "asks": [{"price": p, "qty": q} for p, q in book.asks.depth()],
    }


def book_delta(d: BookDelta) -> dict[str, Any]:
    """One level, absolute size, ``qty`` 0 deletes; seq = previous + 1 per product::

        {"feed":"book","product_id":"PI_XBTUSD","side":"sell","seq":326094134,"price":34981.0,
         "qty":0.0,"timestamp":1612269953629}
    """
    return {"feed": "book", "product_id": d.symbol, "side": d.side, "seq": d.seq,
            "price": d.price, "qty": d.qty, "timestamp": d.ts}


def trade(t: PublicTrade) -> dict[str, Any]:
    """A public trade; ``side`` is the taker's::

        {"feed":"trade","product_id":"PI_XBTUSD","uid":"05af78ac-a774-478c-a50c-8b9c234e071e",
         "side":"sell","type":"fill","seq":653355,"time":1612266317519,"qty":15000.0,
         "price":34969.5}
    """
    return {"feed": "trade", "product_id": t.symbol, "uid": t.uid, "side": t.side,
            "type": t.type, "seq": t.seq, "time": t.ts, "qty": t.qty, "price": t.price}


def trade_snapshot(engine: Engine, symbol: str) -> dict[str, Any]:
    """The last 100 trades, newest first::

        {"feed":"trade_snapshot","product_id":"PI_XBTUSD","trades":[{"feed":"trade",...}]}
    """
    return {"feed": "trade_snapshot", "product_id": symbol,
            "trades": [trade(t) for t in engine.prices[symbol].trades]}


def maturity_ms(inst: Instrument) -> int:
    if not inst.last_trading_time:
        return 0
    return int(datetime.fromisoformat(inst.last_trading_time.replace("Z", "+00:00"))
               .timestamp() * 1000)


def funding(engine: Engine, symbol: str) -> tuple[float, float]:
    """(relative, absolute) hourly funding: the premium of mark over index, capped."""
    ps = engine.prices[symbol]
    rel = 0.0 if ps.index <= 0 else max(-0.0025, min(0.0025, (ps.mark - ps.index) / ps.index))
    rel = rel / 24 + 1e-6
    inst = engine.instruments[symbol]
    # absolute rate is per contract in the settlement currency: base for inverse contracts
    return rel, (rel / ps.index if inst.inverse and ps.index else rel * ps.index)


def _common(engine: Engine, symbol: str, now: int) -> dict[str, Any]:
    inst = engine.instruments[symbol]
    ps = engine.prices[symbol]
    book = engine.books[symbol]
    bid = book.bids.best()
    ask = book.asks.best()
    mat = maturity_ms(inst)
    change = 0.0 if ps.open24h <= 0 else (ps.last - ps.open24h) / ps.open24h * 100
    return {
        "bid": bid.price if bid else 0.0, "ask": ask.price if ask else 0.0,
        "bid_size": bid.total if bid else 0.0, "ask_size": ask.total if ask else 0.0,
        "change": change, "premium": round((ps.mark - ps.index) / ps.index * 100, 2)
        if ps.index else 0.0, "volume": ps.volume, "tag": inst.tag, "pair": inst.pair,
        "dtm": max(0, math.ceil((mat - now) / 86_400_000)) if mat else 0,
        "maturityTime": mat, "volumeQuote": ps.volume_quote,
    }


def ticker(engine: Engine, symbol: str, now: int) -> dict[str, Any]:
    """Every field, every second (funding fields on perpetuals only; real 2026 sample)::

        {"time":1783587648112,"product_id":"PF_ETHUSD","funding_rate":0.0327,
         "funding_rate_prediction":0.0312,"relative_funding_rate":0.0000186,
         "relative_funding_rate_prediction":0.0000178,"next_funding_rate_time":1783591200000,
         "leverage":"100x","premium":-0.0,"feed":"ticker","bid":1751.6,"ask":1751.7,
         "bid_size":1.459,"ask_size":2.886,"volume":57204.177,"dtm":0,"index":1751.75,
         "last":1751.7,"change":0.97,"suspended":false,"tag":"perpetual","pair":"ETH:USD",
         "openInterest":24085.822,"markPrice":1751.97,"maturityTime":0,"post_only":false,
         "volumeQuote":99424431.8132,"open":1734.8,"high":1765.4,"low":1708.8}
    """
    inst = engine.instruments[symbol]
    ps = engine.prices[symbol]
    c = _common(engine, symbol, now)
    msg: dict[str, Any] = {"time": now, "product_id": symbol}
    if inst.last_trading_time is None:
        rel, absolute = funding(engine, symbol)
        msg.update({
            "funding_rate": absolute, "funding_rate_prediction": absolute * 0.95,
            "relative_funding_rate": rel, "relative_funding_rate_prediction": rel * 0.95,
            "next_funding_rate_time": (now // FUNDING_PERIOD_MS + 1) * FUNDING_PERIOD_MS,
        })
    msg.update({
        "feed": "ticker", "bid": c["bid"], "ask": c["ask"], "bid_size": c["bid_size"],
        "ask_size": c["ask_size"], "volume": c["volume"], "dtm": c["dtm"],
        "leverage": f"{round(1 / inst.initial_margin)}x", "index": ps.index,
        "premium": c["premium"], "last": ps.last, "change": c["change"], "suspended": False,
        "tag": c["tag"], "pair": c["pair"], "openInterest": _open_interest(engine, symbol),
        "markPrice": ps.mark, "maturityTime": c["maturityTime"], "post_only": False,
        "volumeQuote": c["volumeQuote"], "open": ps.open24h, "high": ps.high24h,
        "low": ps.low24h,
    })
    return msg


def _open_interest(engine: Engine, symbol: str) -> float:
    return sum(max(a.positions[symbol].size, 0.0) for a in engine.accounts.values()
               if symbol in a.positions and not a.unlimited)


def ticker_lite(engine: Engine, symbol: str, now: int) -> dict[str, Any]:
    """Top of book and daily stats (real 2021 sample)::

        {"feed":"ticker_lite","product_id":"FI_BCHUSD_210730","bid":439.3,"ask":439.6,
         "change":2.64,"premium":0.3,"volume":3413476.0,"tag":"month","pair":"BCH:USD",
         "dtm":7,"maturityTime":1627657200000}
    """
    c = _common(engine, symbol, now)
    return {"feed": "ticker_lite", "product_id": symbol, "bid": c["bid"], "ask": c["ask"],
            "change": c["change"], "premium": c["premium"], "volume": c["volume"],
            "tag": c["tag"], "pair": c["pair"], "dtm": c["dtm"],
            "maturityTime": c["maturityTime"], "volumeQuote": c["volumeQuote"]}


def heartbeat(now: int) -> dict[str, Any]:
    """``{"feed":"heartbeat","time":1534262350627}``"""
    return {"feed": "heartbeat", "time": now}
