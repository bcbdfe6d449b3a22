"""The drop-copy listener as a real process against a real ``kgw sim`` process: orders placed
with signed REST, filled by moving the simulated market, faults injected through ``/_sim/``,
and everything observed on the real ZeroMQ bus."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from common.bus import DealerClient
from common.messages import (
    CancelReason,
    ConnectionStatus,
    DownloadBegin,
    DownloadEnd,
    ErrorCode,
    ErrorReply,
    FundsUpdate,
    Liquidity,
    Message,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionUpdate,
    SnapshotEnd,
    SnapshotEntry,
    SnapshotRequest,
    StreamStatus,
    TradeUpdate,
    UpdateType,
)
from tests.dropcopy.harness import BusLog, Stack, Trader, bus_log, run_stack

SYMBOL = "PF_XBTUSD"
_ids = itertools.count(1)


def cli() -> tuple[int, str]:
    n = next(_ids)
    return n, f"k1.tester.{n}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with run_stack(tmp_path_factory.mktemp("dropcopy")) as s:
        yield s


@pytest.fixture
async def bus(stack: Stack) -> AsyncIterator[BusLog]:
    async with bus_log(stack.pub) as log:
        yield log


@pytest.fixture
async def trader(stack: Stack) -> AsyncIterator[Trader]:
    t = Trader(stack)
    yield t
    await t.admin("fault/clear")
    await t.call("cancelallorders")
    await t.close()


async def download(endpoint: str, prefixes: list[str], request_id: str = "") -> list[Message]:
    """One request to the download service: its SnapshotEntry replies then SnapshotEnd."""
    dealer = DealerClient(endpoint)
    await dealer.start()
    try:
        dealer.send(SnapshotRequest(request_id=request_id, topics=prefixes))
        return await dealer.collect(lambda m: isinstance(m, SnapshotEnd), timeout=5.0)
    finally:
        await dealer.close()


def transitions(bus: BusLog, start: int = 0) -> list[ConnectionStatus]:
    """StreamStatus values from ``start``, periodic repeats folded."""
    out: list[ConnectionStatus] = []
    for s in bus.of(StreamStatus, start=start):
        if not out or out[-1] is not s.connection_status:
            out.append(s.connection_status)
    return out


def index_of(bus: BusLog, msg: object) -> int:
    return next(i for i, (_, m) in enumerate(bus.messages) if m is msg)


def statuses(bus: BusLog, order_id: int, start: int = 0) -> list[OrderStatus]:
    return [u.status for u in bus.of(OrderUpdate, lambda u: u.order_id == order_id, start=start)]


async def two_resting_bids(bus: BusLog, trader: Trader, size: float) -> tuple[float, tuple[int, str], tuple[int, str]]:
    """Two buys below the market, both WORKING: the first (``size``) 200 under the best bid,
    the second (0.01) 300 under. Returns (best bid, first ids, second ids)."""
    bid = float((await trader.book(SYMBOL))["bids"][0][0])
    first, second = cli(), cli()
    for (oid, cid), qty, below in ((first, size, 200), (second, 0.01, 300)):
        await trader.send(orderType="lmt", symbol=SYMBOL, side="buy", size=qty, limitPrice=bid - below, cliOrdId=cid)
        await final(bus, oid, OrderStatus.WORKING)
    return bid, first, second


async def final(bus: BusLog, order_id: int, status: OrderStatus, start: int = 0) -> OrderUpdate:
    return await bus.wait(OrderUpdate, lambda u: u.order_id == order_id and u.status is status, start=start)


async def test_partial_fill_modify_cancel(bus: BusLog, trader: Trader) -> None:
    """A buy through the best ask fills partly (before its open-order event), rests, is
    reduced by editorder and then cancelled."""
    book = await trader.book(SYMBOL)
    ask_px, ask_qty = book["asks"][0]
    oid, cid = cli()
    size = round(ask_qty + 0.5, 4)
    answer = await trader.send(orderType="lmt", symbol=SYMBOL, side="buy", size=size, limitPrice=ask_px, cliOrdId=cid)
    exchange_id = answer["sendStatus"]["order_id"]
    trade = await bus.wait(TradeUpdate, lambda t: t.order_id == oid)
    assert (trade.quantity, trade.price, trade.liquidity, trade.exchange_order_id) == (
        ask_qty, ask_px, Liquidity.TAKER, exchange_id)
    assert trade.fee > 0 and trade.fee_currency == "USD"
    working = await final(bus, oid, OrderStatus.PARTIALLY_FILLED)
    assert working.remaining_quantity == pytest.approx(size - ask_qty)
    assert (working.traded_quantity, working.average_traded_price) == (pytest.approx(ask_qty), ask_px)
    new_size = round(ask_qty + 0.2, 4)
    await trader.call("editorder", orderId=exchange_id, size=new_size)
    edited = await bus.wait(OrderUpdate, lambda u: u.order_id == oid and u.quantity == pytest.approx(new_size))
    assert edited.status is OrderStatus.PARTIALLY_FILLED
    assert edited.remaining_quantity == pytest.approx(0.2)
    await trader.call("cancelorder", order_id=exchange_id)
    done = await final(bus, oid, OrderStatus.CANCELLED)
    assert (done.cancel_reason, done.remaining_quantity, done.traded_quantity) == (
        CancelReason.USER, 0.0, pytest.approx(ask_qty))
    await bus.quiet()
    assert len(bus.of(TradeUpdate, lambda t: t.order_id == oid)) == 1
    assert statuses(bus, oid)[-1] is OrderStatus.CANCELLED
    assert {u.update_type for u in bus.of(OrderUpdate)} == {UpdateType.INCREMENTAL}


async def test_resting_order_filled_by_the_market(bus: BusLog, trader: Trader) -> None:
    book = await trader.book(SYMBOL)
    px = book["bids"][0][0] - 100
    oid, cid = cli()
    await trader.send(orderType="lmt", symbol=SYMBOL, side="buy", size=0.01, limitPrice=px, cliOrdId=cid)
    placed = await final(bus, oid, OrderStatus.WORKING)
    assert (placed.quantity, placed.price, placed.client_order_id) == (0.01, px, cid)
    await trader.admin("price", symbol=SYMBOL, price=px - 50)
    filled = await final(bus, oid, OrderStatus.FILLED)
    assert (filled.traded_quantity, filled.remaining_quantity, filled.average_traded_price) == (0.01, 0.0, px)
    [trade] = bus.of(TradeUpdate, lambda t: t.order_id == oid)
    assert trade.liquidity is Liquidity.MAKER and trade.fee > 0
    await trader.admin("price", symbol=SYMBOL, price=book["bids"][0][0])  # back where it was
    await bus.quiet()
    assert statuses(bus, oid) == [OrderStatus.WORKING, OrderStatus.FILLED]


@pytest.mark.parametrize("mode", ["ws_first", "rest_first"])
async def test_fast_fills_race_the_rest_answer(bus: BusLog, trader: Trader, mode: str) -> None:
    """A market order fills at once and never appears as an open order; a crossing limit's
    fill precedes its open-order event. Whether the WebSocket or the REST answer comes first,
    the final state is the same."""
    await trader.admin("fault/private_order", mode=mode, hold_ms=200)
    oid, cid = cli()
    await trader.send(orderType="mkt", symbol=SYMBOL, side="buy", size=0.02, cliOrdId=cid)
    done = await final(bus, oid, OrderStatus.FILLED)
    assert (done.quantity, done.traded_quantity, done.remaining_quantity) == (0.02, pytest.approx(0.02), 0.0)
    assert done.average_traded_price is not None
    book = await trader.book(SYMBOL)
    ask_px, ask_qty = book["asks"][0]
    oid2, cid2 = cli()
    await trader.send(orderType="lmt", symbol=SYMBOL, side="buy", size=round(ask_qty + 0.3, 4),
                      limitPrice=ask_px, cliOrdId=cid2)
    part = await final(bus, oid2, OrderStatus.PARTIALLY_FILLED)
    assert part.remaining_quantity == pytest.approx(0.3)
    await trader.call("cancelorder", cliOrdId=cid2)
    await final(bus, oid2, OrderStatus.CANCELLED)
    await bus.quiet()
    assert statuses(bus, oid) == [OrderStatus.FILLED]
    assert len(bus.of(TradeUpdate, lambda t: t.order_id in (oid, oid2))) == len(
        {t.trade_id for t in bus.of(TradeUpdate, lambda t: t.order_id in (oid, oid2))})
    await trader.send(orderType="mkt", symbol=SYMBOL, side="sell", size=round(0.02 + ask_qty, 4))  # flatten


async def test_closed_position_is_published_as_zero(bus: BusLog, trader: Trader) -> None:
    await trader.send(orderType="mkt", symbol="PF_ETHUSD", side="buy", size=0.5)
    opened = await bus.wait(PositionUpdate, lambda p: p.symbol == "PF_ETHUSD" and p.position == 0.5)
    assert opened.average_price is not None
    await trader.send(orderType="mkt", symbol="PF_ETHUSD", side="sell", size=0.5)
    closed = await bus.wait(PositionUpdate, lambda p: p.symbol == "PF_ETHUSD" and p.position == 0.0)
    assert (closed.average_price, closed.update_type) == (None, UpdateType.INCREMENTAL)
    assert bus.of(FundsUpdate, lambda f: f.currency == "USD")


async def test_gap_while_disconnected_is_published_once(bus: BusLog, trader: Trader, stack: Stack) -> None:
    """The simulator withholds private updates (the connection goes silent, so the drop-copy
    drops it and reconnects with a fresh challenge); meanwhile an order fills and another is
    cancelled. Both are published exactly once, inside the reconnection's download."""
    bid, (fill_id, _), (cancel_id, cancel_cli) = await two_resting_bids(bus, trader, 0.01)
    mark = bus.mark()
    stall_over = asyncio.get_running_loop().time() + 1.6
    await trader.admin("fault/stall", seconds=1.6)
    await trader.admin("price", symbol=SYMBOL, price=bid - 250)  # fills the first order
    await trader.call("cancelorder", cliOrdId=cancel_cli)
    begin = await bus.wait(DownloadBegin, start=mark, timeout=8.0)
    end = await bus.wait(DownloadEnd, start=mark, timeout=8.0)
    assert begin.account == end.account == "main"
    await bus.wait(StreamStatus, lambda s: s.connection_status is ConnectionStatus.READY, start=index_of(bus, end))
    seen = transitions(bus, mark)
    assert seen[seen.index(ConnectionStatus.DISCONNECTED):][:5] == [
        ConnectionStatus.DISCONNECTED, ConnectionStatus.CONNECTING, ConnectionStatus.LOGIN_SENT,
        ConnectionStatus.DOWNLOADING, ConnectionStatus.READY]
    filled = await final(bus, fill_id, OrderStatus.FILLED, start=mark)
    cancelled = await final(bus, cancel_id, OrderStatus.CANCELLED, start=mark)
    assert filled.traded_quantity == 0.01 and filled.average_traded_price == bid - 200
    assert cancelled.cancel_reason is CancelReason.OTHER  # the cancel event itself was lost
    trade = await bus.wait(TradeUpdate, lambda t: t.order_id == fill_id, start=mark)
    # published inside the download bracket, between DownloadBegin and DownloadEnd
    assert index_of(bus, begin) < index_of(bus, trade) < index_of(bus, end)
    assert index_of(bus, begin) < index_of(bus, filled) < index_of(bus, end)
    await trader.admin("price", symbol=SYMBOL, price=bid)
    await bus.quiet(0.5)
    assert len(bus.of(TradeUpdate, lambda t: t.order_id == fill_id)) == 1
    assert statuses(bus, fill_id) == [OrderStatus.WORKING, OrderStatus.FILLED]
    assert statuses(bus, cancel_id) == [OrderStatus.WORKING, OrderStatus.CANCELLED]
    await asyncio.sleep(max(0.0, stall_over - asyncio.get_running_loop().time()) + 0.2)
    await trader.send(orderType="mkt", symbol=SYMBOL, side="sell", size=0.01)  # flatten


