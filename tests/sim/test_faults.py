"""One test per fault-injection knob and per market-driving admin endpoint, through a real
``kgw sim`` process."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson

from tests.sim.harness import KrakenRest, SimHandle, recv_json, recv_until, ws_login


def feed_is(feed: str) -> Any:
    return lambda m: m.get("feed") == feed and "event" not in m


async def book_ws(http: aiohttp.ClientSession, sim: SimHandle,
                  symbol: str) -> tuple[aiohttp.ClientWebSocketResponse, int]:
    ws = await http.ws_connect(sim.ws_url)
    await ws.send_str(orjson.dumps({"event": "subscribe", "feed": "book",
                                    "product_ids": [symbol]}).decode())
    snap, _ = await recv_until(ws, feed_is("book_snapshot"))
    return ws, int(snap["seq"])


async def test_drop_connections(sim: SimHandle, alice: KrakenRest,
                                http: aiohttp.ClientSession) -> None:
    ws, _ = await book_ws(http, sim, "PF_XBTUSD")
    r = await alice.admin("fault/drop")
    assert r["dropped"] >= 1
    for _ in range(10_000):
        m = await asyncio.wait_for(ws.receive(), 3)
        if m.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.ERROR):
            break
    else:
        raise AssertionError("connection not dropped")
    await ws.close()


async def test_skip_seq(sim: SimHandle, alice: KrakenRest, http: aiohttp.ClientSession) -> None:
    await alice.admin("rate", book_rate=500)
    ws, seq = await book_ws(http, sim, "PF_ETHUSD")
    try:
        await alice.admin("fault/skip_seq", symbol="PF_ETHUSD")
        gaps = 0
        for _ in range(400):
            d = await recv_json(ws)
            if d.get("feed") == "book":
                if d["seq"] != seq + 1:
                    gaps += 1
                    assert d["seq"] == seq + 2
                seq = d["seq"]
                if gaps:
                    break
        assert gaps == 1
    finally:
        await ws.close()
        await alice.admin("rate", book_rate=20)


async def test_stall_keeps_socket_open(sim: SimHandle, alice: KrakenRest,
                                       http: aiohttp.ClientSession) -> None:
    await alice.admin("rate", book_rate=500)
    ws, _ = await book_ws(http, sim, "PF_XBTUSD")
    try:
        await alice.admin("fault/stall", seconds=1.0)
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        got = []
        while time.monotonic() - t0 < 0.6:  # drain what was in flight, then silence
            try:
                got.append(await recv_json(ws, timeout=0.7 - (time.monotonic() - t0)))
            except TimeoutError:
                break
        assert len(got) < 10
        await ws.send_str('{"event":"ping"}')  # the socket is alive; replies still flow
        await recv_until(ws, lambda m: m.get("event") == "pong", timeout=3)
        await recv_until(ws, feed_is("book"), timeout=3)  # data resumes afterwards
    finally:
        await ws.close()
        await alice.admin("rate", book_rate=20)


async def test_rest_delay(alice: KrakenRest) -> None:
    await alice.admin("fault/rest_delay", seconds=0.8, count=1)
    t0 = time.monotonic()
    assert (await alice.public("tickers"))["result"] == "success"
    assert time.monotonic() - t0 >= 0.75
    t0 = time.monotonic()
    await alice.public("tickers")
    assert time.monotonic() - t0 < 0.5


async def test_rest_delay_past_client_timeout(alice: KrakenRest, sim: SimHandle) -> None:
    await alice.admin("fault/rest_delay", seconds=1.5, count=1)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as s:
        try:
            async with s.get(f"{sim.rest}/tickers") as r:
                await r.read()
        except TimeoutError:
            pass
        else:
            raise AssertionError("expected a client timeout")


async def test_http_5xx(alice: KrakenRest, http: aiohttp.ClientSession, sim: SimHandle) -> None:
    await alice.admin("fault/http_error", status=503, count=2)
    for _ in range(2):
        async with http.get(f"{sim.rest}/tickers") as r:
            assert r.status == 503
    async with http.get(f"{sim.rest}/tickers") as r:
        assert r.status == 200


async def test_forced_api_limit_exceeded(alice: KrakenRest) -> None:
    await alice.admin("fault/rate_limit", count=1)
    r = await alice.get("openorders")
    assert (r["result"], r["error"]) == ("error", "apiLimitExceeded")
    assert (await alice.get("openorders"))["result"] == "success"
    faults = await alice.admin("faults")
    assert faults["injected"]["rest_rate_limit"] >= 1


async def _order_vs_ws(sim: SimHandle, alice: KrakenRest, http: aiohttp.ClientSession,
                       mode: str) -> tuple[float, float]:
    """(time the REST answer arrived, time the WS placement arrived)."""
    await alice.admin("fault/private_order", mode=mode, hold_ms=300)
    async with http.ws_connect(sim.ws_url) as ws:
        await ws_login(ws, sim.key, sim.secret, "open_orders")
        await recv_until(ws, feed_is("open_orders_snapshot"))
        got: dict[str, float] = {}

        async def rest() -> None:
            await alice.post("sendorder", {"orderType": "lmt", "symbol": "PF_XBTUSD",
                                           "side": "buy", "size": "0.001",
                                           "limitPrice": "30000"})
            got["rest"] = time.monotonic()

        async def ws_side() -> None:
            await recv_until(ws, feed_is("open_orders"))
            got["ws"] = time.monotonic()

        await asyncio.gather(rest(), ws_side())
    await alice.post("cancelallorders")
    return got["rest"], got["ws"]


async def test_private_update_before_rest(sim: SimHandle, alice: KrakenRest,
                                          http: aiohttp.ClientSession) -> None:
    rest_t, ws_t = await _order_vs_ws(sim, alice, http, "ws_first")
    assert ws_t + 0.2 < rest_t


async def test_private_update_after_rest(sim: SimHandle, alice: KrakenRest,
                                         http: aiohttp.ClientSession) -> None:
    rest_t, ws_t = await _order_vs_ws(sim, alice, http, "rest_first")
    assert rest_t + 0.2 < ws_t


async def test_set_rate(alice: KrakenRest, sim: SimHandle, http: aiohttp.ClientSession) -> None:
    r = await alice.admin("rate", book_rate=0, trade_rate=0)
    assert r["book_rate"] == 0
    ws, _ = await book_ws(http, sim, "PI_XBTUSD")
    try:
        await asyncio.sleep(0.2)
        quiet = 0
        for _ in range(50):
            try:
                await recv_json(ws, timeout=0.2)
                quiet = 0
            except TimeoutError:
                quiet += 1
                break
        assert quiet == 1
        await alice.admin("rate", book_rate=1000)
        await recv_until(ws, feed_is("book"), timeout=2)
    finally:
        await ws.close()
        await alice.admin("rate", book_rate=20)


async def test_price_move_fills_resting_order(alice: KrakenRest) -> None:
    book = await alice.admin("book/PI_XBTUSD")
    below = book["bids"][0][0] - 500
    r = await alice.post("sendorder", {"orderType": "lmt", "symbol": "PI_XBTUSD", "side": "buy",
                                       "size": "100", "limitPrice": str(below)})
    oid = r["sendStatus"]["order_id"]
    stop = await alice.post("sendorder", {"orderType": "stp", "symbol": "PI_XBTUSD",
                                          "side": "sell", "size": "50",
                                          "stopPrice": str(below + 100), "triggerSignal": "mark",
                                          "reduceOnly": "true"})
    assert stop["sendStatus"]["status"] == "wouldNotReducePosition"
    moved = await alice.admin("price", symbol="PI_XBTUSD", price=below - 200)
    assert moved["ok"]
    fills = (await alice.get("fills"))["fills"]
    assert any(f["order_id"] == oid for f in fills)
    after = await alice.admin("book/PI_XBTUSD")
    assert after["mark"] == below - 200
    assert after["bids"][0][0] < after["asks"][0][0]
    await alice.post("sendorder", {"orderType": "mkt", "symbol": "PI_XBTUSD", "side": "sell",
                                   "size": "100", "reduceOnly": "true"})
    await alice.admin("price", symbol="PI_XBTUSD", price=book["bids"][0][0])


async def test_trade_fires_stop(alice: KrakenRest) -> None:
    book = await alice.admin("book/PF_ETHUSD")
    bid = book["bids"][0][0]
    r = await alice.post("sendorder", {"orderType": "stp", "symbol": "PF_ETHUSD", "side": "buy",
                                       "size": "0.01", "stopPrice": str(round(bid + 1, 1))})
    oid = r["sendStatus"]["order_id"]
    assert any(o["order_id"] == oid for o in (await alice.get("openorders"))["openOrders"])
    await alice.admin("trade", symbol="PF_ETHUSD", price=round(bid + 1, 1))
    assert not any(o["order_id"] == oid for o in (await alice.get("openorders"))["openOrders"])
    fills = (await alice.get("fills"))["fills"]
    assert any(f["order_id"] == oid for f in fills)
    await alice.post("sendorder", {"orderType": "mkt", "symbol": "PF_ETHUSD", "side": "sell",
                                   "size": "0.01", "reduceOnly": "true"})
