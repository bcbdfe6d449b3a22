"""python-kraken-sdk, unchanged, against a real ``kgw sim``: only its base URL is pointed at
the simulator (``url=`` of Trade/User/Market; ``url=`` of FuturesWSClient, which always
prepends ``wss://`` and therefore talks to the simulator's TLS listener)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kraken.exceptions import KrakenAuthenticationError
from kraken.futures import FuturesWSClient, Market, Trade, User

from tests.conformance.conftest import TlsSim
from tests.sim.harness import fresh_credentials


def clients(tls_sim: TlsSim) -> tuple[Market, Trade, User]:
    h = tls_sim.handle
    return (Market(url=h.base), Trade(key=h.key, secret=h.secret, url=h.base),
            User(key=h.key, secret=h.secret, url=h.base))


def test_market_data(tls_sim: TlsSim) -> None:
    market, _, _ = clients(tls_sim)
    symbols = {i["symbol"] for i in market.get_instruments()["instruments"]}
    assert {"PI_XBTUSD", "PF_XBTUSD", "PF_ETHUSD"} <= symbols
    assert market.get_tickers()["tickers"]
    book = market.get_orderbook(symbol="PF_XBTUSD")["orderBook"]
    assert book["bids"][0][0] < book["asks"][0][0]
    assert market.get_instruments_status()["instrumentStatus"]
    assert "history" in market.get_trade_history(symbol="PF_XBTUSD")


def test_order_entry_and_account(tls_sim: TlsSim) -> None:
    _, trade, user = clients(tls_sim)
    r = trade.create_order(orderType="lmt", side="buy", size=0.001, limitPrice=30000,
                           symbol="PF_XBTUSD", cliOrdId="sdk-1", reduceOnly=False)
    assert r["sendStatus"]["status"] == "placed"
    oid = r["sendStatus"]["order_id"]
    assert trade.edit_order(orderId=oid, limitPrice=30001, size=0.002)["editStatus"][
        "status"] == "edited"
    opened = user.get_open_orders()["openOrders"]
    assert any(o["order_id"] == oid and o["limitPrice"] == 30001 for o in opened)
    assert trade.get_orders_status(orderIds=[oid])["orders"][0]["status"] == "ENTERED_BOOK"
    assert trade.cancel_order(cliOrdId="sdk-1")["cancelStatus"]["status"] == "cancelled"
    trade.create_order(orderType="post", side="sell", size=0.01, limitPrice=90000,
                       symbol="PF_ETHUSD")
    batch = trade.create_batch_order(batchorder_list=[
        {"order": "send", "order_tag": "1", "orderType": "lmt", "symbol": "PF_XBTUSD",
         "side": "buy", "size": 0.001, "limitPrice": 30000.0}])
    assert batch["batchStatus"][0]["status"] == "placed"
    assert trade.cancel_all_orders()["cancelStatus"]["status"] == "cancelled"
    assert trade.dead_mans_switch(timeout=60)["status"]["triggerTime"] != "0"
    assert trade.dead_mans_switch(timeout=0)["status"]["triggerTime"] == "0"
    wallets = user.get_wallets()["accounts"]
    assert wallets["flex"]["type"] == "multiCollateralMarginAccount"
    assert isinstance(user.get_open_positions()["openPositions"], list)
    assert isinstance(trade.get_fills()["fills"], list)


def test_wrong_key_is_authentication_error(tls_sim: TlsSim) -> None:
    key, secret = fresh_credentials()
    with pytest.raises(KrakenAuthenticationError):
        User(key=key, secret=secret, url=tls_sim.handle.base).get_open_orders()


async def test_websocket_public_and_private(tls_sim: TlsSim,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_sim.cert))
    h = tls_sim.handle
    got: list[dict[str, Any]] = []

    async def on_message(msg: dict[str, Any]) -> None:
        got.append(msg)

    async def wait_for(pred: Any, timeout: float = 8.0) -> dict[str, Any]:
        for _ in range(int(timeout / 0.05)):
            for m in got:
                if pred(m):
                    return m
            await asyncio.sleep(0.05)
        raise AssertionError(f"not seen; got {[m.get('feed') or m.get('event') for m in got]}")

    client = FuturesWSClient(key=h.key, secret=h.secret, url=f"127.0.0.1:{tls_sim.tls_port}/ws/v1",
                             callback=on_message)
    await client.start()
    try:
        await client.subscribe(feed="book", products=["PF_XBTUSD"])
        await client.subscribe(feed="ticker", products=["PF_XBTUSD"])
        await client.subscribe(feed="open_orders")
        await client.subscribe(feed="fills")
        await wait_for(lambda m: m.get("feed") == "book_snapshot")
        await wait_for(lambda m: m.get("feed") == "book")
        await wait_for(lambda m: m.get("feed") == "ticker" and "event" not in m)
        await wait_for(lambda m: m.get("feed") == "open_orders_snapshot")
        await wait_for(lambda m: m.get("feed") == "fills_snapshot")
        trade = Trade(key=h.key, secret=h.secret, url=h.base)
        book = Market(url=h.base).get_orderbook(symbol="PF_XBTUSD")["orderBook"]
        price = book["bids"][1][0]
        r = await asyncio.to_thread(trade.create_order, orderType="lmt", side="buy",
                                    size=0.001, limitPrice=price, symbol="PF_XBTUSD")
        oid = r["sendStatus"]["order_id"]
        await wait_for(lambda m: m.get("feed") == "open_orders"
                       and m.get("order", {}).get("order_id") == oid)
        import aiohttp

        async with aiohttp.ClientSession() as s, s.post(
                f"{h.base}/_sim/trade", json={"symbol": "PF_XBTUSD", "price": price}) as resp:
            assert resp.status == 200
        fill = await wait_for(lambda m: m.get("feed") == "fills" and "event" not in m
                              and any(f["order_id"] == oid for f in m["fills"]))
        assert fill["fills"][0]["buy"] is True
        await asyncio.to_thread(trade.create_order, orderType="mkt", side="sell", size=0.001,
                                symbol="PF_XBTUSD", reduceOnly=True)
    finally:
        await client.close()