async def test_network_outage_is_reconciled_once(bus: BusLog, trader: Trader, stack: Stack) -> None:
    """The network to Kraken is cut (connections aborted, new ones refused); meanwhile a
    resting order fills, another is cancelled and a market order fills at once. When the
    network returns, the drop-copy reconnects with a fresh challenge and publishes each of
    those once, inside the download."""
    bid, (rest_id, _), (cancel_id, cancel_cli) = await two_resting_bids(bus, trader, 0.02)
    fast_id, fast_cli = cli()
    mark = bus.mark()
    stack.gate.cut()
    try:
        await bus.wait(StreamStatus, lambda s: s.connection_status is ConnectionStatus.DISCONNECTED, start=mark)
        await trader.admin("price", symbol=SYMBOL, price=bid - 250)
        await trader.call("cancelorder", cliOrdId=cancel_cli)
        await trader.send(orderType="mkt", symbol=SYMBOL, side="sell", size=0.01, cliOrdId=fast_cli)
        await asyncio.sleep(0.5)
        assert not bus.of(TradeUpdate, start=mark)  # nothing can be known while cut off
    finally:
        stack.gate.open()
    end = await bus.wait(DownloadEnd, start=mark, timeout=8.0)
    await bus.quiet(0.5)
    assert index_of(bus, bus.of(DownloadBegin, start=mark)[0]) < index_of(bus, end)
    gap = bus.of(TradeUpdate, start=mark)
    assert sorted(t.order_id or 0 for t in gap) == sorted([rest_id, fast_id]), gap
    assert all(t.update_type is UpdateType.INCREMENTAL for t in gap)
    rest_final = await final(bus, rest_id, OrderStatus.FILLED, start=mark)
    assert (rest_final.traded_quantity, rest_final.average_traded_price) == (0.02, bid - 200)
    cancelled = await final(bus, cancel_id, OrderStatus.CANCELLED, start=mark)
    assert cancelled.cancel_reason is CancelReason.OTHER and cancelled.remaining_quantity == 0.0
    fast = await final(bus, fast_id, OrderStatus.FILLED, start=mark)
    assert fast.order_type is OrderType.MARKET
    for oid in (rest_id, cancel_id, fast_id):
        assert len([s for s in statuses(bus, oid, mark) if s in (OrderStatus.FILLED, OrderStatus.CANCELLED)]) == 1
    await trader.admin("price", symbol=SYMBOL, price=bid)
    await trader.send(orderType="mkt", symbol=SYMBOL, side="sell", size=0.01)  # flatten


