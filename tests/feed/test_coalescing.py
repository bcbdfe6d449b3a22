"""Book deltas handled a batch at a time: every delta checked, one INCREMENTAL per symbol per
batch, and a book rebuilt from those always equals the feed's own."""

from __future__ import annotations

import random

from common.kraken.public.book import BookDelta
from common.messages import MarketByPrice, TopOfBook, UpdateType
from services.feed.market import BookStatus
from tests.feed.test_market import delta, make, snap

XBT, ETH = "PF_XBTUSD", "PF_ETHUSD"


def test_a_batch_spanning_two_symbols_gives_one_incremental_each_last_level_winning() -> None:
    market, sink = make(XBT, ETH)
    market.on_book_snapshot(snap(XBT, 10, [(100.0, 1.0), (99.0, 2.0)], [(101.0, 1.0), (102.0, 2.0)]), 1)
    market.on_book_snapshot(snap(ETH, 50, [(10.0, 1.0)], [(11.0, 1.0)]), 1)
    sink.out.clear()
    batch = [
        delta(XBT, 11, "buy", 99.0, 5.0),
        delta(ETH, 51, "sell", 11.5, 3.0),  # below best: no TopOfBook for ETH
        delta(XBT, 12, "sell", 102.0, 7.0),
        delta(XBT, 13, "buy", 99.0, 6.0),  # the same level again: the last one wins
        delta(XBT, 14, "buy", 100.0, 4.0),  # best bid quantity: one TopOfBook
        BookDelta(product_id=XBT, side="buy", seq=15, price=100.0, qty=3.0, timestamp=2500),
    ]
    market.on_book_deltas(batch, 7)
    xbt, eth = sink.of(MarketByPrice, XBT), sink.of(MarketByPrice, ETH)
    assert [(m.update_type, m.bids, m.asks, m.exchange_seq, m.exchange_time, m.receive_time) for m in xbt] == [
        (UpdateType.INCREMENTAL, [(99.0, 6.0), (100.0, 3.0)], [(102.0, 7.0)], 15, 2500 * 1_000_000, 7)
    ]
    assert [(m.bids, m.asks, m.exchange_seq) for m in eth] == [([], [(11.5, 3.0)], 51)]
    (tob,) = sink.of(TopOfBook)
    assert (tob.symbol, tob.bid_price, tob.bid_quantity, tob.exchange_seq) == (XBT, 100.0, 3.0, 15)
    assert market.deltas == 6 and not sink.resyncs
    # mbp before tob, as one delta at a time
    assert [type(m).__name__ for topic, m in sink.out if f".{XBT}." in topic] == ["MarketByPrice", "TopOfBook"]


def test_a_gap_in_the_middle_publishes_what_came_before_then_stale_and_spares_the_other_symbol() -> None:
    market, sink = make(XBT, ETH)
    market.on_book_snapshot(snap(XBT, 10, [(100.0, 1.0)], [(101.0, 1.0)]), 1)
    market.on_book_snapshot(snap(ETH, 50, [(10.0, 1.0)], [(11.0, 1.0)]), 1)
    sink.out.clear()
    batch = [
        delta(XBT, 11, "buy", 99.0, 2.0),
        delta(ETH, 51, "buy", 10.5, 1.0),
        delta(XBT, 12, "buy", 98.0, 2.0),
        delta(XBT, 14, "buy", 97.0, 2.0),  # 13 is missing
        delta(XBT, 15, "buy", 96.0, 2.0),  # dropped: the book is STALE
        delta(ETH, 52, "sell", 11.0, 4.0),
    ]
    market.on_book_deltas(batch, 3)
    xbt = sink.of(MarketByPrice, XBT)
    assert [(m.update_type, m.bids, m.exchange_seq) for m in xbt] == [
        (UpdateType.INCREMENTAL, [(99.0, 2.0), (98.0, 2.0)], 12),
        (UpdateType.STALE, [], 12),
    ]
    assert sink.resyncs == [(XBT, "book", "gap")]
    assert market.problems["gap"] == 1 and market.problems["stale_drop"] == 1
    assert market.symbols[XBT].book_status is BookStatus.STALE
    (eth,) = sink.of(MarketByPrice, ETH)
    assert (eth.bids, eth.asks, eth.exchange_seq) == ([(10.5, 1.0)], [(11.0, 4.0)], 52)
    assert market.symbols[ETH].book_status is BookStatus.LIVE


