"""End to end: ``kgw sim`` and ``kgw feed`` as real processes, real WebSocket and ZeroMQ sockets.
The books a bus client rebuilds must equal the simulator's own books; faults injected in the
simulator must be recovered from by the feed alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from common.bus import DealerClient
from common.messages import (
    ConnectionStatus,
    ErrorReply,
    MarketByPrice,
    ReferenceData,
    SnapshotEnd,
    SnapshotEntry,
    StreamStatus,
    TopOfBook,
    UpdateType,
)
from tests.feed.harness import BusBooks, Ports, books_of, request_snapshot, running, sim_book

SYMBOLS = ("PI_XBTUSD", "PF_XBTUSD", "PF_ETHUSD", "FI_XBTUSD_261225")
QUIET = {"book_rate": 0.0, "trade_rate": 0.0}


async def burst(ports: Ports, books: BusBooks, rate: float = 20_000.0, seconds: float = 1.0) -> None:
    """A burst of book activity in the simulator, then a quiet market."""
    before = books.deltas
    await asyncio.to_thread(ports.admin, "rate", {"book_rate": rate, "trade_rate": 20.0})
    await asyncio.sleep(seconds)
    await asyncio.to_thread(ports.admin, "rate", QUIET)
    assert books.deltas - before > rate * seconds * 0.3, "the burst did not reach the bus"
    await books.quiet()


def assert_books_equal_sim(ports: Ports, books: BusBooks, symbols: tuple[str, ...] = SYMBOLS) -> None:
    for sym in symbols:
        bids, asks, seq = sim_book(ports, sym)
        got = books.books.get(sym)
        assert got is not None, f"{sym}: no book on the bus"
        assert got[0] == bids, f"{sym}: bids differ"
        assert got[1] == asks, f"{sym}: asks differ"
        assert books.exchange_seq[sym] == seq, f"{sym}: bus at seq {books.exchange_seq[sym]}, sim at {seq}"


async def test_books_on_the_bus_equal_the_simulator_after_a_burst(tmp_path: Path) -> None:
    async with running(tmp_path, QUIET, {}) as (ports, books, _):
        await books.wait_for(lambda: all(books.books.get(s) for s in SYMBOLS), what="snapshots")
        await burst(ports, books)
        assert_books_equal_sim(ports, books)
        assert not books.gaps
        assert all(UpdateType.STALE not in h for h in books.history.values())
        assert ports.metric("kgw_feed_book_problems_total") == 0
        assert ports.metric("kgw_feed_messages_total", kind="book_delta") > 5_000
        # validated against proto/ when the harness stops
        assert {"MarketByPrice", "TopOfBook", "TradeSummary", "Statistics", "Heartbeat"} <= set(books.samples)


async def test_injected_gap_gives_stale_then_snapshot_for_that_symbol_only(tmp_path: Path) -> None:
    async with running(tmp_path, {"book_rate": 400.0, "trade_rate": 0.0}, {}) as (ports, books, _):
        await books.wait_for(lambda: all(books.books.get(s) for s in SYMBOLS), what="snapshots")
        await asyncio.to_thread(ports.admin, "fault/skip_seq", {"symbol": "PF_ETHUSD"})
        await books.wait_for(lambda: UpdateType.STALE in books.history["PF_ETHUSD"], what="STALE")
        eth = books.history["PF_ETHUSD"]
        await books.wait_for(
            lambda: UpdateType.SNAPSHOT in eth[eth.index(UpdateType.STALE) :], what="fresh SNAPSHOT"
        )
        await asyncio.to_thread(ports.admin, "rate", QUIET)
        await books.quiet()
        for other in ("PI_XBTUSD", "PF_XBTUSD", "FI_XBTUSD_261225"):
            assert UpdateType.STALE not in books.history[other], f"{other} was disturbed"
        assert ports.metric("kgw_feed_book_problems_total", reason="gap") == 1
        assert ports.metric("kgw_feed_resubscribes_total", feed="book", reason="gap") == 1
        assert_books_equal_sim(ports, books)


async def test_dropped_connection_recovers_by_itself(tmp_path: Path) -> None:
    async with running(tmp_path, {"book_rate": 200.0, "trade_rate": 0.0}, {}) as (ports, books, _):
        await books.wait_for(lambda: all(books.books.get(s) for s in SYMBOLS), what="snapshots")
        books.stream_states.clear()
        await asyncio.to_thread(ports.admin, "fault/drop", {})
        await books.wait_for(
            lambda: [s.connection_status for s in books.stream_states][-1:] == [ConnectionStatus.READY],
            what="READY again",
        )
        seen = [s.connection_status for s in books.stream_states]
        assert seen[0] == ConnectionStatus.DISCONNECTED and ConnectionStatus.CONNECTING in seen
        assert ConnectionStatus.DOWNLOADING in seen
        for sym in SYMBOLS:  # every book went STALE with its connection, then a fresh SNAPSHOT
            h = books.history[sym]
            assert UpdateType.SNAPSHOT in h[h.index(UpdateType.STALE) :], sym
        await asyncio.to_thread(ports.admin, "rate", QUIET)
        await books.quiet()
        assert_books_equal_sim(ports, books)
        assert ports.metric("kgw_ws_stream_reconnects_total") >= 1


async def test_silent_feed_is_resubscribed_and_recovers(tmp_path: Path) -> None:
    feed = {"silence_timeouts": {"ticker": 1.0, "book": 1.0}}
    async with running(tmp_path, {"book_rate": 200.0, "trade_rate": 0.0}, feed) as (ports, books, _):
        await books.wait_for(lambda: all(books.books.get(s) for s in SYMBOLS), what="snapshots")
        # the simulator keeps PF_ETHUSD's socket data back for long after the test ends: only
        # the feed's own resubscription can bring fresh state for it
        await asyncio.to_thread(ports.admin, "fault/stall", {"seconds": 60, "symbols": ["PF_ETHUSD"]})
        mark = len(books.history["PF_ETHUSD"])
        await books.wait_for(
            lambda: UpdateType.SNAPSHOT in books.history["PF_ETHUSD"][mark:], timeout=10, what="resubscribed book"
        )
        assert ports.metric("kgw_feed_resubscribes_total", feed="book", reason="silent") >= 1
        assert ports.metric("kgw_feed_resubscribes_total", feed="ticker", reason="silent") >= 1
        assert UpdateType.STALE in books.history["PF_ETHUSD"][mark:]
        for other in ("PI_XBTUSD", "PF_XBTUSD"):
            assert UpdateType.STALE not in books.history[other]
        await asyncio.to_thread(ports.admin, "fault/clear", {})


async def test_late_joiner_gets_a_consistent_book_from_the_snapshot_service(tmp_path: Path) -> None:
    async with running(tmp_path, {"book_rate": 2_000.0, "trade_rate": 5.0}, {}) as (ports, books, _):
        await books.wait_for(lambda: all(books.books.get(s) for s in SYMBOLS), what="snapshots")
        late = BusBooks(ports, ("md.",))  # joins while the market is busy
        late.hold()
        await late.start()
        try:
            await asyncio.sleep(0.3)  # subscribed before asking (Clone pattern)
            replies = await request_snapshot(ports, ["md.kraken-futures."])
            assert isinstance(replies[-1], SnapshotEnd) and replies[-1].count == len(replies) - 1
            entries = [r for r in replies if isinstance(r, SnapshotEntry)]
            assert {MarketByPrice, TopOfBook, ReferenceData} <= {type(e.message) for e in entries}
            assert all(e.message.seq > 0 for e in entries)
            assert {m.symbol for m in books_of(replies).values()} == set(SYMBOLS)
            late.seed_and_release(entries)
            await asyncio.to_thread(ports.admin, "rate", QUIET)
            await late.quiet()
            assert_books_equal_sim(ports, late)
            one = await request_snapshot(ports, ["md.kraken-futures.PF_XBTUSD."], "r2")
            topics = {r.topic for r in one if isinstance(r, SnapshotEntry)}
            assert topics and all(t.startswith("md.kraken-futures.PF_XBTUSD.") for t in topics)
            assert all(r.request_id == "r2" for r in one)
            status = await request_snapshot(ports, ["sys.feed."], "r3")
            assert any(isinstance(r, SnapshotEntry) and isinstance(r.message, StreamStatus) for r in status)
        finally:
            await late.close()


async def test_snapshot_service_refuses_garbage_and_keeps_serving(tmp_path: Path) -> None:
    async with running(tmp_path, QUIET, {}) as (ports, _books, feed):
        client = DealerClient(ports.snapshot_endpoint)
        await client.start()
        try:
            client.send_raw(b"{not json")
            client.send_raw(b'{"type":"SnapshotRequest","topics":"md."}')
            client.send_raw(b'{"type":"CancelAllOrders","request_id":"x","account":"a"}')
            client.send_raw(b"x" * 200_000)
            replies = [await client.recv(5) for _ in range(4)]
            assert all(isinstance(r, ErrorReply) for r in replies)
        finally:
            await client.close()
        replies = await request_snapshot(ports, [""])
        assert isinstance(replies[-1], SnapshotEnd) and replies[-1].count > 0
        assert feed.proc is not None and feed.proc.poll() is None
