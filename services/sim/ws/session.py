"""One WebSocket client: requests in, replies and snapshots out. :func:`on_message` is plain
synchronous logic over a :class:`Connection` (it only queues frames); :func:`handle` is the thin
aiohttp layer around it.

Kraken behaviours reproduced (protocol reference section 4):

* ``{"event":"info","version":1}`` on connect.
* One ack per product, product ids uppercase (lowercase accepted); all acks of a request before
  its snapshots.
* ``{"event":"error","message":"Invalid product id"|"Invalid feed"|"Json Error"}``.
* Private feeds need a challenge issued **on this connection**; a stale or wrong signature gets
  ``{"event":"alert","message":"Failed to subscribe to authenticated feed"}``.
* Duplicate subscribe: ``{"event":"alert","message":"Already subscribed to feed, re-requesting"}``
  followed by a fresh snapshot.
* ``{"event":"ping"}`` is answered ``{"event":"pong"}``; protocol pings by aiohttp.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, cast

import orjson
from aiohttp import WSMsgType, web

from common.kraken import auth
from services.sim import metrics
from services.sim.state import Sim, now_ms
from services.sim.ws import private_feeds, public_feeds
from services.sim.ws.hub import Connection

log = logging.getLogger("kgw.sim.ws")

PUBLIC_FEEDS = frozenset({"book", "trade", "ticker", "ticker_lite"})
PRIVATE_FEEDS = frozenset({"open_orders", "open_orders_verbose", "fills", "open_positions",
                           "balances"})

JSON_ERROR = {"event": "error", "message": "Json Error"}
INVALID_FEED = {"event": "error", "message": "Invalid feed"}
INVALID_PRODUCT = {"event": "error", "message": "Invalid product id"}
AUTH_FAILED = {"event": "alert", "message": "Failed to subscribe to authenticated feed"}
ALREADY = {"event": "alert", "message": "Already subscribed to feed, re-requesting"}


def _reply_error(sim: Sim, conn: Connection, msg: dict[str, Any]) -> None:
    metrics.WS_ERRORS.labels(msg["message"]).inc()
    sim.hub.send(conn, msg)


def on_message(sim: Sim, conn: Connection, data: str | bytes) -> None:
    """Handle one client message (queues replies; the caller flushes)."""
    if len(data) > sim.settings.ws_max_message:
        _reply_error(sim, conn, JSON_ERROR)
        return
    try:
        msg = orjson.loads(data)
    except orjson.JSONDecodeError:
        _reply_error(sim, conn, JSON_ERROR)
        return
    if not isinstance(msg, dict):
        _reply_error(sim, conn, JSON_ERROR)
        return
    event = msg.get("event")
    if event == "ping":
        sim.hub.send(conn, {"event": "pong"})
    elif event == "challenge":
        on_challenge(sim, conn, msg)
    elif event in ("subscribe", "unsubscribe"):
        feed = msg.get("feed")
        if not isinstance(feed, str):
            _reply_error(sim, conn, JSON_ERROR)
        elif feed in PUBLIC_FEEDS:
            on_public(sim, conn, event, feed, msg)
        elif feed == "heartbeat":
            on_heartbeat(sim, conn, event)
        elif feed in PRIVATE_FEEDS:
            on_private(sim, conn, event, feed, msg)
        else:
            _reply_error(sim, conn, INVALID_FEED)
    else:
        _reply_error(sim, conn, JSON_ERROR)


def on_challenge(sim: Sim, conn: Connection, msg: dict[str, Any]) -> None:
    """``{"event":"challenge","api_key":"CMl2..."}`` ->
    ``{"event":"challenge","message":"226aee50-88fc-4618-a42a-34f7709570b2"}``.
    A new challenge replaces the previous one of this connection."""
    key = msg.get("api_key")
    if not isinstance(key, str) or not key:
        _reply_error(sim, conn, JSON_ERROR)
        return
    conn.challenge = str(uuid.uuid4())
    conn.challenge_key = key
    sim.hub.send(conn, {"event": "challenge", "message": conn.challenge})


def _products(sim: Sim, conn: Connection, msg: dict[str, Any]) -> list[str] | None:
    ids = msg.get("product_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(p, str) for p in ids):
        _reply_error(sim, conn, JSON_ERROR)
        return None
    out = []
    for raw in ids:
        inst = sim.engine.instrument(raw)
        if inst is None:
            _reply_error(sim, conn, INVALID_PRODUCT)
        elif inst.symbol not in out:
            out.append(inst.symbol)
    return out


def public_snapshot(sim: Sim, feed: str, symbol: str) -> dict[str, Any]:
    now = now_ms()
    if feed == "book":
        return public_feeds.book_snapshot(sim.engine, symbol, now)
    if feed == "trade":
        return public_feeds.trade_snapshot(sim.engine, symbol)
    if feed == "ticker":
        return public_feeds.ticker(sim.engine, symbol, now)
    return public_feeds.ticker_lite(sim.engine, symbol, now)


def on_public(sim: Sim, conn: Connection, event: str, feed: str, msg: dict[str, Any]) -> None:
    """``{"event":"subscribe","feed":"book","product_ids":["PI_XBTUSD"]}`` ->
    ``{"event":"subscribed","feed":"book","product_ids":["PI_XBTUSD"]}`` then book_snapshot."""
    products = _products(sim, conn, msg)
    if not products:
        return
    hub = sim.hub
    if event == "unsubscribe":
        for p in products:
            hub.unsubscribe(conn, feed, p)
            hub.send(conn, {"event": "unsubscribed", "feed": feed, "product_ids": [p]})
        return
    fresh = []
    for p in products:
        if hub.subscribe(conn, feed, p):
            hub.send(conn, {"event": "subscribed", "feed": feed, "product_ids": [p]})
        else:
            hub.send(conn, ALREADY)
        fresh.append(p)
    for p in fresh:
        hub.send(conn, public_snapshot(sim, feed, p), feed)


def on_heartbeat(sim: Sim, conn: Connection, event: str) -> None:
    """``{"event":"subscribe","feed":"heartbeat"}`` -> ``{"event":"subscribed","feed":"heartbeat"}``"""
    if event == "subscribe":
        sim.hub.subscribe(conn, "heartbeat", "")
        sim.hub.send(conn, {"event": "subscribed", "feed": "heartbeat"})
    else:
        sim.hub.unsubscribe(conn, "heartbeat", "")
        sim.hub.send(conn, {"event": "unsubscribed", "feed": "heartbeat"})


def authenticated_account(sim: Sim, conn: Connection, msg: dict[str, Any]) -> str | None:
    """The account if ``msg`` carries this connection's challenge, correctly signed."""
    key = msg.get("api_key")
    original = msg.get("original_challenge")
    signed = msg.get("signed_challenge")
    if not (isinstance(key, str) and isinstance(original, str) and isinstance(signed, str)):
        return None
    if conn.challenge is None or original != conn.challenge or key != conn.challenge_key:
        return None  # e.g. a challenge from a previous connection
    cred = sim.credentials.by_key.get(key)
    if cred is None:
        return None
    if not auth.signatures_match(auth.ws_challenge_signature(cred.secret, original), signed):
        return None
    return cred.account


