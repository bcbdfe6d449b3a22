"""The whole stack, started the way the README does (honcho + Procfile), used by the Python
client library as a trading developer would: a consistent book, an order that fills, the acks,
updates, fill and position, and the event log holding all of it."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

from common.client import AccountState, MarketData, OrderEntry
from common.messages import (
    OrderAck,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionUpdate,
    RequestStatus,
    Side,
    TradeUpdate,
)
from tests.support.processes import REPO
from tests.support.stack import StackConfig, honcho, stack_config, wait_ready

SYMBOL = "PF_XBTUSD"


async def consistent_book(md: MarketData, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        async for _ in md.updates():
            book = md.books[SYMBOL]
            if SYMBOL not in md.stale and book.bids.best is not None and book.asks.best is not None:
                assert book.bids.best < book.asks.best
                return


async def trade_once(cfg: StackConfig) -> tuple[list[object], PositionUpdate]:
    """A market order through the router; returns its ticket's messages and the position."""
    bus = cfg.config.bus
    md = MarketData([SYMBOL], pub_endpoint=bus.feed_pub, snapshot_endpoint=bus.feed_snapshot)
    acct = AccountState("main", pub_endpoint=bus.dropcopy_pub, download_endpoint=bus.dropcopy_download)
    oe = OrderEntry("main", endpoint=bus.router_orders)
    await md.start()
    await acct.start()
    await oe.start()
    positions: list[PositionUpdate] = []

    async def follow_account() -> None:
        async for u in acct.updates():
            if isinstance(u.message, PositionUpdate) and u.message.symbol == SYMBOL:
                positions.append(u.message)

    follower = asyncio.create_task(follow_account())
    try:
        await consistent_book(md)
        await asyncio.sleep(0.5)  # the account mirror has its download
        ticket = oe.create(SYMBOL, Side.BUY, OrderType.MARKET, 0.01)
        final = await ticket.wait_final(timeout=15)
        assert isinstance(final, OrderUpdate) and final.status is OrderStatus.FILLED, ticket.messages
        await ticket.wait(lambda m: isinstance(m, TradeUpdate), timeout=10)
        async with asyncio.timeout(10):
            while not any(p.position > 0 for p in positions):
                await asyncio.sleep(0.05)
        return list(ticket.messages), positions[-1]
    finally:
        follower.cancel()
        await oe.close()
        await acct.close()
        await md.close()


def log_records(cfg: StackConfig, *args: str) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "log", "cat", *args, str(cfg.eventlog_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_readme_stack_python_client_trades_and_the_event_log_holds_it(tmp_path: Path) -> None:
    cfg = stack_config(tmp_path)
    proc = honcho(cfg, tmp_path / "honcho.log")
    try:
        wait_ready(cfg, 60, proc)
        messages, position = asyncio.run(trade_once(cfg))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    acks = [m for m in messages if isinstance(m, OrderAck)]
    assert [a.status for a in acks][:2] == [RequestStatus.FORWARDED, RequestStatus.ACCEPTED]
    assert any(isinstance(m, OrderUpdate) and m.status is OrderStatus.FILLED for m in messages)
    fill = next(m for m in messages if isinstance(m, TradeUpdate))
    assert fill.quantity == 0.01 and fill.symbol == SYMBOL
    assert position.position >= 0.01

    # the event log holds the request, every ack, the order updates and the fill
    order_id = acks[0].order_id
    private = [r for r in log_records(cfg, "--stream", "private") if r.get("kind") == "MESSAGE"]
    mine = [
        r["payload"] for r in private if isinstance(r.get("payload"), dict) and r["payload"].get("order_id") == order_id
    ]
    types = [m["type"] for m in mine]  # type: ignore[index]
    assert "CreateOrder" in types and "TradeUpdate" in types and "OrderUpdate" in types, types
    assert types.count("OrderAck") >= 2
    verify = subprocess.run(
        [sys.executable, "-m", "services.cli", "log", "verify", str(cfg.eventlog_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
