"""WebSocket v1 against a real ``kgw sim`` process: public feeds, seq contiguity checked against
the simulator's own book, private challenge auth, order and fill updates, bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson

from common.kraken import auth
from tests.sim.harness import KrakenRest, SimHandle, recv_json, recv_until, ws_login


def feed_is(feed: str) -> Any:
    """Predicate: a data message of ``feed`` (acks carry the feed name too)."""
    return lambda m: m.get("feed") == feed and "event" not in m


async def send(ws: aiohttp.ClientWebSocketResponse, msg: dict[str, Any]) -> None:
    await ws.send_str(orjson.dumps(msg).decode())


async def test_info_acks_and_snapshots(sim: SimHandle, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        assert await recv_json(ws) == {"event": "info", "version": 1}
        await send(ws, {"event": "subscribe", "feed": "book",
                        "product_ids": ["pf_xbtusd", "PI_XBTUSD"]})
        acks = [await recv_json(ws), await recv_json(ws)]
        assert acks == [{"event": "subscribed", "feed": "book", "product_ids": ["PF_XBTUSD"]},
                        {"event": "subscribed", "feed": "book", "product_ids": ["PI_XBTUSD"]}]
        snaps = [await recv_json(ws), await recv_json(ws)]
        assert [s["feed"] for s in snaps] == ["book_snapshot", "book_snapshot"]
        assert snaps[0]["tickSize"] is None
        bids = [b["price"] for b in snaps[0]["bids"]]
        assert bids == sorted(bids, reverse=True)
        await send(ws, {"event": "subscribe", "feed": "trade", "product_ids": ["PF_XBTUSD"]})
        msg, _ = await recv_until(ws, feed_is("trade_snapshot"))
        seqs = [t["seq"] for t in msg["trades"]]
        assert seqs == sorted(seqs, reverse=True) and len(seqs) <= 100
        await send(ws, {"event": "subscribe", "feed": "ticker", "product_ids": ["PF_ETHUSD"]})
        tick, _ = await recv_until(ws, feed_is("ticker"))
        for field in ("funding_rate", "relative_funding_rate", "next_funding_rate_time",
                      "markPrice", "index", "openInterest", "bid", "ask", "leverage", "dtm"):
            assert field in tick
        await send(ws, {"event": "subscribe", "feed": "ticker_lite", "product_ids": ["PF_ETHUSD"]})
        lite, _ = await recv_until(ws, feed_is("ticker_lite"))
        assert "bid" in lite and "time" not in lite
        await send(ws, {"event": "unsubscribe", "feed": "ticker", "product_ids": ["PF_ETHUSD"]})
        await recv_until(ws, lambda m: m.get("event") == "unsubscribed")


async def test_book_deltas_contiguous_and_match_sim_book(sim: SimHandle, alice: KrakenRest,
                                                         http: aiohttp.ClientSession) -> None:
    await alice.admin("rate", book_rate=2000)
    try:
        async with http.ws_connect(sim.ws_url) as ws:
            await send(ws, {"event": "subscribe", "feed": "book", "product_ids": ["PF_ETHUSD"]})
            snap, _ = await recv_until(ws, feed_is("book_snapshot"))
            book = {("buy", b["price"]): b["qty"] for b in snap["bids"]}
            book.update({("sell", a["price"]): a["qty"] for a in snap["asks"]})
            seq = snap["seq"]
            for _ in range(300):
                d = await recv_json(ws)
                if d.get("feed") != "book":
                    continue
                assert d["seq"] == seq + 1 and set(d) == {
                    "feed", "product_id", "side", "seq", "price", "qty", "timestamp"}
                seq = d["seq"]
                book[(d["side"], d["price"])] = d["qty"]
            await alice.admin("rate", book_rate=0)
            # drain until quiet, then compare with the simulator's own book
            for _ in range(100_000):
                try:
                    d = await recv_json(ws, timeout=0.5)
                except TimeoutError:
                    break
                if d.get("feed") == "book":
                    assert d["seq"] == seq + 1
                    seq = d["seq"]
                    book[(d["side"], d["price"])] = d["qty"]
            truth = await alice.admin("book/PF_ETHUSD")
            assert truth["seq"] == seq
            mine = {k: v for k, v in book.items() if v > 0}
            theirs = {("buy", p): q for p, q in truth["bids"]}
            theirs.update({("sell", p): q for p, q in truth["asks"]})
            assert mine == theirs
    finally:
        await alice.admin("rate", book_rate=20)


async def test_errors_and_bad_input(sim: SimHandle, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        await recv_json(ws)
        await ws.send_str("{not json")
        assert await recv_json(ws) == {"event": "error", "message": "Json Error"}
        await ws.send_str("[1,2]")
        assert await recv_json(ws) == {"event": "error", "message": "Json Error"}
        await send(ws, {"event": "subscribe", "feed": "nope", "product_ids": ["PI_XBTUSD"]})
        assert await recv_json(ws) == {"event": "error", "message": "Invalid feed"}
        await send(ws, {"event": "subscribe", "feed": "book", "product_ids": ["XX_NOPE"]})
        assert await recv_json(ws) == {"event": "error", "message": "Invalid product id"}
        await send(ws, {"event": "subscribe", "feed": "book", "product_ids": "PI_XBTUSD"})
        assert await recv_json(ws) == {"event": "error", "message": "Json Error"}
        await ws.send_str('{"event":"subscribe","feed":"book","pad":"' + "x" * 200_000 + '"}')
        assert await recv_json(ws) == {"event": "error", "message": "Json Error"}
        await ws.send_bytes(b"\x00\x01")
        assert await recv_json(ws) == {"event": "error", "message": "Json Error"}
        await send(ws, {"event": "ping"})
        assert await recv_json(ws) == {"event": "pong"}
        await ws.ping()
        await send(ws, {"event": "subscribe", "feed": "heartbeat"})
        assert await recv_json(ws) == {"event": "subscribed", "feed": "heartbeat"}
        beat, _ = await recv_until(ws, feed_is("heartbeat"), timeout=3)
        assert set(beat) == {"feed", "time"}
        await send(ws, {"event": "subscribe", "feed": "book", "product_ids": ["PI_XBTUSD"]})
        await recv_until(ws, feed_is("book_snapshot"))
        await send(ws, {"event": "subscribe", "feed": "book", "product_ids": ["PI_XBTUSD"]})
        alert, _ = await recv_until(ws, lambda m: m.get("event") == "alert")
        assert alert["message"] == "Already subscribed to feed, re-requesting"
        await recv_until(ws, feed_is("book_snapshot"))


async def test_private_feeds_and_stale_challenge(sim: SimHandle, alice: KrakenRest,
                                                 http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        challenge, ack = await ws_login(ws, sim.key, sim.secret, "open_orders")
        assert ack["event"] == "subscribed" and ack["feed"] == "open_orders"
        snap, _ = await recv_until(ws, feed_is("open_orders_snapshot"))
        assert isinstance(snap["orders"], list)
        signed = auth.ws_challenge_signature(sim.secret, challenge)
        feeds_seen = []
        for feed in ("fills", "open_positions", "balances", "open_orders_verbose"):
            await send(ws, {"event": "subscribe", "feed": feed, "api_key": sim.key,
                            "original_challenge": challenge, "signed_challenge": signed})
            ack, before = await recv_until(ws, lambda m, f=feed: m.get("event") == "subscribed"
                                           and m.get("feed") == f)
            assert ack["original_challenge"] == challenge
            feeds_seen += [m.get("feed") for m in before]
        snap, _ = await recv_until(ws, feed_is("open_orders_verbose_snapshot"))
        assert {"fills_snapshot", "open_positions", "balances_snapshot"} <= set(feeds_seen)
        # wrong signature on this connection
        await send(ws, {"event": "subscribe", "feed": "fills", "api_key": sim.key,
                        "original_challenge": challenge, "signed_challenge": "AAAA"})
        await recv_until(ws, lambda m: m.get("event") == "alert")
        # an order and its fill arrive on the private feeds
        truth = await alice.admin("book/PF_XBTUSD")
        price = truth["bids"][1][0]
        r = await alice.post("sendorder", {"orderType": "lmt", "symbol": "PF_XBTUSD",
                                           "side": "buy", "size": "0.001",
                                           "limitPrice": str(price), "cliOrdId": "ws-1"})
        oid = r["sendStatus"]["order_id"]
        placed, _ = await recv_until(ws, feed_is("open_orders"))
        assert placed["reason"] == "new_placed_order_by_user" and placed["is_cancel"] is False
        o = placed["order"]
        assert (o["order_id"], o["direction"], o["qty"], o["cli_ord_id"]) == (oid, 0, 0.001,
                                                                              "ws-1")
        await alice.admin("trade", symbol="PF_XBTUSD", price=price)
        fill, _ = await recv_until(ws, feed_is("fills"))
        f = fill["fills"][0]
        assert f["order_id"] == oid and f["buy"] is True and f["fill_type"] == "maker"
        assert f["cli_ord_id"] == "ws-1" and "fee_paid" in f
        done, _ = await recv_until(ws, feed_is("open_orders"))
        assert done["is_cancel"] is True and done["reason"] == "full_fill"
        pos, _ = await recv_until(ws, feed_is("open_positions"))
        assert any(p["instrument"] == "PF_XBTUSD" for p in pos["positions"])
    # reconnect and reuse the old challenge: Kraken refuses it
    async with http.ws_connect(sim.ws_url) as ws2:
        await recv_json(ws2)
        await send(ws2, {"event": "subscribe", "feed": "open_orders", "api_key": sim.key,
                         "original_challenge": challenge, "signed_challenge": signed})
        assert await recv_json(ws2) == {"event": "alert",
                                        "message": "Failed to subscribe to authenticated feed"}
    await alice.post("sendorder", {"orderType": "mkt", "symbol": "PF_XBTUSD", "side": "sell",
                                   "size": "0.001", "reduceOnly": "true"})


async def test_cancel_and_edit_reasons(sim: SimHandle, alice: KrakenRest,
                                       http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(sim.ws_url) as ws:
        await ws_login(ws, sim.key, sim.secret, "open_orders")
        await recv_until(ws, feed_is("open_orders_snapshot"))
        r = await alice.post("sendorder", {"orderType": "lmt", "symbol": "PI_XBTUSD",
                                           "side": "sell", "size": "100",
                                           "limitPrice": "90000"})
        oid = r["sendStatus"]["order_id"]
        await recv_until(ws, feed_is("open_orders"))
        await alice.post("editorder", {"orderId": oid, "limitPrice": "90000.5"})
        ed, _ = await recv_until(ws, feed_is("open_orders"))
        assert ed["reason"] == "edited_by_user" and ed["order"]["direction"] == 1
        await alice.post("cancelorder", {"order_id": oid})
        c, _ = await recv_until(ws, feed_is("open_orders"))
        assert c == {"feed": "open_orders", "order_id": oid, "is_cancel": True,
                     "reason": "cancelled_by_user"}


async def test_many_clients_get_identical_streams(sim: SimHandle,
                                                  http: aiohttp.ClientSession) -> None:
    async def take(n: int) -> list[tuple[int, float]]:
        async with http.ws_connect(sim.ws_url) as ws:
            await send(ws, {"event": "subscribe", "feed": "book", "product_ids": ["PI_XBTUSD"]})
            await recv_until(ws, feed_is("book_snapshot"))
            out: list[tuple[int, float]] = []
            while len(out) < n:
                d = await recv_json(ws)
                if d.get("feed") == "book":
                    out.append((d["seq"], d["price"]))
            return out

    a, b = await asyncio.gather(take(5), take(5))
    common = set(a) & set(b)
    assert common, (a, b)
