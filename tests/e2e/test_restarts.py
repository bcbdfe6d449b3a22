"""Each process restarts alone: kill -9 any one service and start it again, and long-lived
clients resynchronize by themselves and keep trading (the card's promise). honcho stops the
whole stack when one process exits, so this test supervises the processes itself."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from common.client import AccountState, MarketData, OrderEntry
from common.messages import MarketByPrice, OrderStatus, OrderType, OrderUpdate, Side, TradeUpdate, UpdateType
from tests.support.processes import REPO
from tests.support.stack import Stack, stack_config

SYMBOL = "PF_XBTUSD"


class Clients:
    """One long-lived client of each kind, consuming updates in the background."""

    def __init__(self, stack: Stack) -> None:
        bus = stack.cfg.config.bus
        self.md = MarketData([SYMBOL], pub_endpoint=bus.feed_pub, snapshot_endpoint=bus.feed_snapshot)
        self.acct = AccountState("main", pub_endpoint=bus.dropcopy_pub, download_endpoint=bus.dropcopy_download)
        self.oe = OrderEntry("main", endpoint=bus.router_orders)
        self.tasks: list[asyncio.Task[None]] = []
        #: full books applied (from the snapshot service, or a SNAPSHOT on the bus)
        self.book_snapshots = 0

    async def start(self) -> None:
        for c in (self.md, self.acct, self.oe):
            await c.start()

        async def books() -> None:
            async for u in self.md.updates():
                if isinstance(u.message, MarketByPrice) and u.message.update_type is UpdateType.SNAPSHOT:
                    self.book_snapshots += 1

        async def account() -> None:
            async for _ in self.acct.updates():
                pass

        self.tasks = [asyncio.create_task(books()), asyncio.create_task(account())]

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        await self.oe.close()
        await self.acct.close()
        await self.md.close()

    async def book_ok(self, since_snapshots: int = -1, timeout: float = 30) -> None:
        """Until the book is consistent (and, if asked, rebuilt from a newer full book)."""
        async with asyncio.timeout(timeout):
            while True:
                b = self.md.books[SYMBOL]
                fresh = self.book_snapshots > since_snapshots
                if fresh and SYMBOL not in self.md.stale and b.bids.best and b.asks.best:
                    assert b.bids.best < b.asks.best
                    return
                await asyncio.sleep(0.05)

    async def trade(self, timeout: float = 30) -> str:
        """A market order that fills; returns its trade id once the account mirror has it."""
        async with asyncio.timeout(timeout):
            while True:  # the router may still be (re)connecting to the exchange: retry
                ticket = self.oe.create(SYMBOL, Side.BUY, OrderType.MARKET, 0.01)
                final = await ticket.wait_final(timeout)
                if isinstance(final, OrderUpdate) and final.status is OrderStatus.FILLED:
                    break
                await asyncio.sleep(0.5)
            fill = await ticket.wait(lambda m: isinstance(m, TradeUpdate), timeout)
            assert isinstance(fill, TradeUpdate)
            while fill.trade_id not in self.acct.fills:
                await asyncio.sleep(0.05)
            return fill.trade_id


@pytest.mark.parametrize("service", ["feed", "router", "dropcopy", "eventlog", "sim"])
def test_clients_survive_kill_and_restart_of(service: str, tmp_path: Path) -> None:
    stack = Stack(stack_config(tmp_path))
    try:
        stack.start_all()

        async def scenario() -> None:
            clients = Clients(stack)
            await clients.start()
            try:
                await clients.book_ok()
                first = await clients.trade()
                snapshots = clients.book_snapshots
                await asyncio.to_thread(stack.restart, service)
                # a restarted feed (or exchange) means a new book: the client must have rebuilt it
                await clients.book_ok(since_snapshots=snapshots if service in ("feed", "sim") else -1)
                second = await clients.trade()
                assert second != first
            finally:
                await clients.close()

        asyncio.run(scenario())
    except BaseException:
        sys.stderr.write(stack.output())
        raise
    finally:
        codes = stack.stop_all()
    assert all(code == 0 for code in codes.values()), codes
    if service == "eventlog":
        verify = subprocess.run(
            [sys.executable, "-m", "services.cli", "log", "verify", str(stack.cfg.eventlog_dir)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "crash recover" in verify.stdout