async def test_dropped_connection_reconnects_with_a_fresh_challenge(bus: BusLog, trader: Trader) -> None:
    """The simulator cuts the socket; the sim refuses a stale challenge, so reaching READY
    again proves a new one was asked for. Orders placed around the drop are published once."""
    oid, cid = cli()
    mark = bus.mark()
    await trader.admin("fault/drop")
    await trader.send(orderType="mkt", symbol=SYMBOL, side="buy", size=0.01, cliOrdId=cid)
    await bus.wait(StreamStatus, lambda s: s.connection_status is ConnectionStatus.READY, start=mark, timeout=8.0)
    await final(bus, oid, OrderStatus.FILLED)
    await bus.quiet(0.5)
    assert len(bus.of(TradeUpdate, lambda t: t.order_id == oid)) == 1
    assert not bus.of(StreamStatus, lambda s: "refused" in s.text, start=mark)
    await trader.send(orderType="mkt", symbol=SYMBOL, side="sell", size=0.01)


async def test_download_service_answers_with_current_seq(bus: BusLog, trader: Trader, stack: Stack) -> None:
    book = await trader.book(SYMBOL)
    oid, cid = cli()
    await trader.send(orderType="lmt", symbol=SYMBOL, side="sell", size=0.01, limitPrice=book["asks"][0][0] + 500,
                      cliOrdId=cid)
    await final(bus, oid, OrderStatus.WORKING)
    await bus.quiet()
    replies = await download(stack.download, ["oms.kraken-futures.main."], "r1")
    entries = [m for m in replies if isinstance(m, SnapshotEntry)]
    end = replies[-1]
    assert isinstance(end, SnapshotEnd) and end.count == len(entries) and end.request_id == "r1"
    orders = [e.message for e in entries if isinstance(e.message, OrderUpdate)]
    assert [o.order_id for o in orders if o.order_id == oid] == [oid]
    mine = next(o for o in orders if o.order_id == oid)
    assert mine.status is OrderStatus.WORKING
    assert any(isinstance(e.message, FundsUpdate) for e in entries)
    order_topic = "oms.kraken-futures.main.order."
    assert order_topic in {e.topic for e in entries}
    for e in entries:
        seen = [m for t, m in bus.messages if t == e.topic]
        if seen:  # topics that spoke while this test listened
            assert e.message.seq == seen[-1].seq, e.topic
        assert e.message.update_type is UpdateType.SNAPSHOT  # type: ignore[union-attr]
    # besides the current state, the recently finished orders and fills (bounded): a
    # subscriber that missed them in a gap recovers them from the snapshot
    filled_oid, filled_cid = cli()
    await trader.send(orderType="mkt", symbol=SYMBOL, side="buy", size=0.01, cliOrdId=filled_cid)
    await final(bus, filled_oid, OrderStatus.FILLED)
    await bus.quiet()
    replies = await download(stack.download, ["oms.kraken-futures.main."], "r2")
    again = [m for m in replies if isinstance(m, SnapshotEntry)]
    assert any(isinstance(e.message, OrderUpdate) and e.message.order_id == filled_oid
               and e.message.status is OrderStatus.FILLED for e in again)
    assert any(isinstance(e.message, TradeUpdate) and e.message.order_id == filled_oid for e in again)


