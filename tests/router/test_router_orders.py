"""The router as a real process against a real simulator: every order type, modify, cancel,
cancel-all, every gateway rejection, malformed frames, exchange rejections, a timed-out REST
answer, HTTP 5xx, Kraken's apiLimitExceeded, our own rate budget, heartbeats, and the bus
record of every request and ack."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from common.bus import Received, Subscriber
from common.messages import (
    CancelAllOrders,
    CancelAllOrdersAck,
    CancelOrder,
    CreateOrder,
    ErrorCode,
    ErrorReply,
    ModifyOrder,
    OrderAck,
    OrderType,
    Origin,
    RequestStatus,
    Side,
    TimeInForce,
    decode,
)
from tests.router.conftest import Sim
from tests.router.harness import Client, RouterProc, final_acks, next_order_id, open_cli_ord_ids, router_config

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def router(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RouterProc]:
    r = router_config(tmp_path_factory.mktemp("router"), sim,
                      router="curve = false\nrequest_timeout = 1.0\ndms_refresh = 60.0\ndms_timeout = 120\n"
                             "client_timeout = 3.0\n")
    r.start()
    try:
        yield r
    finally:
        r.proc.stop()


def limit(order_id: int, price: float = 30000.0, **kw: Any) -> CreateOrder:
    fields: dict[str, Any] = {"account": "main", "order_id": order_id, "request_id": f"r{order_id}",
                              "symbol": "PF_XBTUSD", "side": Side.BUY, "order_type": OrderType.LIMIT,
                              "quantity": 0.001, "price": price, **kw}
    return CreateOrder(**fields)


async def test_limit_modify_cancel_round_trip(router: RouterProc, sim: Sim) -> None:
    oid = next_order_id()
    async with Client(router.orders) as c:
        c.send(limit(oid))
        acks = await c.final_ack(oid)
        assert [(a.origin, a.status) for a in acks] == [(Origin.GATEWAY, RequestStatus.FORWARDED),
                                                       (Origin.EXCHANGE, RequestStatus.ACCEPTED)]
        assert acks[-1].client_order_id == f"k1.dev.{oid}" and acks[-1].exchange_order_id
        assert acks[-1].request_id == f"r{oid}"
        assert f"k1.dev.{oid}" in await open_cli_ord_ids(sim)
        c.send(ModifyOrder(account="main", order_id=oid, request_id="m", price=30001.0, quantity=0.002))
        acks = await c.final_ack(oid)
        assert acks[-1].status is RequestStatus.ACCEPTED and acks[-1].text == "edited"
        c.send(CancelOrder(account="main", order_id=oid, request_id="c"))
        acks = await c.final_ack(oid)
        assert acks[-1].status is RequestStatus.ACCEPTED and acks[-1].request_id == "c"
        assert f"k1.dev.{oid}" not in await open_cli_ord_ids(sim)
        c.send(CancelOrder(account="main", order_id=oid))
        acks = await c.final_ack(oid)
        assert (acks[-1].origin, acks[-1].error) == (Origin.GATEWAY, ErrorCode.ORDER_FINISHED)


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({"order_type": OrderType.MARKET, "price": None}, RequestStatus.ACCEPTED, None),
        ({"price": 90000.0, "post_only": True}, RequestStatus.REJECTED, ErrorCode.POST_ONLY_WOULD_EXECUTE),
        ({"price": 30000.0, "time_in_force": TimeInForce.IOC}, RequestStatus.REJECTED, ErrorCode.IOC_WOULD_NOT_EXECUTE),
        ({"price": 90000.0, "time_in_force": TimeInForce.IOC}, RequestStatus.ACCEPTED, None),
        ({"order_type": OrderType.STOP, "price": None, "stop_price": 90000.0}, RequestStatus.ACCEPTED, None),
        ({"order_type": OrderType.STOP, "price": 90001.0, "stop_price": 90000.0}, RequestStatus.ACCEPTED, None),
        ({"order_type": OrderType.TAKE_PROFIT, "price": None, "stop_price": 30000.0}, RequestStatus.ACCEPTED, None),
        ({"price": 30000.0, "post_only": True}, RequestStatus.ACCEPTED, None),
        ({"symbol": "PI_XBTUSD", "quantity": 10.0, "price": 30000.0, "reduce_only": True},
         RequestStatus.REJECTED, ErrorCode.WOULD_NOT_REDUCE_POSITION),
    ],
    ids=["market", "post-crossing", "ioc-no-fill", "ioc-fill", "stop-market", "stop-limit", "take-profit",
         "post-resting", "reduce-only-increasing"],
)
async def test_every_order_type(router: RouterProc, fields: dict[str, Any], status: RequestStatus,
                                error: ErrorCode | None) -> None:
    oid = next_order_id()
    async with Client(router.orders) as c:
        c.send(limit(oid, **fields))
        acks = await c.final_ack(oid)
    assert acks[0].status is RequestStatus.FORWARDED
    assert (acks[-1].origin, acks[-1].status, acks[-1].error) == (Origin.EXCHANGE, status, error), acks[-1].text


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"symbol": "PF_NOPEUSD"}, ErrorCode.INVALID_SYMBOL),
        ({"price": 30000.5}, ErrorCode.INVALID_PRICE),
        ({"quantity": 0.00015}, ErrorCode.INVALID_QUANTITY),
        ({"quantity": 5000.0}, ErrorCode.INVALID_QUANTITY),
        ({"quantity": 0.0}, ErrorCode.INVALID_QUANTITY),
        ({"price": None}, ErrorCode.INVALID_PRICE),
        ({"order_type": OrderType.MARKET}, ErrorCode.INVALID_ORDER_TYPE),
        ({"post_only": True, "time_in_force": TimeInForce.IOC}, ErrorCode.INVALID_TIME_IN_FORCE),
        ({"order_type": OrderType.STOP, "stop_price": None}, ErrorCode.INVALID_PRICE),
        ({"order_type": OrderType.STOP, "stop_price": 1.5}, ErrorCode.INVALID_PRICE),
        ({"account": "nobody"}, ErrorCode.INVALID_ACCOUNT),
        ({"price": -1.0}, ErrorCode.INVALID_PRICE),
    ],
    ids=["symbol", "tick", "step", "max", "zero", "limit-no-price", "market-with-price", "post-ioc",
         "stop-no-trigger", "stop-off-tick", "account", "negative-price"],
)
async def test_gateway_rejections_never_reach_kraken(router: RouterProc, fields: dict[str, Any],
                                                     error: ErrorCode) -> None:
    oid = next_order_id()
    async with Client(router.orders) as c:
        c.send(limit(oid, **fields))
        acks = await c.final_ack(oid)
    assert len(acks) == 1 and acks[0].origin is Origin.GATEWAY
    assert (acks[0].status, acks[0].error) == (RequestStatus.REJECTED, error), acks[0].text


async def test_duplicate_unknown_and_finished_orders(router: RouterProc) -> None:
    oid = next_order_id()
    async with Client(router.orders) as c:
        c.send(limit(oid))
        c.send(limit(oid))  # a client retry: must not be sent twice
        first = await c.until(lambda m: isinstance(m, OrderAck) and m.error is ErrorCode.DUPLICATE_ORDER_ID)
        assert isinstance(first[-1], OrderAck) and first[-1].origin is Origin.GATEWAY
        acks = await c.final_ack(oid)
        assert acks[-1].status is RequestStatus.ACCEPTED
        missing = next_order_id()
        reqs: list[ModifyOrder | CancelOrder] = [ModifyOrder(account="main", order_id=missing, price=1.0),
                                                 CancelOrder(account="main", order_id=missing)]
        for req in reqs:
            c.send(req)
            got = await c.final_ack(missing)
            assert got[-1].error is ErrorCode.UNKNOWN_ORDER
        c.send(ModifyOrder(account="main", order_id=oid, price=30000.3))
        assert (await c.final_ack(oid))[-1].error is ErrorCode.INVALID_PRICE
        c.send(ModifyOrder(account="main", order_id=oid))
        assert (await c.final_ack(oid))[-1].error is ErrorCode.INVALID_MESSAGE
        c.send(CancelOrder(account="main", order_id=oid))
        assert (await c.final_ack(oid))[-1].status is RequestStatus.ACCEPTED
        c.send(limit(oid))  # finished ids are never reusable either
        assert (await c.final_ack(oid))[-1].error is ErrorCode.DUPLICATE_ORDER_ID


async def test_malformed_frames_get_error_replies(router: RouterProc) -> None:
    async with Client(router.orders) as c:
        sock = c.dealer.sock
        cases: list[tuple[list[bytes], ErrorCode]] = [
            ([b"not json"], ErrorCode.PARSE_ERROR),
            ([b'{"type":"CreateOrder","account":"main","order_id":"x"}'], ErrorCode.INVALID_MESSAGE),
            ([b'{"type":"CreateOrder"}'], ErrorCode.INVALID_MESSAGE),
            ([b"{}", b"{}"], ErrorCode.INVALID_FRAMES),
            ([b"x" * 70_000], ErrorCode.OVERSIZED_MESSAGE),
            ([b'{"type":"TopOfBook","exchange":"k","symbol":"X","bid_price":null,"bid_quantity":0,'
              b'"ask_price":null,"ask_quantity":0}'], ErrorCode.UNSUPPORTED_REQUEST),
        ]
        for frames, code in cases:
            sock.send_multipart(frames)
            reply = (await c.until(lambda m: isinstance(m, ErrorReply)))[-1]
            assert isinstance(reply, ErrorReply) and reply.error is code, (frames[0][:40], reply)
        oid = next_order_id()
        c.send(limit(oid))
        assert (await c.final_ack(oid))[-1].status is RequestStatus.ACCEPTED


async def test_heartbeat_is_echoed(router: RouterProc) -> None:
    async with Client(router.orders, interval=0.05) as c:
        await asyncio.sleep(0.5)
        assert c.dealer._queue.qsize() + c.heartbeats > 3


async def test_cancel_all_counts_orders(router: RouterProc, sim: Sim) -> None:
    async with Client(router.orders) as c:
        ids = [next_order_id() for _ in range(3)]
        for i in ids:
            c.send(limit(i, symbol="PF_ETHUSD", price=1000.0, quantity=0.01))
        assert all(a.status is RequestStatus.ACCEPTED for a in (await final_acks(c, ids)).values())
        c.send(CancelAllOrders(account="main", request_id="all", symbol="PF_ETHUSD"))
        acks = await c.until(lambda m: isinstance(m, CancelAllOrdersAck) and m.status is not RequestStatus.FORWARDED)
        final = acks[-1]
        assert isinstance(final, CancelAllOrdersAck) and final.status is RequestStatus.ACCEPTED
        assert final.number_of_affected_orders == 3 and final.request_id == "all"
        assert not {f"k1.dev.{i}" for i in ids} & await open_cli_ord_ids(sim)
        c.send(CancelOrder(account="main", order_id=ids[0]))
        assert (await c.final_ack(ids[0]))[-1].error is ErrorCode.ORDER_FINISHED


async def test_rest_timeout_then_cancel_of_uncertain_order(router: RouterProc, sim: Sim) -> None:
    oid = next_order_id()
    async with Client(router.orders) as c:
        sim.admin("fault/rest_delay", {"seconds": 2.0})
        c.send(limit(oid))
        acks = await c.final_ack(oid)
        assert (acks[-1].status, acks[-1].error) == (RequestStatus.TIMEOUT, ErrorCode.TIMEOUT)
        await asyncio.sleep(1.5)
        # outcome unknown to the router: the order stays cancellable (by cliOrdId) and the
        # exchange, not the gateway, says whether it existed
        c.send(CancelOrder(account="main", order_id=oid))
        last = (await c.final_ack(oid))[-1]
        assert last.origin is Origin.EXCHANGE
        assert last.status is RequestStatus.ACCEPTED or last.error is ErrorCode.UNKNOWN_ORDER
        assert f"k1.dev.{oid}" not in await open_cli_ord_ids(sim)


async def test_http_5xx_and_exchange_rate_limit(router: RouterProc, sim: Sim) -> None:
    async with Client(router.orders) as c:
        oid = next_order_id()
        sim.admin("fault/http_error", {"status": 503})
        c.send(limit(oid))
        last = (await c.final_ack(oid))[-1]
        assert (last.origin, last.status, last.error) == (Origin.EXCHANGE, RequestStatus.REJECTED,
                                                          ErrorCode.EXCHANGE_ERROR)
        assert last.text.startswith("HTTP 503")
        c.send(CancelOrder(account="main", order_id=oid))  # a 5xx leaves the outcome open
        assert (await c.final_ack(oid))[-1].origin is Origin.EXCHANGE
        oid = next_order_id()
        sim.admin("fault/rate_limit")
        c.send(limit(oid))
        last = (await c.final_ack(oid))[-1]
        assert (last.origin, last.error, last.text) == (Origin.EXCHANGE, ErrorCode.RATE_LIMITED, "apiLimitExceeded")


async def test_own_rate_budget_refuses_before_kraken(router: RouterProc, sim: Sim) -> None:
    """Account "other" has its own budget of 500 tokens. A burst goes out partly as
    batchorders (9 + n tokens), so how many fit depends on how the burst batched: at least
    ~47 (10 tokens each, no batching, less a dead man's switch refresh), at most ~345
    (batches of 20 at 29 tokens). 400 orders exceed it either way: the rest is refused at the
    gateway without reaching Kraken."""
    async with Client(router.orders) as c:
        ids = [next_order_id() for _ in range(400)]
        for i in ids:
            c.send(limit(i, account="other", price=20000.0))
        finals = await final_acks(c, ids, timeout=30.0)  # a burst on a shared 2-core machine
        limited = [i for i in ids if finals[i].error is ErrorCode.RATE_LIMITED]
        assert limited and all(finals[i].origin is Origin.GATEWAY for i in limited)
        accepted = [i for i in ids if finals[i].status is RequestStatus.ACCEPTED]
        # 500 tokens less the dead man's switch refreshes (25 each) on the same key
        assert len(accepted) + len(limited) == len(ids) and len(accepted) >= 45
        open_ids = await open_cli_ord_ids(sim, sim.other_key, sim.other_secret)
        assert {f"k1.dev.{i}" for i in accepted} <= open_ids
        assert not {f"k1.dev.{i}" for i in limited} & open_ids


async def test_router_publishes_requests_and_acks(router: RouterProc) -> None:
    sub = Subscriber({"router": router.pub}, ["oms.kraken-futures.main."])
    await sub.start()
    await asyncio.sleep(0.3)  # subscription propagates
    oid = next_order_id()
    seen: list[tuple[str, str]] = []
    try:
        async with Client(router.orders) as c:
            c.send(limit(oid))
            await c.final_ack(oid)
            async def collect() -> None:
                async for batch in sub.batches():
                    for item in batch:
                        if isinstance(item, Received):
                            m = decode(item.payload)
                            if getattr(m, "order_id", None) == oid:
                                seen.append((item.topic.decode(), type(m).__name__))
                    if len(seen) >= 3:
                        return
            await asyncio.wait_for(collect(), 3.0)
    finally:
        await sub.close()
    assert seen == [("oms.kraken-futures.main.request.", "CreateOrder"), ("oms.kraken-futures.main.ack.", "OrderAck"),
                    ("oms.kraken-futures.main.ack.", "OrderAck")]


def test_zmq_has_curve() -> None:
    assert zmq.has("curve")
