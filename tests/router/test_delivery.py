"""The router's delivery ledger and REST reconciliation, as plain functions (no I/O): each fill
once, each order state once and never older than what was forwarded, one final update per order,
and the outcome of an order that closed while the drop-copy feed was interrupted."""

from __future__ import annotations

from typing import Any

from common.kraken import clordid
from common.kraken.orders.orderstatus import StatusEntry, parse
from common.messages import Liquidity, OrderStatus, OrderType, OrderUpdate, Side, TradeUpdate, UpdateType
from common.oms.inputs import FillEvent
from services.router.delivery import Delivery, Ledger, from_rest
from services.router.registry import OrderEntry, OrderState

X = "kraken-futures"


def entry(order_id: int = 1, quantity: float = 2.0, account: str = "main") -> OrderEntry:
    return OrderEntry("alice", order_id, account, "PF_XBTUSD", OrderType.LIMIT, clordid.make("alice", order_id), None,
                      OrderState.WORKING, "ex-1", side=Side.BUY, quantity=quantity, price=50000.0)


def update(status: OrderStatus, traded: float = 0.0, *, seq: int = 1, session: str = "s1", order_id: int = 1,
           price: float = 50000.0, quantity: float = 2.0) -> OrderUpdate:
    return OrderUpdate(account="main", exchange=X, symbol="PF_XBTUSD", order_id=order_id, exchange_order_id="ex-1",
                       client_order_id=clordid.make("alice", order_id), side=Side.BUY, order_type=OrderType.LIMIT,
                       status=status, quantity=quantity, remaining_quantity=quantity - traded,
                       traded_quantity=traded, price=price, seq=seq, session=session)


def trade(trade_id: str) -> TradeUpdate:
    return TradeUpdate(account="main", exchange=X, symbol="PF_XBTUSD", order_id=1, exchange_order_id="ex-1",
                       client_order_id="k1.alice.1", trade_id=trade_id, side=Side.BUY, price=50000.0, quantity=1.0,
                       liquidity=Liquidity.MAKER)


def fill(fill_id: str, quantity: float, *, cid: str | None = "k1.alice.1", time_ms: int = 1000,
         eid: str = "ex-1") -> FillEvent:
    return FillEvent(fill_id=fill_id, exchange_order_id=eid, client_order_id=cid, symbol="PF_XBTUSD",
                     side=Side.BUY, quantity=quantity, price=49990.0, time_ms=time_ms, liquidity=Liquidity.MAKER,
                     fee=0.0, fee_currency="", remaining_order_quantity=None)


def status(word_status: OrderStatus | None, remaining: float, filled: float) -> StatusEntry:
    return StatusEntry("ex-1", "k1.alice.1", "PF_XBTUSD", Side.BUY, remaining, filled, 50000.0, False, 2000,
                       word_status, "x")


def test_each_fill_once_within_the_bound() -> None:
    ledger = Ledger(trade_ids=2)
    assert ledger.admit(trade("a"))
    assert not ledger.admit(trade("a"))
    assert ledger.admit(trade("b")) and ledger.admit(trade("c"))
    assert not ledger.admit(trade("c"))
    assert ledger.admit(trade("a"))  # forgotten beyond the bound


def test_order_state_once_and_never_older() -> None:
    ledger = Ledger()
    assert ledger.admit(update(OrderStatus.WORKING, seq=1))
    assert not ledger.admit(update(OrderStatus.WORKING, seq=5))  # same content (e.g. a download entry)
    assert ledger.admit(update(OrderStatus.WORKING, seq=6, price=49000.0))  # an edit: new price
    assert not ledger.admit(update(OrderStatus.PARTIALLY_FILLED, 1.0, seq=4))  # behind on the topic
    assert ledger.admit(update(OrderStatus.PARTIALLY_FILLED, 1.0, seq=7))
    # a restarted drop-copy (new session): content decides, and less traded is older
    assert not ledger.admit(update(OrderStatus.WORKING, 0.0, seq=1, session="s2"))
    assert not ledger.admit(update(OrderStatus.PARTIALLY_FILLED, 1.0, seq=2, session="s2"))
    assert ledger.admit(update(OrderStatus.FILLED, 2.0, seq=3, session="s2"))
    # nothing after the final status, from anywhere
    assert not ledger.admit(update(OrderStatus.FILLED, 2.0, seq=9, session="s2"))
    assert not ledger.admit(update(OrderStatus.CANCELLED, 2.0, seq=0, session=""))


