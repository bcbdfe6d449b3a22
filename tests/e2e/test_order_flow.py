"""Router + drop-copy end to end, as real processes against a real ``kgw sim``: a client sends
an order through the router and receives, on its own DEALER socket, ack FORWARDED, ack
ACCEPTED and the OrderUpdates and TradeUpdates of its fill (the router routes the drop-copy's
updates to the order's owner), and sees its PositionUpdate and FundsUpdate on the drop-copy's
bus."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

from common.bus import DealerClient
from common.messages import (
    CreateOrder,
    FundsUpdate,
    Heartbeat,
    Message,
    OrderAck,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Origin,
    PositionUpdate,
    RequestStatus,
    Side,
    TradeUpdate,
)
from tests.dropcopy.harness import Stack, Trader, bus_log, run_stack
from tests.support.processes import KgwProcess, free_port

SYMBOL = "PF_XBTUSD"
ROUTER = """
[router]
metrics_port = {port}
curve = false
default_user = "dev"
client_timeout = 30.0
dms_refresh = 60.0
dms_timeout = 120

[router.users.dev]
accounts = ["main"]
symbols = ["*"]
"""


@contextlib.contextmanager
def running_router(stack: Stack) -> Iterator[KgwProcess]:
    """A ``kgw router`` on the stack's config (loopback, no CURVE, user ``dev``)."""
    port = free_port()
    stack.config.write_text(stack.config.read_text() + ROUTER.format(port=port))
    with KgwProcess(
        "router", "--config", str(stack.config), health_url=f"http://127.0.0.1:{port}/health", env=stack.env
    ) as proc:
        yield proc


@contextlib.asynccontextmanager
async def client(endpoint: str) -> AsyncIterator[DealerClient]:
    """A DEALER to the router that heartbeats like a well-behaved client."""
    dealer = DealerClient(endpoint)
    await dealer.start()

    async def beat() -> None:
        while True:
            dealer.send(Heartbeat(service="e2e-client"))
            await asyncio.sleep(1.0)

    task = asyncio.create_task(beat())
    try:
        yield dealer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await dealer.close()


async def replies_until(dealer: DealerClient, done: Callable[[list[Message]], bool], timeout: float = 20.0
                        ) -> list[Message]:
    """Replies (heartbeats left out) until ``done(replies)``; the timeout is generous because
    the machine may be loaded, and its error lists what did arrive."""
    out: list[Message] = []
    try:
        async with asyncio.timeout(timeout):
            while not done(out):
                msg = await dealer.recv()
                if not isinstance(msg, Heartbeat):
                    out.append(msg)
    except TimeoutError:
        raise AssertionError(f"condition not met in {timeout}s; replies: {out}") from None
    return out


async def test_order_through_router_fills_and_updates_reach_the_client(tmp_path: Path) -> None:
    with run_stack(tmp_path) as stack, running_router(stack):
        async with bus_log(stack.pub) as bus, client(stack.router_orders) as dealer:
            trader = Trader(stack)
            try:
                bid = float((await trader.book(SYMBOL))["bids"][0][0])
            finally:
                await trader.close()
            price = bid - 100
            dealer.send(CreateOrder(account="main", order_id=7001, request_id="e2e-1", symbol=SYMBOL,
                                    side=Side.BUY, order_type=OrderType.LIMIT, quantity=0.01, price=price))
            # the router's ACCEPTED (REST answer) and the drop-copy's WORKING (WebSocket) race:
            # either may come first
            first = await replies_until(dealer, lambda r: any(
                isinstance(m, OrderUpdate) and m.status is OrderStatus.WORKING for m in r) and any(
                isinstance(m, OrderAck) and m.status is RequestStatus.ACCEPTED for m in r))
            acks = [m for m in first if isinstance(m, OrderAck)]
            assert [(a.origin, a.status) for a in acks] == [
                (Origin.GATEWAY, RequestStatus.FORWARDED), (Origin.EXCHANGE, RequestStatus.ACCEPTED)]
            assert all(a.order_id == 7001 and a.request_id == "e2e-1" for a in acks)
            working = next(m for m in first if isinstance(m, OrderUpdate))
            assert (working.order_id, working.quantity, working.price) == (7001, 0.01, price)
            assert working.exchange_order_id == acks[1].exchange_order_id

            # the market trades through the order: the fill reaches the owner through the router
            trader = Trader(stack)
            try:
                await trader.admin("price", symbol=SYMBOL, price=price - 50)
            finally:
                await trader.close()
            rest = await replies_until(dealer, lambda r: any(
                isinstance(m, OrderUpdate) and m.status is OrderStatus.FILLED for m in r)
                and any(isinstance(m, TradeUpdate) for m in r))
            [trade] = [m for m in rest if isinstance(m, TradeUpdate)]
            assert (trade.order_id, trade.quantity, trade.price, trade.side) == (7001, 0.01, price, Side.BUY)
            filled = [m for m in rest if isinstance(m, OrderUpdate)][-1]
            assert (filled.traded_quantity, filled.remaining_quantity, filled.average_traded_price) == (
                0.01, 0.0, price)

            position = await bus.wait(PositionUpdate, lambda p: p.symbol == SYMBOL and p.position == 0.01,
                                       timeout=15.0)
            assert position.average_price == price
            funds = await bus.wait(FundsUpdate, lambda f: f.currency == "USD", timeout=15.0)
            assert funds.balance > 0 and funds.available is not None