async def test_first_download_publishes_existing_state(tmp_path: Path) -> None:
    """An order resting before the drop-copy starts is published as a SNAPSHOT inside the
    first download, after the connection's states in order."""
    with run_stack(tmp_path, dropcopy=False) as s:
        t = Trader(s)
        try:
            book = await t.book(SYMBOL)
            oid, cid = cli()
            await t.send(orderType="lmt", symbol=SYMBOL, side="buy", size=0.01, limitPrice=book["bids"][0][0] - 100,
                         cliOrdId=cid)
            await t.send(orderType="mkt", symbol=SYMBOL, side="buy", size=0.01)
            s.gate.cut()  # the first connection waits until the bus listener below is connected
            s.start_dropcopy(wait_ready=False)
            async with bus_log(s.pub) as bus:
                async with asyncio.timeout(10.0):
                    await bus.heard.wait()  # its heartbeat: nothing it publishes now is missed
                s.gate.open()
                await bus.wait(DownloadEnd, timeout=8.0)
                await bus.quiet()
                assert transitions(bus)[-4:] == [
                    ConnectionStatus.CONNECTING, ConnectionStatus.LOGIN_SENT, ConnectionStatus.DOWNLOADING,
                    ConnectionStatus.READY]
                kinds = [type(m).__name__ for _, m in bus.messages if not isinstance(m, StreamStatus)]
                assert kinds[0] == "DownloadBegin" and "DownloadEnd" in kinds
                [order] = bus.of(OrderUpdate, lambda u: u.order_id == oid)
                assert (order.status, order.update_type) == (OrderStatus.WORKING, UpdateType.SNAPSHOT)
                [pos] = bus.of(PositionUpdate)
                assert (pos.symbol, pos.position, pos.update_type) == (SYMBOL, 0.01, UpdateType.SNAPSHOT)
                [trade] = bus.of(TradeUpdate)
                assert trade.update_type is UpdateType.SNAPSHOT
            assert s.dropcopy is not None
            started = asyncio.get_running_loop().time()
            assert s.dropcopy.stop() == 0  # SIGTERM: a clean exit ...
            assert asyncio.get_running_loop().time() - started < 5.0  # ... within the 5 s contract
        finally:
            await t.close()