def test_owed_lists_placed_orders_without_final_update_and_not_open() -> None:
    ledger = Ledger()
    a, b, c, d = entry(1), entry(2), entry(3), entry(4, account="other")
    ledger.watch(a)  # create in flight: not owed yet
    for e in (b, c, d):
        ledger.placed(e)
    assert [x.cli_ord_id for x in ledger.owed("main", set())] == [b.cli_ord_id, c.cli_ord_id]
    assert [x.cli_ord_id for x in ledger.owed("main", {b.cli_ord_id})] == [c.cli_ord_id]
    ledger.admit(update(OrderStatus.CANCELLED, order_id=3))
    assert [x.cli_ord_id for x in ledger.owed("main", {b.cli_ord_id})] == []


def test_orders_bound_forgets_least_recently_touched() -> None:
    ledger = Ledger(orders=2)
    ledger.placed(entry(1))
    ledger.placed(entry(2))
    ledger.admit(update(OrderStatus.WORKING, order_id=1))  # touches order 1
    ledger.placed(entry(3))
    assert ledger.get("k1.alice.2") is None and ledger.get("k1.alice.1") is not None


def owed(e: OrderEntry) -> Delivery:
    return Delivery(e.cli_ord_id, e, placed=True)


def test_still_open_on_kraken() -> None:
    found = from_rest(owed(entry()), status(None, 2.0, 0.0), [], X)
    assert found.still_open and found.final is None and found.trades == []


def test_filled_within_five_seconds_with_its_fills() -> None:
    found = from_rest(owed(entry()), status(OrderStatus.FILLED, 0.0, 2.0),
                      [fill("f2", 1.5, time_ms=1002), fill("f1", 0.5, time_ms=1001),
                       fill("zz", 9.0, cid="k1.bob.1", eid="ex-2"), fill("f0", 0.1, cid=None, eid="ex-3")], X)
    assert [t.trade_id for t in found.trades] == ["f1", "f2"]
    assert all(t.update_type is UpdateType.SNAPSHOT and t.order_id == 1 for t in found.trades)
    final = found.final
    assert final is not None and final.status is OrderStatus.FILLED
    assert (final.traded_quantity, final.quantity, final.remaining_quantity) == (2.0, 2.0, 0.0)
    assert final.average_traded_price == 49990.0 and final.client_order_id == "k1.alice.1"


def test_cancelled_after_a_partial_fill_stays_cancelled() -> None:
    found = from_rest(owed(entry()), status(OrderStatus.CANCELLED, 1.0, 1.0), [fill("f1", 1.0)], X)
    final = found.final
    assert final is not None and final.status is OrderStatus.CANCELLED
    assert (final.traded_quantity, final.quantity, final.remaining_quantity) == (1.0, 2.0, 0.0)


def test_forgotten_by_kraken_fills_decide() -> None:
    filled = from_rest(owed(entry()), None, [fill("f1", 2.0)], X)
    assert filled.final is not None and filled.final.status is OrderStatus.FILLED
    cancelled = from_rest(owed(entry()), None, [fill("f1", 0.5)], X)
    assert cancelled.final is not None and cancelled.final.status is OrderStatus.CANCELLED
    assert cancelled.final.traded_quantity == 0.5
    nothing = from_rest(owed(entry()), None, [], X)
    assert nothing.final is not None and nothing.final.status is OrderStatus.CANCELLED
    assert nothing.final.exchange_order_id == "ex-1"


def test_forgotten_by_kraken_keeps_what_was_forwarded() -> None:
    d = owed(entry())
    ledger = Ledger()
    ledger.admit(update(OrderStatus.PARTIALLY_FILLED, 1.5))
    seen = ledger.get("k1.alice.1")
    assert seen is not None
    d.seen = seen.seen
    found = from_rest(d, None, [], X)  # its fills are older than Kraken's last 100
    assert found.final is not None and found.final.traded_quantity == 1.5
    assert found.final.status is OrderStatus.CANCELLED


def test_orders_status_parse() -> None:
    body: dict[str, Any] = {"result": "success", "orders": [
        {"order": {"type": "ORDER", "orderId": "o1", "cliOrdId": "k1.alice.1", "symbol": "pf_xbtusd", "side": "buy",
                   "quantity": "0", "filled": "0.01", "limitPrice": "50001", "reduceOnly": False,
                   "lastUpdateTimestamp": "2026-11-22T05:20:03.228Z"}, "status": "FULLY_EXECUTED",
         "updateReason": None, "error": None},
        {"order": {"orderId": "o2", "side": "sell", "quantity": "1", "filled": "0"}, "status": "TRIGGER_PLACED"},
        {"order": {"orderId": "o3", "side": "sell"}, "status": "SOMETHING_NEW"},
        {"status": "CANCELLED"},
    ]}
    got = parse(body)
    assert [(s.exchange_order_id, s.status) for s in got] == [("o1", OrderStatus.FILLED), ("o2", None)]
    assert got[0].symbol == "PF_XBTUSD" and got[0].filled == 0.01 and got[0].update_time_ms > 0
