"""The real Kraken session of 2021-07-22 (10 products, 7 014 book deltas), replayed by ``kgw sim``
through ``kgw feed``: zero sequence errors, and final books equal to an independent
reconstruction made here from the raw file with nothing but ``json``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from common.kraken import recording
from common.messages import UpdateType
from tests.feed.harness import books_of, request_snapshot, running

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "kraken" / "recorded"
SESSION = RECORDED / "ws_session_2021-07-22.txt"
INSTRUMENTS = RECORDED / "rest_instruments_2021-07-22.txt"

Book = tuple[dict[float, float], dict[float, float], int]


def reconstruct(path: Path) -> dict[str, Book]:
    """Books by product from the raw recording: snapshot, then each delta in file order."""
    books: dict[str, Book] = {}
    with path.open() as f:
        for line in f:
            if not line[:1].isdigit():
                continue  # connect / sent lines
            msg = json.loads(line.split(": ", 1)[1])
            if msg.get("feed") == "book_snapshot":
                books[msg["product_id"]] = (
                    {lv["price"]: lv["qty"] for lv in msg["bids"]},
                    {lv["price"]: lv["qty"] for lv in msg["asks"]},
                    msg["seq"],
                )
            elif msg.get("feed") == "book" and "event" not in msg:  # not the subscribe acks
                bids, asks, seq = books[msg["product_id"]]
                assert msg["seq"] == seq + 1  # the capture itself is gap-free
                side = bids if msg["side"] == "buy" else asks
                if msg["qty"]:
                    side[msg["price"]] = msg["qty"]
                else:
                    del side[msg["price"]]
                books[msg["product_id"]] = (bids, asks, msg["seq"])
    return books


def recorded_products(path: Path) -> list[str]:
    """The product ids the recording's client subscribed to, lower case as it sent them."""
    with path.open() as f:
        for line in f:
            if " <- " in line and '"feed":"book"' in line:
                ids: list[str] = json.loads(line.split(": ", 1)[1])["product_ids"]
                return ids
    raise AssertionError("no book subscription in the recording")


async def test_recorded_kraken_session_replays_with_zero_sequence_errors(tmp_path: Path) -> None:
    expected = reconstruct(SESSION)
    assert len(expected) == 10
    sim = {"replay_file": str(SESSION), "replay_instruments": str(INSTRUMENTS), "replay_speed": 0.0}
    feed = {
        "symbols": recorded_products(SESSION),  # lower case, as the 2021 client sent them
        "feeds": ["book", "trade"],
        "stream": {"silence_timeout": 0.0},  # the recording ends; the connection then stays quiet
    }
    async with running(tmp_path, sim, feed) as (ports, books, _):
        await books.wait_for(
            lambda: all(books.exchange_seq.get(p) == b[2] for p, b in expected.items()),
            timeout=30,
            what="the last recorded seq of every product",
        )
        service = books_of(await request_snapshot(ports, ["md.kraken-futures."]))
        for product, (bids, asks, seq) in expected.items():
            got = books.books[product]
            assert got is not None
            assert got[0] == bids and got[1] == asks, f"{product}: bus book differs"
            snap = service[product]
            assert snap.update_type == UpdateType.SNAPSHOT and snap.exchange_seq == seq
            assert dict(snap.bids) == bids and dict(snap.asks) == asks, f"{product}: snapshot service differs"
            assert [p for p, _ in snap.bids] == sorted(bids, reverse=True)
            assert [p for p, _ in snap.asks] == sorted(asks)
        assert ports.metric("kgw_feed_book_problems_total") == 0, ports.feed_metrics_text()
        assert ports.metric("kgw_ws_stream_parse_errors_total") == 0
        assert ports.metric("kgw_feed_messages_total", kind="book_snapshot") == 10
        assert all(UpdateType.STALE not in h for h in books.history.values())
        assert not books.gaps


async def test_record_mode_writes_a_session_the_simulator_replays_to_the_same_books(tmp_path: Path) -> None:
    record_dir = tmp_path / "rec"
    live = {"book_rate": 0.0, "trade_rate": 0.0}
    async with running(tmp_path / "live", live, {"record_dir": str(record_dir), "record_flush_interval": 0.1}) as (
        ports,
        books,
        _,
    ):
        await asyncio.to_thread(ports.admin, "rate", {"book_rate": 3_000.0, "trade_rate": 10.0})
        await asyncio.sleep(1.0)
        await asyncio.to_thread(ports.admin, "rate", live)
        await books.quiet()
        live_books = {s: b for s, b in books.books.items() if b is not None}
        live_seq = dict(books.exchange_seq)
    (recorded,) = record_dir.glob("feed-*.txt")
    records = recording.read(recorded)
    kinds = {r.kind for r in records}
    assert {"connect", "sent", "recv", "rest"} <= kinds
    assert any(r.kind == "sent" and '"subscribe"' in r.payload for r in records)
    independent = reconstruct(recorded)
    assert {s: (b[0], b[1]) for s, b in independent.items()} == live_books
    # the recording replayed by a second simulator through a second feed gives the same books
    sim = {"replay_file": str(recorded), "replay_speed": 0.0}
    feed = {"feeds": ["book", "trade"], "stream": {"silence_timeout": 0.0}}
    async with running(tmp_path / "replay", sim, feed) as (_, replayed, _):
        await replayed.wait_for(
            lambda: all(replayed.exchange_seq.get(s) == seq for s, seq in live_seq.items()),
            timeout=30,
            what="the replay to reach the recorded seqs",
        )
        assert {s: b for s, b in replayed.books.items() if b is not None} == live_books