async def test_each_account_has_its_own_connection_and_topics(tmp_path: Path) -> None:
    with run_stack(tmp_path, extra='accounts = ["main", "other"]') as s:
        main, other = Trader(s), Trader(s, other=True)
        try:
            async with bus_log(s.pub) as bus:
                main_id, main_cli = cli()
                other_id, other_cli = cli()
                await main.send(orderType="mkt", symbol=SYMBOL, side="buy", size=0.01, cliOrdId=main_cli)
                await other.send(orderType="mkt", symbol=SYMBOL, side="sell", size=0.02, cliOrdId=other_cli)
                await bus.wait(PositionUpdate, lambda p: p.account == "other" and p.position == -0.02)
                await bus.wait(PositionUpdate, lambda p: p.account == "main" and p.position == 0.01)
                await bus.quiet()
                for topic, m in bus.messages:
                    if isinstance(m, (OrderUpdate, TradeUpdate, PositionUpdate, FundsUpdate)):
                        assert topic == f"oms.kraken-futures.{m.account}.{topic.split('.')[3]}."
                assert {t.order_id for t in bus.of(TradeUpdate, lambda t: t.account == "main")} == {main_id}
                assert {t.order_id for t in bus.of(TradeUpdate, lambda t: t.account == "other")} == {other_id}
            replies = await download(s.download, ["sys.dropcopy.stream."])
            streams = {e.message.stream: (e.message.account, e.message.connection_status)
                       for e in replies if isinstance(e, SnapshotEntry) and isinstance(e.message, StreamStatus)}
            assert streams == {"private-main": ("main", ConnectionStatus.READY),
                               "private-other": ("other", ConnectionStatus.READY)}
        finally:
            await main.close()
            await other.close()


