"""The download service's memory of what was published (plain calls)."""

from __future__ import annotations

from common.messages import (
    Liquidity,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionUpdate,
    Side,
    TradeUpdate,
    UpdateType,
)
from services.dropcopy.published import PublishedState

ORDERS = "oms.kraken-futures.main.order."
TRADES = "oms.kraken-futures.main.trade."
POSITIONS = "oms.kraken-futures.main.position."


def order(oid: str, status: OrderStatus) -> OrderUpdate:
    remaining = 0.0 if status is OrderStatus.FILLED else 1.0
    return OrderUpdate(
        account="main",
        exchange="kraken-futures",
        symbol="PF_XBTUSD",
        exchange_order_id=oid,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        status=status,
        quantity=1.0,
        remaining_quantity=remaining,
    )


def fill(tid: str) -> TradeUpdate:
    return TradeUpdate(
        account="main",
        exchange="kraken-futures",
        symbol="PF_XBTUSD",
        exchange_order_id="o1",
        trade_id=tid,
        side=Side.BUY,
        price=1.0,
        quantity=1.0,
        liquidity=Liquidity.TAKER,
    )


def key(m: object) -> str:
    if isinstance(m, TradeUpdate):
        return m.trade_id
    if isinstance(m, OrderUpdate):
        return m.exchange_order_id
    assert isinstance(m, PositionUpdate)
    return m.symbol


def test_open_state_then_recent_finished_orders_and_fills() -> None:
    p = PublishedState(recent=2)
    p.record(ORDERS, order("o1", OrderStatus.WORKING))
    p.record(ORDERS, order("o2", OrderStatus.WORKING))
    p.record(TRADES, fill("t1"))
    p.record(ORDERS, order("o1", OrderStatus.FILLED))
    p.record(POSITIONS, PositionUpdate(account="main", exchange="kraken-futures", symbol="PF_XBTUSD", position=1.0))
    got = [(t, key(m)) for t, m in p.entries(("oms.kraken-futures.main.",))]
    # recent first (so a finished order never follows its own open state), then current state
    assert got[:2] == [(TRADES, "t1"), (ORDERS, "o1")]
    assert sorted(got[2:]) == [(ORDERS, "o2"), (POSITIONS, "PF_XBTUSD")]
    assert all(m.update_type is UpdateType.SNAPSHOT for _, m in p.entries(("",)))  # type: ignore[attr-defined]


def test_recent_memory_is_bounded_and_keeps_the_newest() -> None:
    p = PublishedState(recent=2)
    for i in range(5):
        p.record(TRADES, fill(f"t{i}"))
        p.record(ORDERS, order(f"o{i}", OrderStatus.CANCELLED))
    trades = [m.trade_id for t, m in p.entries((TRADES,)) if isinstance(m, TradeUpdate)]
    orders = [m.exchange_order_id for t, m in p.entries((ORDERS,)) if isinstance(m, OrderUpdate)]
    assert trades == ["t3", "t4"] and orders == ["o3", "o4"]
    assert not list(PublishedState(recent=0).entries(("",)))