def test_a_level_added_then_deleted_in_one_batch_is_left_out_and_an_old_one_deleted_stays() -> None:
    market, sink = make(XBT)
    market.on_book_snapshot(snap(XBT, 10, [(100.0, 1.0), (99.0, 2.0)], [(101.0, 1.0)]), 1)
    sink.out.clear()
    batch = [
        delta(XBT, 11, "buy", 98.0, 5.0),  # new level ...
        delta(XBT, 12, "buy", 99.0, 3.0),
        delta(XBT, 13, "buy", 99.0, 0.0),  # ... an old level changed, then deleted: the delete goes out
        delta(XBT, 14, "buy", 98.0, 0.0),  # ... deleted again: never seen by a subscriber
    ]
    market.on_book_deltas(batch, 2)
    (inc,) = sink.of(MarketByPrice)
    assert (inc.bids, inc.asks, inc.exchange_seq) == ([(99.0, 0.0)], [], 14)
    assert not sink.of(TopOfBook) and not sink.resyncs
    # a batch that nets to no level change still carries the seq it is current to
    market.on_book_deltas([delta(XBT, 15, "sell", 105.0, 1.0), delta(XBT, 16, "sell", 105.0, 0.0)], 3)
    assert [(m.bids, m.asks, m.exchange_seq) for m in sink.of(MarketByPrice)][-1] == ([], [], 16)


def test_a_failed_check_mid_batch_keeps_what_was_applied_before_it() -> None:
    market, sink = make(XBT)
    market.on_book_snapshot(snap(XBT, 10, [(100.0, 1.0)], [(101.0, 1.0)]), 1)
    sink.out.clear()
    market.on_book_deltas([delta(XBT, 11, "buy", 99.0, 1.0), delta(XBT, 12, "buy", 101.5, 1.0)], 2)  # crosses
    assert [m.update_type for m in sink.of(MarketByPrice)] == [UpdateType.INCREMENTAL, UpdateType.STALE]
    assert sink.resyncs == [(XBT, "book", "crossed")]


def test_random_batches_rebuild_exactly_the_feeds_book_and_match_one_at_a_time() -> None:
    rng = random.Random(5)
    batched, sink = make(XBT)
    single, _ = make(XBT)
    seed = snap(XBT, 0, [(100.0 - i, 1.0) for i in range(5)], [(101.0 + i, 1.0) for i in range(5)])
    batched.on_book_snapshot(seed, 1)
    single.on_book_snapshot(seed, 1)
    # what a strict client rebuilds from the bus, and the exchange's own book
    client = ({lv.price: lv.qty for lv in seed.bids}, {lv.price: lv.qty for lv in seed.asks})
    exchange = ({lv.price: lv.qty for lv in seed.bids}, {lv.price: lv.qty for lv in seed.asks})
    seq = 0
    for _ in range(300):
        batch = []
        for _ in range(rng.randint(1, 12)):
            is_bid = rng.random() < 0.5
            side = exchange[0 if is_bid else 1]
            price = (100.0 - rng.randint(0, 8)) if is_bid else (101.0 + rng.randint(0, 8))
            if price in side and len(side) > 1 and rng.random() < 0.5:
                qty = 0.0
                del side[price]
            else:
                qty = side[price] = float(rng.randint(1, 9))
            seq += 1
            batch.append(delta(XBT, seq, "buy" if is_bid else "sell", price, qty))
        sink.out.clear()
        batched.on_book_deltas(batch, 2)
        for d in batch:
            single.on_book_delta(d, 2)
        (msg,) = sink.of(MarketByPrice)
        assert msg.update_type is UpdateType.INCREMENTAL and msg.exchange_seq == seq
        for levels, side_map in ((msg.bids, client[0]), (msg.asks, client[1])):
            for p, q in levels:
                if q:
                    side_map[p] = q
                else:
                    assert side_map.pop(p, None) is not None, f"delete of absent level {p}"
        for book in (batched.symbols[XBT].book, single.symbols[XBT].book):
            assert (book.bids.levels, book.asks.levels) == exchange == client
        tob = batched.symbols[XBT].tob
        assert tob is not None and (tob.bid_price, tob.ask_price) == (max(client[0]), min(client[1]))
    assert batched.symbols[XBT].book_status is BookStatus.LIVE and not sink.resyncs
