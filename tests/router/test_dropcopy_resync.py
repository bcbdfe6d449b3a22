"""No update lost when the router's drop-copy subscription has a hole: real ``kgw sim``,
``kgw dropcopy`` and ``kgw router`` processes. The router's SUB reaches the drop-copy PUB
through a TCP gate, so the test decides what the router misses. The gate is cut, the drop-copy
listener is killed with SIGKILL, orders fill while it is down (a resting order the market trades
through, and a market order), it is started again (and republishes what it knows while the
router cannot hear it), then the gate opens. Each owner must get each fill and the final
OrderUpdate exactly once:

- gate opened at once: the router sees a RESTART; Kraken's ``orders/status`` still remembers
  the orders (5 s);
- gate opened after 6 s: the router also saw the listener SILENT then ALIVE, Kraken has
  forgotten the orders, and the outcome comes from REST ``fills``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.bus import Received, Subscriber
from common.client import OrderEntry
from common.client.orders import Ticket
from common.messages import (
    FINAL_ORDER_STATUSES,
    OrderAck,
    OrderStatus,
    OrderType,
    OrderUpdate,
    RequestStatus,
    Side,
    TradeUpdate,
    decode,
)
from tests.dropcopy.harness import TcpGate
from tests.support.processes import KgwProcess, free_port, write_config
from tests.support.stack import Stack, stack_config

SYMBOL = "PF_XBTUSD"
QUIET = 2.0
"""Seconds to keep listening after the final update, to catch a second copy."""


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[tuple[Stack, TcpGate]]:
    """sim, dropcopy and a router whose drop-copy subscription goes through a :class:`TcpGate`
    (its download requests go straight to the drop-copy)."""
    s = Stack(stack_config(tmp_path))
    pub = s.cfg.config.bus.dropcopy_pub
    gate = TcpGate(free_port(), int(pub.rsplit(":", 1)[1]))
    gate.open()
    text = s.cfg.path.read_text()
    assert text.count(f'dropcopy_pub = "{pub}"') == 1
    router_cfg = write_config(tmp_path, text.replace(
        f'dropcopy_pub = "{pub}"', f'dropcopy_pub = "tcp://127.0.0.1:{gate.listen_port}"'), "router.toml")
    try:
        s.start("sim")
        s.start("dropcopy")
        s.procs["router"] = KgwProcess("router", "--config", str(router_cfg), health_url=s.cfg.health_url("router"),
                                       env=s.cfg.env, ready_timeout=30).start()
        yield s, gate
    finally:
        s.stop_all()
        gate.close()


def admin(stack: Stack, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    base = stack.cfg.config.gateway.rest_url.split("/derivatives")[0]
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(f"{base}/_sim/{path}", data=data), timeout=5) as r:
        out: dict[str, Any] = json.loads(r.read())
    return out


async def republished(watcher: Subscriber, order_ids: set[int], timeout: float = 10.0) -> None:
    """Until the restarted drop-copy has published a final state of each of ``order_ids``."""
    waiting = set(order_ids)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            async for batch in watcher.batches():
                for item in batch:
                    if isinstance(item, Received) and item.topic.endswith(b".order."):
                        msg = decode(item.payload)
                        if isinstance(msg, OrderUpdate) and msg.status in FINAL_ORDER_STATUSES:
                            waiting.discard(msg.order_id or 0)
                if not waiting:
                    return


def accepted(m: object) -> bool:
    return isinstance(m, OrderAck) and m.status is RequestStatus.ACCEPTED


def finals(t: Ticket) -> list[OrderUpdate]:
    return [u for u in t.updates if u.status in (OrderStatus.FILLED, OrderStatus.CANCELLED)]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("down_for", [0.0, 6.0], ids=["restarted-at-once", "restarted-after-6s"])
def test_fills_while_dropcopy_is_down_reach_the_owner_once(gated: tuple[Stack, TcpGate], down_for: float) -> None:
    stack, gate = gated

    async def scenario() -> None:
        oe = OrderEntry("main", endpoint=stack.cfg.config.bus.router_orders, heartbeat_interval=0.5)
        await oe.start()
        try:
            bid = admin(stack, f"book/{SYMBOL}")["bids"][0][0]
            px = bid - 100
            resting = oe.create(SYMBOL, Side.BUY, OrderType.LIMIT, 0.01, price=px)
            await resting.wait(lambda m: isinstance(m, OrderUpdate) and m.status is OrderStatus.WORKING, 15)

            gate.cut()
            stack.procs["dropcopy"].kill()
            proc = stack.procs["dropcopy"].proc
            assert proc is not None
            await asyncio.to_thread(proc.wait, 10)
            admin(stack, "price", {"symbol": SYMBOL, "price": px - 50})  # trades through the resting buy
            admin(stack, "price", {"symbol": SYMBOL, "price": bid})
            market = oe.create(SYMBOL, Side.BUY, OrderType.MARKET, 0.01)
            await market.wait(accepted, 10)
            await asyncio.sleep(0.5)
            assert finals(resting) == [] and finals(market) == []  # nobody could tell them yet
            watcher = Subscriber({"dropcopy": stack.cfg.config.bus.dropcopy_pub}, ["oms."])
            await watcher.start()
            try:
                await asyncio.to_thread(stack.start, "dropcopy")
                # it republishes the fills and final states it rebuilds: the router must not hear them
                await republished(watcher, {resting.order_id, market.order_id})
            finally:
                await watcher.close()
            await asyncio.sleep(down_for)
            t0 = time.monotonic()
            gate.open()

            for ticket in (resting, market):
                final = await ticket.wait(lambda m: isinstance(m, OrderUpdate) and m.status is OrderStatus.FILLED, 20)
                assert isinstance(final, OrderUpdate)
                assert (final.traded_quantity, final.remaining_quantity) == (0.01, 0.0)
            recovered_in = time.monotonic() - t0
            await asyncio.sleep(QUIET)
            for ticket in (resting, market):
                assert len(finals(ticket)) == 1, ticket.messages
                fills = ticket.fills
                assert len(fills) == 1 and fills[0].quantity == 0.01, ticket.messages
                assert isinstance(fills[0], TradeUpdate)
            assert recovered_in < 15
        finally:
            await oe.close()

    try:
        asyncio.run(scenario())
    except BaseException:
        sys.stderr.write(stack.output())
        raise