def private_snapshot(sim: Sim, account: str, feed: str) -> dict[str, Any]:
    if feed in ("open_orders", "open_orders_verbose"):
        return private_feeds.open_orders_snapshot(sim.engine, account,
                                                  feed == "open_orders_verbose")
    if feed == "fills":
        return private_feeds.fills_snapshot(sim.engine, account)
    return sim.account_message(account, feed, snapshot=True)


def on_private(sim: Sim, conn: Connection, event: str, feed: str, msg: dict[str, Any]) -> None:
    """``{"event":"subscribe","feed":"open_orders","api_key":"...","original_challenge":"...",
    "signed_challenge":"..."}`` -> ack echoing those fields (docs), then the snapshot."""
    account = authenticated_account(sim, conn, msg)
    if account is None:
        metrics.WS_ERRORS.labels(AUTH_FAILED["message"]).inc()
        sim.hub.send(conn, AUTH_FAILED)
        return
    ack: dict[str, Any] = {"event": "subscribed" if event == "subscribe" else "unsubscribed",
                           "feed": feed}
    if feed == "fills" and isinstance(msg.get("product_ids"), list):
        ack["product_ids"] = [str(p).upper() for p in msg["product_ids"]]
    ack.update({k: msg[k] for k in ("api_key", "original_challenge", "signed_challenge")})
    if event == "unsubscribe":
        sim.hub.unsubscribe_private(conn, account, feed)
        sim.hub.send(conn, ack)
        return
    if not sim.hub.subscribe_private(conn, account, feed):
        sim.hub.send(conn, ALREADY)
    else:
        sim.hub.send(conn, ack)
    sim.hub.send(conn, private_snapshot(sim, account, feed), feed)


async def handle(sim: Sim, request: web.Request) -> web.WebSocketResponse:
    """aiohttp handler of ``/ws/v1``."""
    ws = web.WebSocketResponse(autoping=True, compress=False,
                               max_msg_size=max(4 * sim.settings.ws_max_message, 1 << 20))
    await ws.prepare(request)
    # uvloop's transports are not asyncio.Transport subclasses, but have its interface
    transport = cast(asyncio.Transport, request.transport)
    assert transport is not None
    conn = Connection(transport=transport)
    sim.hub.add(conn)
    sim.hub.send(conn, {"event": "info", "version": 1})
    sim.hub.flush()
    try:
        async for m in ws:
            if m.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                try:
                    on_message(sim, conn, m.data)
                except Exception:  # a bad request must never take the server down
                    log.exception("websocket request failed")
                    sim.hub.send(conn, JSON_ERROR)
                sim.hub.flush()
            elif m.type == WSMsgType.ERROR:
                break
    finally:
        sim.hub.remove(conn)
    return ws
