"""The sans-I/O feed core with plain calls: real Kraken payloads in, bus messages out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest

from common.book import Book, BookSide
from common.kraken import instruments as kinstruments
from common.kraken.public import frames
from common.kraken.public.book import BookDelta, BookSnapshot
from common.kraken.public.control import Control, Heartbeat
from common.kraken.public.ticker import Ticker, TickerLite
from common.kraken.public.trade import PublicTrade, TradeSnapshot
from common.messages import (
    MarketByPrice,
    MarketStatus,
    Message,
    ReferenceData,
    Statistics,
    SymbolType,
    TopOfBook,
    TradeSummary,
    TradingStatus,
    UpdateType,
)
from services.feed.market import BookStatus, MarketState
from services.feed.selection import SymbolSelector, streamable

FIX = Path(__file__).parent / "fixtures"
EX = "kraken-futures"


def fixture(name: str) -> bytes:
    return (FIX / name).read_bytes()


class Sink:
    """Collects what the core emits and which resyncs it asks for."""

    def __init__(self) -> None:
        self.out: list[tuple[str, Message]] = []
        self.resyncs: list[tuple[str, str, str]] = []

    def emit(self, topic: str, msg: Message) -> None:
        self.out.append((topic, msg))

    def resync(self, symbol: str, feed: str, reason: str) -> None:
        self.resyncs.append((symbol, feed, reason))

    def of(self, kind: type[Any], symbol: str | None = None) -> list[Any]:
        return [m for _, m in self.out if isinstance(m, kind) and (symbol is None or m.symbol == symbol)]


def make(*symbols: str, **kw: bool) -> tuple[MarketState, Sink]:
    sink = Sink()
    market = MarketState(EX, sink.emit, sink.resync, **kw)
    for s in symbols:
        market.add_symbol(s)
    return market, sink


def snap(symbol: str, seq: int, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> BookSnapshot:
    raw = {
        "feed": "book_snapshot",
        "product_id": symbol,
        "seq": seq,
        "timestamp": 1000,
        "bids": [{"price": p, "qty": q} for p, q in bids],
        "asks": [{"price": p, "qty": q} for p, q in asks],
    }
    msg = frames.decode(orjson.dumps(raw))
    assert isinstance(msg, BookSnapshot)
    return msg


def delta(symbol: str, seq: int, side: str, price: float, qty: float) -> BookDelta:
    return BookDelta(product_id=symbol, side=side, seq=seq, price=price, qty=qty, timestamp=2000)  # type: ignore[arg-type]


# ---------------------------------------------------------------- decoding real payloads


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("nautilus__ws_futures_book_snapshot.json", BookSnapshot),
        ("nautilus__ws_futures_book_delta.json", BookDelta),
        ("nautilus__ws_futures_ticker.json", Ticker),
        ("ccxt__ws_ticker_2023.json", Ticker),
        ("nautilus__ws_futures_trade.json", PublicTrade),
        ("nautilus__ws_futures_trade_snapshot.json", TradeSnapshot),
    ],
)
def test_real_payloads_decode_to_their_type(name: str, kind: type) -> None:
    assert isinstance(frames.decode(fixture(name)), kind)


def test_control_heartbeat_and_ticker_lite_decode() -> None:
    assert frames.decode(b'{"event":"info","version":1}') == Control(event="info", version=1)
    ack = frames.decode(b'{"event":"subscribed","feed":"book","product_ids":["PI_XRPUSD"]}')
    assert isinstance(ack, Control) and ack.product_ids == ["PI_XRPUSD"]
    assert frames.decode(orjson.dumps(orjson.loads(fixture("docs__ws_heartbeat.json"))[2])) == Heartbeat(
        time=1534262350627
    )
    assert isinstance(frames.decode(orjson.dumps(orjson.loads(fixture("cf2021__ws_ticker_lite.json"))[0])), TickerLite)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "json"),
        (b"", "json"),
        (b'{"feed":"nope","product_id":"X"}', "unknown_feed"),
        (b"[1,2]", "invalid"),
        (b'{"feed":"book","product_id":"PI_XBTUSD","side":"up","seq":1,"price":1,"qty":1}', "invalid"),
        (b'{"feed":"book","product_id":"PI_XBTUSD","side":"buy","seq":1,"price":1,"qty":-5}', "invalid"),
        (b'{"feed":"book","product_id":"PI_XBTUSD","side":"buy","seq":"1","price":1,"qty":1}', "invalid"),
        (b'{"feed":"book","product_id":"PI_XBTUSD","side":"buy","seq":1,"price":0,"qty":1}', "invalid"),
    ],
)
def test_bad_frames_raise_a_countable_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(frames.FrameError) as e:
        frames.decode(raw)
    assert e.value.reason == reason


# ---------------------------------------------------------------- book


def test_book_side_tracks_best_through_adds_and_deletes() -> None:
    bids = BookSide(is_bid=True)
    assert bids.set(100.0, 1.0) == 1 and bids.best == 100.0
    assert bids.set(99.0, 2.0) == 0
    assert bids.set(101.0, 3.0) == 1 and bids.best == 101.0
    assert bids.set(101.0, 4.0) == 1  # quantity at best changed
    assert bids.set(101.0, 0.0) == 1 and bids.best == 100.0
    assert bids.set(50.0, 0.0) == -1  # delete of an absent level
    assert bids.depth() == [(100.0, 1.0), (99.0, 2.0)]
    asks = BookSide(is_bid=False)
    asks.load([(5.0, 1.0), (4.0, 1.0), (6.0, 0.0)])
    assert asks.best == 4.0 and len(asks) == 2
    assert asks.top() == (4.0, 1.0)
    book = Book("X")
    book.load([(10.0, 1.0)], [(10.0, 1.0)], 1, 1)
    assert book.crossed()


# ---------------------------------------------------------------- the core


def test_snapshot_then_contiguous_deltas_publish_mbp_and_tob() -> None:
    market, sink = make("PI_XBTUSD")
    market.on_book_snapshot(BookSnapshot(**_snapshot_fixture()), 1)
    (mbp,) = sink.of(MarketByPrice)
    assert mbp.update_type == UpdateType.SNAPSHOT and mbp.exchange_seq == 326072249
    assert mbp.bids == [(34892.5, 6385.0), (34892.0, 10924.0)]
    assert mbp.asks == [(34911.5, 20598.0), (34912.0, 2300.0)]
    assert mbp.exchange_time == 1612269825817 * 1_000_000 and mbp.receive_time == 1
    (tob,) = sink.of(TopOfBook)
    assert (tob.bid_price, tob.bid_quantity, tob.ask_price, tob.ask_quantity) == (34892.5, 6385.0, 34911.5, 20598.0)
    sink.out.clear()
    market.on_book_delta(delta("PI_XBTUSD", 326072250, "buy", 34890.0, 5.0), 2)  # below best: no tob
    market.on_book_delta(delta("PI_XBTUSD", 326072251, "sell", 34911.5, 0.0), 3)  # best ask deleted
    inc = sink.of(MarketByPrice)
    assert [(m.update_type, m.bids, m.asks, m.exchange_seq) for m in inc] == [
        (UpdateType.INCREMENTAL, [(34890.0, 5.0)], [], 326072250),
        (UpdateType.INCREMENTAL, [], [(34911.5, 0.0)], 326072251),
    ]
    (tob,) = sink.of(TopOfBook)
    assert tob.ask_price == 34912.0 and tob.exchange_seq == 326072251
    assert not sink.resyncs and market.symbols["PI_XBTUSD"].book_status is BookStatus.LIVE


def _snapshot_fixture() -> dict[str, Any]:
    raw = orjson.loads(fixture("nautilus__ws_futures_book_snapshot.json"))
    snapshot = msgspec.convert(raw, BookSnapshot)
    return {f: getattr(snapshot, f) for f in snapshot.__struct_fields__}


def test_gap_publishes_stale_at_once_drops_deltas_and_resyncs_only_that_symbol() -> None:
    market, sink = make("PF_XBTUSD", "PF_ETHUSD")
    market.on_book_snapshot(snap("PF_XBTUSD", 10, [(100.0, 1.0)], [(101.0, 1.0)]), 1)
    market.on_book_snapshot(snap("PF_ETHUSD", 50, [(10.0, 1.0)], [(11.0, 1.0)]), 1)
    sink.out.clear()
    market.on_book_delta(delta("PF_XBTUSD", 12, "buy", 100.0, 2.0), 2)  # 11 is missing
    assert sink.resyncs == [("PF_XBTUSD", "book", "gap")]
    (stale,) = sink.of(MarketByPrice)
    assert stale.update_type == UpdateType.STALE and stale.symbol == "PF_XBTUSD" and not stale.bids
    market.on_book_delta(delta("PF_XBTUSD", 13, "buy", 100.0, 3.0), 3)  # dropped while stale
    market.on_book_delta(delta("PF_ETHUSD", 51, "buy", 10.5, 1.0), 3)  # other symbol undisturbed
    assert [m.symbol for m in sink.of(MarketByPrice)] == ["PF_XBTUSD", "PF_ETHUSD"]
    assert market.problems["gap"] == 1 and market.problems["stale_drop"] == 1
    market.on_book_snapshot(snap("PF_XBTUSD", 20, [(99.0, 1.0)], [(101.0, 1.0)]), 4)
    assert sink.of(MarketByPrice, "PF_XBTUSD")[-1].update_type == UpdateType.SNAPSHOT
    market.on_book_delta(delta("PF_XBTUSD", 21, "buy", 99.5, 1.0), 5)
    assert sink.of(MarketByPrice, "PF_XBTUSD")[-1].exchange_seq == 21
    assert len(sink.resyncs) == 1


def test_crossed_book_and_delete_of_absent_level_are_inconsistencies() -> None:
    market, sink = make("PF_XBTUSD")
    market.on_book_snapshot(snap("PF_XBTUSD", 1, [(100.0, 1.0)], [(101.0, 1.0)]), 1)
    market.on_book_delta(delta("PF_XBTUSD", 2, "buy", 101.0, 1.0), 2)
    assert sink.resyncs == [("PF_XBTUSD", "book", "crossed")]
    market.on_book_snapshot(snap("PF_XBTUSD", 5, [(100.0, 1.0)], [(101.0, 1.0)]), 3)
    market.on_book_delta(delta("PF_XBTUSD", 6, "sell", 105.0, 0.0), 4)
    assert sink.resyncs[-1] == ("PF_XBTUSD", "book", "unknown_level")
    market.on_book_snapshot(snap("PF_XBTUSD", 9, [(102.0, 1.0)], [(101.0, 1.0)]), 5)  # crossed snapshot
    assert sink.resyncs[-1] == ("PF_XBTUSD", "book", "crossed_snapshot")
    assert market.symbols["PF_XBTUSD"].book_status is BookStatus.STALE


def test_allow_crossed_and_lenient_deletes_keep_the_book() -> None:
    market, sink = make("PF_XBTUSD", allow_crossed=True, strict_deletes=False)
    market.on_book_snapshot(snap("PF_XBTUSD", 1, [(100.0, 1.0)], [(101.0, 1.0)]), 1)
    market.on_book_delta(delta("PF_XBTUSD", 2, "buy", 101.5, 1.0), 2)
    market.on_book_delta(delta("PF_XBTUSD", 3, "sell", 200.0, 0.0), 3)
    assert not sink.resyncs and market.symbols["PF_XBTUSD"].book.seq == 3


def test_unknown_symbols_and_lower_case_ids_are_handled() -> None:
    market, sink = make("PI_XBTUSD")
    market.on_book_delta(delta("PI_NOPE", 1, "buy", 1.0, 1.0), 1)
    assert market.problems["unknown_symbol"] == 1 and not sink.out
    market.on_book_snapshot(snap("pi_xbtusd", 1, [(1.0, 1.0)], [(2.0, 1.0)]), 1)
    assert sink.of(MarketByPrice)[0].symbol == "PI_XBTUSD"


def test_the_real_2021_fi_bchusd_session_applies_without_a_single_problem() -> None:
    market, sink = make("FI_BCHUSD_210730")
    snapshot = frames.decode(orjson.dumps(orjson.loads(fixture("cf2021__ws_book_snapshot_FI_BCHUSD_210730.json"))))
    assert isinstance(snapshot, BookSnapshot)
    market.on_book_snapshot(snapshot, 1)
    deltas = orjson.loads(fixture("cf2021__ws_book_deltas_FI_BCHUSD_210730_all.json"))
    reference: dict[str, dict[float, float]] = {
        "buy": {lv.price: lv.qty for lv in snapshot.bids},
        "sell": {lv.price: lv.qty for lv in snapshot.asks},
    }
    for raw in deltas:
        m = frames.decode(orjson.dumps(raw))
        assert isinstance(m, BookDelta)
        market.on_book_delta(m, 2)
        side = reference[m.side]
        if m.qty:
            side[m.price] = m.qty
        else:
            side.pop(m.price)
    assert not market.problems and not sink.resyncs
    book = market.symbols["FI_BCHUSD_210730"].book
    assert book.bids.levels == reference["buy"] and book.asks.levels == reference["sell"]
    assert book.seq == deltas[-1]["seq"]


def test_ticker_gives_statistics_and_status_changes() -> None:
    market, sink = make("PI_XBTUSD")
    ticker = frames.decode(fixture("nautilus__ws_futures_ticker.json"))
    assert isinstance(ticker, Ticker)
    market.on_ticker(ticker, 7)
    (stats,) = sink.of(Statistics)
    assert stats.index_price == 21984.54 and stats.settlement_price == 21979.68641534714
    assert stats.relative_funding_rate == -1.380384722222e-6 and stats.funding_rate == -6.2604214e-11
    assert stats.next_funding_time == 1676394000000 * 1_000_000
    assert stats.open_interest == 30072580.0 and stats.volume == 31403908.0
    assert (stats.open_price, stats.high_price, stats.low_price) == (21968.5, 22123.0, 21456.0)
    suspended = msgspec.structs.replace(ticker, suspended=True)
    market.on_ticker(suspended, 8)
    assert sink.of(MarketStatus)[-1].trading_status == TradingStatus.HALTED
    market.on_ticker(msgspec.structs.replace(ticker, post_only=True), 9)
    assert sink.of(MarketStatus)[-1].trading_status == TradingStatus.POST_ONLY


def test_trades_are_published_once_and_reconnect_snapshots_fill_the_gap() -> None:
    market, sink = make("PI_XBTUSD")
    snap_msg = frames.decode(fixture("nautilus__ws_futures_trade_snapshot.json"))
    assert isinstance(snap_msg, TradeSnapshot)
    market.on_trade_snapshot(snap_msg, 1)
    assert not sink.of(TradeSummary)  # history is not republished
    t = PublicTrade(product_id="PI_XBTUSD", side="buy", seq=655509, price=34900.0, qty=10.0, uid="a", time=5)
    market.on_trade(t, 2)
    market.on_trade(t, 3)  # duplicate
    later = [
        msgspec.structs.replace(t, seq=655511, uid="c"),
        msgspec.structs.replace(t, seq=655510, uid="b"),
        t,
    ]
    market.on_trade_snapshot(TradeSnapshot(product_id="PI_XBTUSD", trades=later), 4)
    summaries = sink.of(TradeSummary)
    assert [[x.trade_id for x in s.trades] for s in summaries] == [["a"], ["b", "c"]]
    assert summaries[0].trades[0].side == "BUY"


def test_reference_data_from_both_symbol_cases_and_status() -> None:
    market, sink = make()
    insts = kinstruments.parse(fixture("rest_instruments_2021_real_cryptofeed.json"))
    assert all(i.symbol == i.symbol.upper() for i in insts)
    by_symbol = {i.symbol: i for i in insts}
    market.on_instrument(by_symbol["PI_XBTUSD"])
    (ref,) = sink.of(ReferenceData)
    assert ref.symbol_type == SymbolType.PERPETUAL_INVERSE and ref.tick_size == 0.5 and ref.size_step == 1.0
    assert ref.margin_levels[0].initial_margin == 0.02 and ref.base == "XBT" and ref.quote == "USD"
    market.on_instrument(by_symbol["PI_XBTUSD"])  # unchanged: not republished
    assert len(sink.of(ReferenceData)) == 1
    assert sink.of(MarketStatus)[0].trading_status == TradingStatus.OPEN
    dated = next(i for i in insts if i.symbol.startswith("FI_"))
    assert kinstruments.reference_data(dated, EX).expiry is not None
    modern = kinstruments.parse(fixture("nautilus__http_futures_instruments.json"))
    steps = {i.symbol: kinstruments.reference_data(i, EX).size_step for i in modern}
    assert any(v == 1000.0 for v in steps.values())  # negative precision: multiples of 1000
    market.close_symbol("PI_XBTUSD")
    assert sink.of(MarketStatus)[-1].trading_status == TradingStatus.CLOSED


def test_selection_is_case_insensitive_with_include_and_exclude() -> None:
    insts = kinstruments.parse(fixture("rest_instruments_2021_real_cryptofeed.json"))
    explicit = SymbolSelector(["pi_xbtusd", "PI_ETHUSD"], [".*"], [])
    assert [i.symbol for i in explicit.select(insts)] == ["PI_XBTUSD", "PI_ETHUSD"]
    regex = SymbolSelector([], ["^pi_"], ["ETH"])
    chosen = {i.symbol for i in regex.select(insts)}
    assert "PI_XBTUSD" in chosen and "PI_ETHUSD" not in chosen and all(s.startswith("PI_") for s in chosen)
    everything = SymbolSelector([], [".*"], [])
    assert not all(streamable(i) for i in everything.select(insts))  # indexes are not streamed


def test_snapshot_state_names_every_topic_and_a_stale_book() -> None:
    market, _sink = make("PF_XBTUSD", "PF_ETHUSD")
    market.on_book_snapshot(snap("PF_XBTUSD", 1, [(100.0, 1.0)], [(101.0, 1.0)]), 1)
    state = dict(market.state(["md.kraken-futures.PF_XBTUSD."]))
    assert set(state) == {"md.kraken-futures.PF_XBTUSD.mbp.", "md.kraken-futures.PF_XBTUSD.tob."}
    everything = dict(market.state([""]))
    eth = everything["md.kraken-futures.PF_ETHUSD.mbp."]
    assert isinstance(eth, MarketByPrice) and eth.update_type == UpdateType.STALE
