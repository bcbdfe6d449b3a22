"""REST v3 against a real ``kgw sim`` process: authentication, nonces, rate budget, response
shapes and order rejections."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote, urlencode

import aiohttp

from common.kraken import auth
from tests.sim.harness import REST, KrakenRest, SimHandle, fresh_credentials, next_nonce


async def test_public_endpoints(alice: KrakenRest) -> None:
    inst = await alice.public("instruments")
    assert inst["result"] == "success"
    by = {i["symbol"]: i for i in inst["instruments"]}
    assert {"PI_XBTUSD", "PF_XBTUSD", "PF_ETHUSD"} <= set(by)
    assert any(s.startswith("FI_XBTUSD_") and "lastTradingTime" in i for s, i in by.items())
    assert by["PI_XBTUSD"]["type"] == "futures_inverse" and by["PI_XBTUSD"]["tickSize"] == 0.5
    assert by["PF_ETHUSD"]["contractValueTradePrecision"] == 3
    tick = await alice.public("tickers/pf_xbtusd")
    assert tick["ticker"]["symbol"] == "PF_XBTUSD" and tick["ticker"]["bid"] < tick["ticker"]["ask"]
    book = await alice.public("orderbook", symbol="PF_ETHUSD")
    bids = book["orderBook"]["bids"]
    assert bids == sorted(bids, reverse=True) and len(bids) >= 10
    assert (await alice.public("orderbook", symbol="NOPE"))["result"] == "error"
    assert (await alice.public("instruments/status"))["instrumentStatus"]
    assert (await alice.public("history", symbol="PF_XBTUSD"))["result"] == "success"


async def test_wrong_signature_and_unknown_key(alice: KrakenRest, http: aiohttp.ClientSession,
                                               sim: SimHandle) -> None:
    _, other_secret = fresh_credentials()
    bad = await alice.get("openorders", secret=other_secret)
    assert bad["result"] == "error" and bad["error"] == "authenticationError"
    stranger = KrakenRest(http, sim)
    stranger.key, stranger.secret = fresh_credentials()
    r = await stranger.get("accounts")
    assert (r["result"], r["error"]) == ("error", "authenticationError")
    assert "serverTime" in r
    async with http.get(f"{sim.rest}/openorders") as resp:  # no headers at all
        assert resp.status == 200
        assert (await resp.json())["error"] == "authenticationError"


async def test_required_argument_checked_before_auth(http: aiohttp.ClientSession,
                                                     sim: SimHandle) -> None:
    async with http.post(f"{sim.rest}/sendorder", headers={"APIKey": "x", "Authent": "y"}) as r:
        assert (await r.json())["error"] == "requiredArgumentMissing"


async def test_every_post_data_form_is_accepted(alice: KrakenRest, http: aiohttp.ClientSession,
                                                sim: SimHandle) -> None:
    path = f"{REST}/orders/status"
    query = urlencode({"orderIds": ["a b", "c"]}, doseq=True)  # a+b
    for signed in (query, query.replace("+", " "), ""):  # raw, decoded, kraken-cli's ""
        h = alice.headers(path, signed, nonce=False)
        async with http.get(f"{sim.base}{path}?{query}", headers=h) as r:
            assert (await r.json())["result"] == "success", signed
    # ccxt style: POST with the parameters in the query string, no body, no nonce
    q = "orderType=lmt&symbol=PF_XBTUSD&side=buy&size=0.001&limitPrice=30000&cliOrdId=" + quote(
        "ccxt style", safe="")
    h = alice.headers(f"{REST}/sendorder", q, nonce=False)
    async with http.post(f"{sim.rest}/sendorder?{q}", headers=h) as r:
        body = await r.json()
    assert body["sendStatus"]["status"] == "placed"
    assert body["sendStatus"]["orderEvents"][0]["order"]["cliOrdId"] == "ccxt style"


async def test_nonce_rules(alice: KrakenRest, http: aiohttp.ClientSession, sim: SimHandle) -> None:
    path = f"{REST}/openorders"

    async def call(nonce: str) -> dict[str, object]:
        h = {"APIKey": sim.key, "Nonce": nonce,
             "Authent": auth.rest_authent(sim.secret, "", nonce, path)}
        async with http.get(sim.base + path, headers=h) as r:
            return await r.json()

    n = next_nonce()
    assert (await call(n))["result"] == "success"
    assert (await call(n))["error"] == "nonceDuplicate"
    await asyncio.sleep(1.1)  # beyond the tolerance window, lower nonces are refused
    assert (await call("1" + "0" * 12))["error"] == "nonceBelowThreshold"


async def test_order_rejections_are_success_envelopes(alice: KrakenRest) -> None:
    async def send(**p: object) -> dict[str, object]:
        r = await alice.post("sendorder", {"symbol": "PF_XBTUSD", "side": "buy", **p})
        assert r["result"] == "success", r
        return r["sendStatus"]

    assert (await send(orderType="lmt", size="0.00001", limitPrice="30000"))["status"] == \
        "invalidSize"
    assert (await send(orderType="lmt", size="0.001", limitPrice="30000.5"))["status"] == \
        "invalidPrice"
    assert (await send(orderType="lmt", size="500", limitPrice="30000"))["status"] == \
        "insufficientAvailableFunds"
    assert (await send(orderType="post", size="0.001", limitPrice="90000"))["status"] == \
        "postWouldExecute"
    assert (await send(orderType="ioc", size="0.001", limitPrice="30000"))["status"] == \
        "iocWouldNotExecute"
    assert (await send(orderType="lmt", size="0.001", limitPrice="30000",
                       reduceOnly="true"))["status"] == "wouldNotReducePosition"
    ok = await send(orderType="lmt", size="0.001", limitPrice="30000", cliOrdId="dup")
    assert ok["status"] == "placed" and "order_id" in ok
    assert (await send(orderType="lmt", size="0.001", limitPrice="30000", cliOrdId="dup"))[
        "status"] == "clientOrderIdAlreadyExist"
    edit = await alice.post("editorder", {"orderId": "nope", "size": "1"})
    assert edit["editStatus"]["status"] == "orderForEditNotFound"
    cancel = await alice.post("cancelorder", {"order_id": "nope"})
    assert cancel["cancelStatus"] == {"status": "notFound",
                                      "receivedTime": cancel["cancelStatus"]["receivedTime"]}
    bad = await alice.post("sendorder", {"orderType": "lmt", "symbol": "PF_XBTUSD",
                                         "side": "buy", "size": "abc"})
    assert bad["result"] == "error"


async def test_order_lifecycle_shapes(alice: KrakenRest) -> None:
    placed = await alice.post("sendorder", {"orderType": "lmt", "symbol": "pf_xbtusd",
                                            "side": "buy", "size": "0.002",
                                            "limitPrice": "30000", "cliOrdId": "life-1"})
    st = placed["sendStatus"]
    ev = st["orderEvents"][0]
    assert ev["type"] == "PLACE" and ev["order"]["symbol"] == "PF_XBTUSD"
    assert isinstance(ev["order"]["quantity"], float) and ev["order"]["limitPrice"] == 30000
    oid = st["order_id"]
    edited = await alice.post("editorder", {"cliOrdId": "life-1", "size": "0.003",
                                            "limitPrice": "30001"})
    es = edited["editStatus"]
    assert es["status"] == "edited" and es["orderId"] == oid
    assert es["orderEvents"][0]["old"]["quantity"] == 0.002
    assert es["orderEvents"][0]["new"]["limitPrice"] == 30001
    oo = await alice.get("openorders")
    mine = [o for o in oo["openOrders"] if o["order_id"] == oid]
    assert mine and mine[0]["cliOrdId"] == "life-1" and mine[0]["status"] == "untouched"
    status = await alice.post("orders/status", {"orderIds": oid})
    assert status["orders"][0]["status"] == "ENTERED_BOOK"
    assert status["orders"][0]["order"]["quantity"] == "0.003"  # string-typed here
    tp = await alice.post("sendorder", {"orderType": "take_profit", "symbol": "PF_XBTUSD",
                                        "side": "buy", "size": "0.001", "stopPrice": "20000",
                                        "limitPrice": "20000"})
    trig = tp["sendStatus"]["orderEvents"][0]["orderTrigger"]
    assert trig["triggerSide"] == "trigger_below" and trig["triggerSignal"] == "last_price"
    ca = await alice.post("cancelallorders", {"symbol": "PF_XBTUSD"})
    cs = ca["cancelStatus"]
    assert cs["status"] == "cancelled" and cs["cancelOnly"] == "PF_XBTUSD"
    assert {c["order_id"] for c in cs["cancelledOrders"]} >= {oid}
    numbers = [e["order"]["quantity"] for e in cs["orderEvents"]]
    assert all(isinstance(n, str) for n in numbers)  # Kraken quirk: strings here
    again = await alice.post("cancelallorders")
    assert again["cancelStatus"]["status"] == "noOrdersToCancel"


async def test_batchorder_raw_and_encoded(alice: KrakenRest) -> None:
    batch = {"batchOrder": [
        {"order": "send", "order_tag": "1", "orderType": "lmt", "symbol": "PF_XBTUSD",
         "side": "buy", "size": 0.001, "limitPrice": 30000.0, "cliOrdId": "b1"},
        {"order": "send", "order_tag": "2", "orderType": "lmt", "symbol": "PF_XBTUSD",
         "side": "buy", "size": "0.001", "limitPrice": "30001"},
        {"order": "cancel", "cliOrdId": "b1"},
        {"order": "cancel", "order_id": "nope"},
        {"order": "send"},
    ]}
    raw = await alice.post("batchorder", body="json=" + json.dumps(batch, separators=(",", ":")),
                           nonce=False)  # ccxt: raw JSON, no nonce
    assert "batchStatus" in raw, raw
    st = [s["status"] for s in raw["batchStatus"]]
    assert st == ["placed", "placed", "cancelled", "notFound", "requiredArgumentMissing"]
    assert raw["batchStatus"][0]["order_tag"] == "1"
    assert isinstance(raw["batchStatus"][2]["orderEvents"][0]["order"]["quantity"], str)
    batch["batchOrder"] = [{"order": "edit", "order_tag": "e", "order_id":
                            raw["batchStatus"][1]["order_id"], "limitPrice": 30002}]
    enc = await alice.post("batchorder", {"json": json.dumps(batch)})  # sdk: url-encoded
    assert enc["batchStatus"][0]["status"] == "edited"


async def test_rate_budget(alice: KrakenRest, bob: KrakenRest) -> None:
    # cancelallorders costs 25: twenty calls spend the 500 budget, the next is refused
    answers = [await bob.post("cancelallorders") for _ in range(22)]
    errors = [a.get("error") for a in answers]
    assert "apiLimitExceeded" in errors
    assert errors[:19] == [None] * 19
    assert (await alice.get("openorders"))["result"] == "success"  # per key
    await asyncio.sleep(0.6)  # 50 tokens per second refill
    assert (await bob.post("cancelallorders"))["result"] == "success"


async def test_accounts_positions_fills(alice: KrakenRest, bob: KrakenRest) -> None:
    book = await alice.admin("book/PF_XBTUSD")
    price = book["bids"][0][0] - 100
    placed = await alice.post("sendorder", {"orderType": "lmt", "symbol": "PF_XBTUSD",
                                            "side": "buy", "size": "0.01",
                                            "limitPrice": str(price)})
    oid = placed["sendStatus"]["order_id"]
    await alice.admin("trade", symbol="PF_XBTUSD", price=price)
    fills = await alice.get("fills")
    f = next(x for x in fills["fills"] if x["order_id"] == oid)
    assert f["fillType"] == "maker" and f["side"] == "buy" and f["size"] == 0.01
    pos = await alice.get("openpositions")
    p = next(x for x in pos["openPositions"] if x["symbol"] == "PF_XBTUSD")
    assert p["side"] == "long" and p["size"] >= 0.01
    acc = (await alice.get("accounts"))["accounts"]
    assert acc["flex"]["type"] == "multiCollateralMarginAccount"
    assert acc["flex"]["initialMargin"] > 0
    assert acc["fi_xbtusd"]["type"] == "marginAccount"
    done = await alice.post("orders/status", {"orderIds": oid})
    assert done["orders"][0]["status"] == "FULLY_EXECUTED"
    close = await alice.post("sendorder", {"orderType": "mkt", "symbol": "PF_XBTUSD",
                                           "side": "sell", "size": str(p["size"]),
                                           "reduceOnly": "true"})
    ex = close["sendStatus"]["orderEvents"]
    assert ex and ex[0]["type"] == "EXECUTION"
    assert ex[0]["orderPriorExecution"]["type"] == "ioc"


async def test_malformed_requests_never_crash(http: aiohttp.ClientSession, alice: KrakenRest,
                                              sim: SimHandle) -> None:
    r = await alice.post("batchorder", body="json={not json", nonce=False)
    assert r["result"] == "error"
    async with http.post(f"{sim.rest}/sendorder", data=b"\xff" * 2_000_000) as resp:
        assert resp.status in (200, 413)
    async with http.get(f"{sim.rest}/nonexistent") as resp:
        assert resp.status == 404
    r = await alice.post("cancelallordersafter", {"timeout": "soon"})
    assert r["result"] == "error"
    assert (await alice.public("tickers"))["result"] == "success"


async def test_dead_mans_switch_over_rest_and_ws(alice: KrakenRest, sim: SimHandle,
                                                 http: aiohttp.ClientSession) -> None:
    from tests.sim.harness import recv_until, ws_login

    async with http.ws_connect(sim.ws_url) as ws:
        _, ack = await ws_login(ws, sim.key, sim.secret, "open_orders")
        assert ack["event"] == "subscribed"
        await alice.post("sendorder", {"orderType": "lmt", "symbol": "PF_ETHUSD", "side": "buy",
                                       "size": "0.01", "limitPrice": "1000"})
        armed = await alice.post("cancelallordersafter", {"timeout": "60"})
        assert armed["status"]["triggerTime"] != "0"
        off = await alice.post("cancelallordersafter", {"timeout": "0"})
        assert off["status"]["triggerTime"] == "0"
        await alice.post("cancelallordersafter", {"timeout": "1"})
        msg, _ = await recv_until(ws, lambda m: m.get("is_cancel") is True, timeout=4)
        assert msg["reason"] == "dead_man_switch"
    assert (await alice.get("openorders"))["openOrders"] == []