async def test_post_only_that_would_take_is_rejected(bus: BusLog, trader: Trader) -> None:
    """Only the verbose feed reports it (Kraken: post-only failures are verbose-only)."""
    ask = float((await trader.book(SYMBOL))["asks"][0][0])
    oid, cid = cli()
    answer = await trader.send(orderType="post", symbol=SYMBOL, side="buy", size=0.01, limitPrice=ask, cliOrdId=cid)
    assert answer["sendStatus"]["status"] == "postWouldExecute"
    done = await bus.wait(OrderUpdate, lambda u: u.order_id == oid)
    assert (done.status, done.cancel_reason, done.traded_quantity, done.remaining_quantity) == (
        OrderStatus.REJECTED, CancelReason.POST_ONLY_WOULD_EXECUTE, 0.0, 0.0)


async def test_ioc_remainder_is_cancelled_after_its_fill(bus: BusLog, trader: Trader) -> None:
    ask, ask_qty = (await trader.book(SYMBOL))["asks"][0]
    oid, cid = cli()
    await trader.send(orderType="ioc", symbol=SYMBOL, side="buy", size=round(ask_qty + 0.1, 4), limitPrice=ask,
                      cliOrdId=cid)
    done = await final(bus, oid, OrderStatus.CANCELLED)
    assert (done.cancel_reason, done.traded_quantity, done.remaining_quantity) == (
        CancelReason.IOC_NOT_EXECUTED, pytest.approx(ask_qty), 0.0)
    assert len(bus.of(TradeUpdate, lambda t: t.order_id == oid)) == 1
    await trader.send(orderType="mkt", symbol=SYMBOL, side="sell", size=ask_qty)  # flatten


