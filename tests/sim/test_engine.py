"""Matching engine, by plain function calls (no sockets): crossing, partial fills, post-only,
IOC, market protection, triggers, reduce-only, self-trade prevention, margin and the dead man's
switch."""

from __future__ import annotations

import pytest

from services.sim.engine.accounts import Account
from services.sim.engine.engine import Engine, EngineParams
from services.sim.engine.events import BookDelta, FillUpdate, OrderUpdate, Outcome, PublicTrade
from services.sim.engine.instruments import Instrument

PF = Instrument("PF_XBTUSD", inverse=False, tick_size=1.0, contract_size=1.0, precision=4,
                base="XBT", start_price=50_000.0, initial_margin=0.02)
PI = Instrument("PI_XBTUSD", inverse=True, tick_size=0.5, contract_size=1.0, precision=0,
                base="XBT", start_price=50_000.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def eng(clock: Clock) -> Engine:
    e = Engine([PF, PI], clock, params=EngineParams(maker_fee=0.0002, taker_fee=0.0005))
    for name in ("alice", "bob"):
        e.add_account(Account(name, flex={"USD": 100_000.0}, margin={"fi_xbtusd": 1.0}))
    return e


def lmt(e: Engine, who: str, side: str, size: float, price: float, *, order_type: str = "lmt",
        cli_ord_id: str | None = None, reduce_only: bool = False) -> Outcome:
    return e.send(who, symbol="PF_XBTUSD", side=side, order_type=order_type, size=size,
                  limit_price=price, cli_ord_id=cli_ord_id, reduce_only=reduce_only)


def test_crossing_and_price_time_priority(eng: Engine) -> None:
    a1 = lmt(eng, "alice", "sell", 1, 50_010)
    a2 = lmt(eng, "alice", "sell", 1, 50_010)
    assert a1.status == a2.status == "placed"
    eng.drain()
    out = lmt(eng, "bob", "buy", 1.5, 50_020)
    assert out.status == "placed"
    execs = [e for e in out.order_events if e.kind == "EXECUTION"]
    assert [(x.price, x.amount) for x in execs] == [(50_010, 1), (50_010, 0.5)]
    assert a1.order_id not in eng.orders  # first in, first filled
    assert eng.orders[str(a2.order_id)].remaining == 0.5
    assert out.order_id not in eng.orders  # taker fully filled, never rested
    events = eng.drain()
    deltas = [e for e in events if isinstance(e, BookDelta)]
    assert [d.qty for d in deltas] == [1.0, 0.5]
    assert deltas[1].seq == deltas[0].seq + 1
    trades = [e for e in events if isinstance(e, PublicTrade)]
    assert [t.side for t in trades] == ["buy", "buy"]
    reasons = [(e.account, e.reason) for e in events if isinstance(e, OrderUpdate)]
    assert ("alice", "full_fill") in reasons and ("alice", "partial_fill") in reasons
    assert eng.accounts["bob"].positions["PF_XBTUSD"].size == 1.5
    assert eng.accounts["alice"].positions["PF_XBTUSD"].size == -1.5


def test_partial_fill_rests_remainder(eng: Engine) -> None:
    lmt(eng, "alice", "sell", 0.3, 50_000)
    out = lmt(eng, "bob", "buy", 1, 50_000)
    o = eng.orders[str(out.order_id)]
    assert (o.filled, o.remaining) == (0.3, 0.7)
    assert eng.books["PF_XBTUSD"].best_bid() == 50_000
    assert [e.kind for e in out.order_events] == ["EXECUTION", "PLACE"]
    fills = [e.fill for e in eng.drain() if isinstance(e, FillUpdate)]
    maker = next(f for f in fills if f["fill_type"] == "maker")
    taker = next(f for f in fills if f["fill_type"] == "taker")
    assert maker["buy"] is False and taker["buy"] is True
    assert taker["fee_paid"] == pytest.approx(0.3 * 50_000 * 0.0005)
    assert taker["remaining_order_qty"] == pytest.approx(0.7)


def test_post_only_would_execute(eng: Engine) -> None:
    lmt(eng, "alice", "sell", 1, 50_000)
    eng.drain()
    out = lmt(eng, "bob", "buy", 1, 50_000, order_type="post")
    assert out.status == "postWouldExecute"
    ev = eng.drain()
    assert [(e.reason, e.verbose_only) for e in ev if isinstance(e, OrderUpdate)] == [
        ("post_order_failed_because_it_would_filled", True)]
    assert lmt(eng, "bob", "buy", 1, 49_999, order_type="post").status == "placed"


def test_ioc_would_not_execute_and_partial(eng: Engine) -> None:
    assert lmt(eng, "bob", "buy", 1, 50_000, order_type="ioc").status == "iocWouldNotExecute"
    lmt(eng, "alice", "sell", 0.4, 50_000)
    out = lmt(eng, "bob", "buy", 1, 50_000, order_type="ioc")
    assert out.status == "placed"
    assert sum(e.amount for e in out.order_events if e.kind == "EXECUTION") == pytest.approx(0.4)
    assert not eng.open_orders("bob")


def test_market_order_has_price_protection(eng: Engine) -> None:
    lmt(eng, "alice", "sell", 1, 50_400)
    lmt(eng, "alice", "sell", 1, 50_600)  # beyond mark + 1 %
    out = eng.send("bob", symbol="pf_xbtusd", side="buy", order_type="mkt", size=2)
    execs = [e for e in out.order_events if e.kind == "EXECUTION"]
    assert [e.price for e in execs] == [50_400]
    assert execs[0].order.limit_price == 50_500


def test_size_and_price_validation(eng: Engine) -> None:
    assert lmt(eng, "bob", "buy", 0.00001, 50_000).status == "invalidSize"
    assert lmt(eng, "bob", "buy", 1, 50_000.5).status == "invalidPrice"
    out = eng.send("bob", symbol="PI_XBTUSD", side="buy", order_type="lmt", size=1.5,
                   limit_price=50_000)
    assert out.status == "invalidSize"


def test_stop_triggers_on_last_and_mark(eng: Engine) -> None:
    stop = eng.send("bob", symbol="PF_XBTUSD", side="buy", order_type="stp", size=1,
                    stop_price=50_100, limit_price=50_200)
    assert stop.status == "placed"
    assert stop.order_events[0].order.is_trigger
    lmt(eng, "alice", "sell", 2, 50_150)
    eng.drain()
    eng.market_order("PF_XBTUSD", "buy", 0.5, 50_150)  # last = 50 150 >= stop
    ev = eng.drain()
    reasons = [e.reason for e in ev if isinstance(e, OrderUpdate) and e.account == "bob"]
    assert reasons[0] == "stop_order_triggered"
    assert eng.accounts["bob"].positions["PF_XBTUSD"].size == 1
    tp = eng.send("bob", symbol="PF_XBTUSD", side="sell", order_type="take_profit", size=1,
                  stop_price=51_000, trigger_signal="mark", reduce_only=True)
    assert tp.status == "placed" and tp.order_id in eng.orders
    eng.cancel_all("alice")
    lmt(eng, "alice", "buy", 1, 50_900)
    eng.set_mark("PF_XBTUSD", 51_000)
    assert tp.order_id not in eng.orders
    assert eng.accounts["bob"].positions["PF_XBTUSD"].size == 0


def test_reduce_only(eng: Engine) -> None:
    assert lmt(eng, "bob", "sell", 1, 50_000, reduce_only=True).status == "wouldNotReducePosition"
    lmt(eng, "alice", "sell", 1, 50_000)
    lmt(eng, "bob", "buy", 1, 50_000)
    assert lmt(eng, "bob", "buy", 1, 49_000, reduce_only=True).status == "wouldNotReducePosition"
    out = lmt(eng, "bob", "sell", 3, 51_000, reduce_only=True)
    assert out.status == "placed"
    assert eng.orders[str(out.order_id)].qty == 1
    assert out.order_events[0].reduced_qty == 2


def test_self_trade_prevention_rejects_taker(eng: Engine) -> None:
    mine = lmt(eng, "bob", "sell", 1, 50_000)
    out = lmt(eng, "bob", "buy", 1, 50_000)
    assert out.status == "selfFill"
    assert mine.order_id in eng.orders and out.order_id not in eng.orders
    assert eng.accounts["bob"].positions.get("PF_XBTUSD") is None


def test_self_trade_cancel_maker(clock: Clock) -> None:
    e = Engine([PF], clock, params=EngineParams(self_trade="cancel_maker"))
    e.add_account(Account("bob", flex={"USD": 100_000.0}))
    mine = lmt(e, "bob", "sell", 1, 50_000)
    out = lmt(e, "bob", "buy", 1, 50_000)
    assert out.status == "placed" and mine.order_id not in e.orders and out.order_id in e.orders


def test_insufficient_available_funds(eng: Engine) -> None:
    # 100 000 USD at 2 % initial margin carries 5 000 000 USD notional = 100 XBT at 50 000
    assert lmt(eng, "bob", "buy", 120, 50_000).status == "insufficientAvailableFunds"
    lmt(eng, "alice", "sell", 90, 50_000)
    assert lmt(eng, "bob", "buy", 90, 50_000).status == "placed"
    assert lmt(eng, "bob", "buy", 20, 49_000).status == "insufficientAvailableFunds"
    # orders that reduce exposure need no margin
    assert lmt(eng, "bob", "sell", 50, 60_000).status == "placed"


def test_cancel_edit_and_cli_ord_id(eng: Engine) -> None:
    out = lmt(eng, "bob", "buy", 1, 49_000, cli_ord_id="c1")
    assert lmt(eng, "bob", "buy", 1, 49_000, cli_ord_id="c1").status == "clientOrderIdAlreadyExist"
    ed = eng.edit("bob", cli_ord_id="c1", size=2, limit_price=49_500)
    assert ed.status == "edited" and ed.order_events[0].old is not None
    assert eng.books["PF_XBTUSD"].best_bid() == 49_500
    assert eng.edit("bob", order_id="nope").status == "orderForEditNotFound"
    assert eng.cancel("bob", cli_ord_id="c1").status == "cancelled"
    assert eng.cancel("bob", order_id=out.order_id).status == "notFound"
    assert eng.books["PF_XBTUSD"].best_bid() is None
    assert eng.cancel_all("bob").status == "noOrdersToCancel"


def test_dead_mans_switch(eng: Engine, clock: Clock) -> None:
    lmt(eng, "bob", "buy", 1, 49_000)
    lmt(eng, "bob", "buy", 1, 48_000)
    now, trig = eng.cancel_all_after("bob", 60)
    assert trig == now + 60_000
    clock.now += 30_000
    eng.cancel_all_after("bob", 60)  # re-arm pushes the deadline
    clock.now += 40_000
    eng.tick()
    assert len(eng.open_orders("bob")) == 2
    eng.drain()
    clock.now += 21_000
    eng.tick()
    assert not eng.open_orders("bob")
    assert {e.reason for e in eng.drain() if isinstance(e, OrderUpdate)} == {"dead_man_switch"}
    assert "bob" not in eng.dms  # disarmed after firing
    lmt(eng, "bob", "buy", 1, 49_000)
    eng.cancel_all_after("bob", 10)
    assert eng.cancel_all_after("bob", 0)[1] == 0
    clock.now += 20_000
    eng.tick()
    assert len(eng.open_orders("bob")) == 1


def test_inverse_position_pnl(eng: Engine) -> None:
    eng.send("alice", symbol="PI_XBTUSD", side="sell", order_type="lmt", size=10_000,
             limit_price=50_000)
    eng.send("bob", symbol="PI_XBTUSD", side="buy", order_type="lmt", size=10_000,
             limit_price=50_000)
    pos = eng.accounts["bob"].positions["PI_XBTUSD"]
    assert (pos.size, pos.entry_price) == (10_000, 50_000)
    eng.set_mark("PI_XBTUSD", 55_000)
    eq = eng.equity(eng.accounts["bob"], "fi_xbtusd")
    fee = 10_000 / 50_000 * 0.0005
    assert eq == pytest.approx(1.0 - fee + 10_000 * (1 / 50_000 - 1 / 55_000))


def test_skip_seq_fault(eng: Engine) -> None:
    lmt(eng, "bob", "buy", 1, 49_000)
    first = next(e for e in eng.drain() if isinstance(e, BookDelta))
    eng.skip_seq.add("PF_XBTUSD")
    lmt(eng, "bob", "buy", 1, 48_000)
    second = next(e for e in eng.drain() if isinstance(e, BookDelta))
    assert second.seq == first.seq + 2