async def test_dead_man_switch_cancel_reason(bus: BusLog, trader: Trader) -> None:
    bid = float((await trader.book(SYMBOL))["bids"][0][0])
    oid, cid = cli()
    await trader.send(orderType="lmt", symbol=SYMBOL, side="buy", size=0.01, limitPrice=bid - 400, cliOrdId=cid)
    await final(bus, oid, OrderStatus.WORKING)
    await trader.call("cancelallordersafter", timeout=1)
    done = await final(bus, oid, OrderStatus.CANCELLED)
    assert done.cancel_reason is CancelReason.DEAD_MAN_SWITCH and done.text == "dead_man_switch"


async def test_reconciliation_rest_failures_fall_back_to_the_snapshots(bus: BusLog, trader: Trader,
                                                                          stack: Stack) -> None:
    """REST answers 503 during the reconnection's reconciliation: the download still ends,
    from the WebSocket snapshots alone, and the failures are counted."""
    mark = bus.mark()
    await trader.admin("fault/http_error", status=503, count=6)
    await trader.admin("fault/drop")
    await bus.wait(DownloadEnd, start=mark, timeout=10.0)
    await bus.wait(StreamStatus, lambda s: s.connection_status is ConnectionStatus.READY, start=mark)
    health = stack.dropcopy_health.replace("/health", "/metrics")
    async with trader.http.get(health) as r:
        text = await r.text()
    failures = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("kgw_dropcopy_reconcile_failures_total{"))
    assert failures >= 6


async def test_download_service_refuses_garbage_and_keeps_serving(stack: Stack) -> None:
    dealer = DealerClient(stack.download)
    await dealer.start()
    try:
        dealer.send_raw(b"{not json")
        dealer.send_raw(b'{"type":"CreateOrder","account":"main"}')
        dealer.send_raw(b'{"type":"Heartbeat","service":"x"}')
        errors = [await dealer.recv(5.0) for _ in range(3)]
        assert [e.error for e in errors if isinstance(e, ErrorReply)] == [
            ErrorCode.PARSE_ERROR, ErrorCode.INVALID_MESSAGE, ErrorCode.UNSUPPORTED_REQUEST]
    finally:
        await dealer.close()
    replies = await download(stack.download, ["oms.kraken-futures.main.funds."], "after")
    assert replies[-1].request_id == "after" and len(replies) >= 2  # type: ignore[attr-defined]


async def test_triggered_stop_is_not_a_cancel(bus: BusLog, trader: Trader) -> None:
    """Kraken removes the stop (``is_cancel`` true, reason stop_order_triggered) and continues
    it under the same order id: that removal is not a cancel, the client sees WORKING then
    FILLED of its STOP, with its stop price."""
    ask = float((await trader.book(SYMBOL))["asks"][0][0])
    oid, cid = cli()
    stop, limit = ask + 20, ask + 200
    await trader.send(orderType="stp", symbol=SYMBOL, side="buy", size=0.01, stopPrice=stop, limitPrice=limit,
                      triggerSignal="last", cliOrdId=cid)
    placed = await final(bus, oid, OrderStatus.WORKING)
    assert (placed.order_type, placed.stop_price, placed.price) == (OrderType.STOP, stop, limit)
    await trader.admin("trade", symbol=SYMBOL, price=stop)
    done = await final(bus, oid, OrderStatus.FILLED)
    assert (done.order_type, done.stop_price, done.traded_quantity) == (OrderType.STOP, stop, 0.01)
    assert len(bus.of(TradeUpdate, lambda t: t.order_id == oid)) == 1
    await bus.quiet()
    assert statuses(bus, oid) == [OrderStatus.WORKING, OrderStatus.FILLED]
    await trader.send(orderType="mkt", symbol=SYMBOL, side="sell", size=0.01)  # flatten
