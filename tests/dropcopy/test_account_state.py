"""The converging account state: scenarios from the protocol reference, and hypothesis over
every arrival order of the same events."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from common.messages import (
    CancelReason,
    Liquidity,
    OrderStatus,
    OrderType,
    OrderUpdate,
    PositionUpdate,
    Side,
    TimeInForce,
    TradeUpdate,
    UpdateType,
)
from common.oms.account_state import AccountState, Out
from common.oms.inputs import FillEvent, FundsEntry, OrderClosed, OrderView, PositionEntry

OID = "ex-1"
CLI = "k1.alice.42"


def view(
    t: int, remaining: float | None, filled: float, *, oid: str = OID, reason: str = "", price: float = 100.0
) -> OrderView:
    return OrderView(
        exchange_order_id=oid,
        symbol="PF_XBTUSD",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        remaining=remaining,
        filled=filled,
        price=price,
        stop_price=None,
        reduce_only=False,
        client_order_id=CLI,
        update_time_ms=t,
        text=reason,
    )


def fill(fid: str, t: int, qty: float, price: float, remaining: float | None, *, oid: str = OID) -> FillEvent:
    return FillEvent(
        fill_id=fid,
        exchange_order_id=oid,
        client_order_id=CLI,
        symbol="PF_XBTUSD",
        side=Side.BUY,
        quantity=qty,
        price=price,
        time_ms=t,
        liquidity=Liquidity.MAKER,
        fee=0.01,
        fee_currency="USD",
        remaining_order_quantity=remaining,
    )


def close(oid: str = OID, v: OrderView | None = None) -> OrderClosed:
    return OrderClosed(oid, OrderStatus.CANCELLED, CancelReason.USER, "cancelled_by_user", view=v)


def orders(out: list[Out]) -> list[OrderUpdate]:
    return [m for k, m in out if k == "order" and isinstance(m, OrderUpdate)]


def trades(out: list[Out]) -> list[TradeUpdate]:
    return [m for k, m in out if k == "trade" and isinstance(m, TradeUpdate)]


def feed(state: AccountState, event: Any) -> list[Out]:
    if isinstance(event, OrderView):
        return state.on_order(event)
    if isinstance(event, OrderClosed):
        return state.on_order_closed(event)
    return state.on_fill(event)


def live_state() -> AccountState:
    s = AccountState("kraken-futures", "main")
    s.begin_download(0)
    s.end_download()
    return s


def test_place_partial_fill_full_fill() -> None:
    s = live_state()
    [u] = orders(s.on_order(view(1, 2.0, 0.0, reason="new_placed_order_by_user")))
    assert (u.status, u.quantity, u.remaining_quantity, u.order_id, u.client_order_id) == (
        OrderStatus.WORKING, 2.0, 2.0, 42, CLI)
    out = s.on_fill(fill("f1", 2, 0.5, 100.0, 1.5))
    [t] = trades(out)
    [u] = orders(out)
    assert (t.trade_id, t.order_id, t.liquidity, t.fee) == ("f1", 42, Liquidity.MAKER, 0.01)
    assert (u.status, u.traded_quantity, u.remaining_quantity, u.average_traded_price) == (
        OrderStatus.PARTIALLY_FILLED, 0.5, 1.5, 100.0)
    assert s.on_order(view(2, 1.5, 0.5, reason="partial_fill")) == []  # nothing new
    out = s.on_fill(fill("f2", 3, 1.5, 102.0, 0.0))
    [u] = orders(out)
    assert (u.status, u.traded_quantity, u.remaining_quantity, u.average_traded_price) == (
        OrderStatus.FILLED, 2.0, 0.0, 101.5)
    assert s.on_order(view(3, 0.0, 2.0, reason="full_fill")) == []


def test_fast_fill_never_seen_open_is_filled() -> None:
    s = live_state()
    [u] = orders(s.on_fill(fill("f1", 5, 1.0, 100.0, 0.0)))
    assert (u.status, u.quantity, u.remaining_quantity) == (OrderStatus.FILLED, 1.0, 0.0)
    # the placement event arriving late changes nothing a subscriber would care about
    assert s.on_order(view(1, 1.0, 0.0, reason="new_placed_order_by_user")) == []


def test_full_fill_removal_before_the_fills() -> None:
    s = live_state()
    s.on_order(view(1, 1.0, 0.0))
    [u] = orders(s.on_order(view(3, 0.0, 1.0, reason="full_fill")))
    assert (u.status, u.traded_quantity, u.average_traded_price) == (OrderStatus.FILLED, 1.0, None)
    out = s.on_fill(fill("f1", 3, 1.0, 99.0, 0.0))
    [u] = orders(out)
    assert (u.status, u.average_traded_price) == (OrderStatus.FILLED, 99.0)
    assert len(trades(out)) == 1


def test_bare_cancel_of_unknown_order_waits_for_its_details() -> None:
    s = live_state()
    assert s.on_order_closed(close("ex-9")) == []
    [u] = orders(s.on_order(view(1, 3.0, 0.0, oid="ex-9")))
    assert (u.status, u.cancel_reason, u.remaining_quantity, u.quantity) == (
        OrderStatus.CANCELLED, CancelReason.USER, 0.0, 3.0)


def test_triggered_stop_keeps_its_type_and_stop_price() -> None:
    """Kraken continues a triggered stop as a "limit" (stop_price 0) under the same order id."""
    s = live_state()
    stop = OrderView("st", "PF_XBTUSD", Side.BUY, OrderType.STOP, TimeInForce.GTC, 1.0, 0.0, 110.0, 105.0, False,
                     CLI, 1)
    s.on_order(stop)
    assert s.on_order(OrderView("st", "PF_XBTUSD", Side.BUY, OrderType.LIMIT, TimeInForce.GTC, 1.0, 0.0,
                                110.0, None, False, CLI, 2, "limit_order_from_stop")) == []  # nothing changed
    [u] = orders(s.on_fill(fill("sf", 3, 1.0, 110.0, 0.0, oid="st")))
    assert (u.order_type, u.stop_price, u.status) == (OrderType.STOP, 105.0, OrderStatus.FILLED)


def test_edit_changes_quantity() -> None:
    s = live_state()
    s.on_order(view(1, 2.0, 0.0))
    [u] = orders(s.on_order(view(2, 5.0, 0.0, reason="edited_by_user", price=99.0)))
    assert (u.quantity, u.remaining_quantity, u.price) == (5.0, 5.0, 99.0)


def test_duplicate_fills_are_published_once() -> None:
    s = live_state()
    f = fill("f1", 2, 1.0, 100.0, 1.0)
    assert len(trades(s.on_fill(f))) == 1
    assert s.on_fill(f) == []
    assert s.counters.duplicate_fills == 1


def test_reconnect_publishes_gap_fill_and_cancel_once() -> None:
    s = live_state()
    s.on_order(view(1, 1.0, 0.0, oid="a"))
    s.on_order(view(1, 1.0, 0.0, oid="b"))
    s.on_order(view(1, 1.0, 0.0, oid="c"))
    # disconnected: a filled, b cancelled, c still open
    s.begin_download(10)
    gap_fill = fill("fa", 5, 1.0, 101.0, 0.0, oid="a")
    assert s.on_fills([gap_fill]) == []  # fills_snapshot: held until the end
    assert s.on_orders([view(1, 1.0, 0.0, oid="c")]) == []  # open_orders_snapshot
    s.on_fills([gap_fill])  # REST fills: the same fill again
    s.on_orders([view(1, 1.0, 0.0, oid="c")])  # REST openorders
    out = s.end_download()
    [t] = trades(out)
    assert (t.trade_id, t.update_type) == ("fa", UpdateType.INCREMENTAL)
    by_id = {u.exchange_order_id: u for u in orders(out)}
    assert by_id["a"].status is OrderStatus.FILLED and by_id["a"].update_type is UpdateType.INCREMENTAL
    assert (by_id["b"].status, by_id["b"].cancel_reason) == (OrderStatus.CANCELLED, CancelReason.OTHER)
    assert (by_id["c"].status, by_id["c"].update_type) == (OrderStatus.WORKING, UpdateType.SNAPSHOT)
    # after the download: the same facts again change nothing
    assert s.on_fill(gap_fill) == [] and s.on_order_closed(close("b")) == []
    # a second reconnect with nothing new re-asserts only the open order
    s.begin_download(20)
    s.on_orders([view(1, 1.0, 0.0, oid="c")])
    s.on_fills([gap_fill])
    out = s.end_download()
    assert [(u.exchange_order_id, u.update_type) for u in orders(out)] == [("c", UpdateType.SNAPSHOT)]
    assert trades(out) == []


def test_download_cut_short_keeps_what_it_held() -> None:
    s = live_state()
    s.on_order(view(1, 1.0, 0.0, oid="a"))
    s.begin_download(10)
    s.on_fills([fill("fa", 5, 1.0, 101.0, 0.0, oid="a")])
    s.begin_download(20)  # disconnected again before the download finished
    s.on_fills([fill("fa", 5, 1.0, 101.0, 0.0, oid="a")])
    out = s.end_download()
    assert [t.trade_id for t in trades(out)] == ["fa"]
    assert [u.status for u in orders(out)] == [OrderStatus.FILLED]


def test_first_download_is_all_snapshot() -> None:
    s = AccountState("kraken-futures", "main")
    s.begin_download(10)
    s.on_fills([fill("old", 1, 1.0, 100.0, 0.0, oid="old-order")])
    s.on_orders([view(2, 1.0, 0.0, oid="open")])
    s.on_positions([PositionEntry("PF_XBTUSD", 1.0, 100.0, 0.5, 3)])
    s.on_funds([FundsEntry("USD", 10.0, 9.0, 1.0, 0.5, 10.5, 0.5, 3)])
    out = s.end_download()
    assert {m.update_type for _, m in out} == {UpdateType.SNAPSHOT}  # type: ignore[attr-defined]
    assert [k for k, _ in out].count("position") == 1 and [k for k, _ in out].count("funds") == 1
    assert {u.exchange_order_id: u.status for u in orders(out)} == {
        "old-order": OrderStatus.FILLED, "open": OrderStatus.WORKING}


def test_fill_arriving_during_download_for_an_order_not_yet_seen_is_not_closed() -> None:
    s = live_state()
    s.begin_download(10)
    s.on_orders([])
    s.on_fill(fill("f1", 11, 0.5, 100.0, 0.5, oid="new"))
    out = s.end_download()
    # open (partially filled), waiting for its open_orders event; not closed by inference
    assert [(u.status, u.update_type) for u in orders(out)] == [(OrderStatus.PARTIALLY_FILLED, UpdateType.SNAPSHOT)]
    assert orders(s.on_order(view(11, 0.5, 0.5, oid="new")))[0].status is OrderStatus.PARTIALLY_FILLED


def test_closed_position_is_published_as_zero() -> None:
    s = live_state()
    [(_, p)] = s.on_positions([PositionEntry("PF_XBTUSD", 1.0, 100.0, 0.0, 1)])
    assert isinstance(p, PositionUpdate) and p.position == 1.0
    assert s.on_positions([PositionEntry("PF_XBTUSD", 1.0, 100.0, 3.0, 2)]) == []  # pnl only
    [(_, z)] = s.on_positions([], 3)
    assert isinstance(z, PositionUpdate) and (z.symbol, z.position) == ("PF_XBTUSD", 0.0)
    assert s.on_positions([], 4) == []


def test_position_closed_while_disconnected_is_published_as_zero() -> None:
    s = live_state()
    s.on_positions([PositionEntry("PF_XBTUSD", 1.0, 100.0, 0.0, 1)])
    s.begin_download(10)
    s.on_positions([], 11)
    out = s.end_download()
    assert [(m.symbol, m.position) for k, m in out if isinstance(m, PositionUpdate)] == [("PF_XBTUSD", 0.0)]


def test_funds_merge_by_currency() -> None:
    s = live_state()
    s.on_funds([FundsEntry("USD", 10.0, 9.0, None, None, None, None, 1)])
    assert s.on_funds([FundsEntry("USD", 10.0, 9.0, None, None, None, None, 2)]) == []
    assert len(s.on_funds([FundsEntry("XBT", 1.0, 1.0, None, None, None, None, 2)])) == 1
    assert set(s.funds) == {"USD", "XBT"}


# ---------------------------------------------------------------------- every arrival order


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Any], dict[str, Any]]:
    """One order's true history as the events Kraken would send about it, plus the truth."""
    fast = draw(st.booleans())  # a fast (IOC/market) order never seen on open_orders
    total = float(draw(st.integers(1, 12)))
    t, filled, notional = 100, 0.0, 0.0
    events: list[Any] = []
    if not fast:
        events.append(view(t, total, 0.0, reason="new_placed_order_by_user"))
    for i in range(draw(st.integers(0, 4))):
        if filled >= total:
            break  # a filled order is gone: no more edits or fills
        if not fast and draw(st.booleans()):
            total = float(draw(st.integers(int(filled) + 1, int(filled) + 12)))
            t += 1
            events.append(view(t, total - filled, filled, reason="edited_by_user"))
        q = float(draw(st.integers(1, int(total - filled))))
        price = float(draw(st.sampled_from([99, 100, 101])))
        t += 1
        filled += q
        notional += q * price
        f = fill(f"f{i}", t, q, price, total - filled)
        events.append(f)
        if draw(st.booleans()):  # the same fill again from REST reconciliation (no remainder)
            events.append(FillEvent(**{**{s: getattr(f, s) for s in f.__slots__}, "remaining_order_quantity": None}))
        if not fast:
            events.append(view(t, total - filled, filled, reason="full_fill" if filled == total else "partial_fill"))
    cancelled = filled < total and (fast or draw(st.booleans()))
    if cancelled:
        t += 1
        with_view = not fast and draw(st.booleans())
        events.append(close(v=view(t, total - filled, filled) if with_view else None))
    if fast and not events:
        events.append(close())
    if filled == total:
        status = OrderStatus.FILLED
    elif cancelled:
        status = OrderStatus.CANCELLED
    else:
        status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.WORKING
    truth = {
        "status": status,
        "traded": filled,
        "quantity": total,
        "remaining": 0.0 if status in (OrderStatus.FILLED, OrderStatus.CANCELLED) else total - filled,
        "average": notional / filled if filled else None,
        "fills": len({e.fill_id for e in events if isinstance(e, FillEvent)}),
    }
    return events, truth


@settings(max_examples=400, deadline=None)
@given(data=st.data(), history=histories())
def test_any_arrival_order_converges(data: st.DataObject, history: tuple[list[Any], dict[str, Any]]) -> None:
    events, truth = history
    shuffled = data.draw(st.permutations(events))
    s = live_state()
    out: list[Out] = []
    for e in shuffled:
        out.extend(feed(s, e))
    updates = orders(out)
    assert len(trades(out)) == truth["fills"]
    if not updates:  # only a bare cancel of an order never seen: nothing can be said
        assert truth["fills"] == 0
        return
    last = updates[-1]
    assert last.status is truth["status"], (shuffled, updates)
    assert abs(last.traded_quantity - truth["traded"]) < 1e-9
    assert abs(last.remaining_quantity - truth["remaining"]) < 1e-9
    if truth["status"] is not OrderStatus.CANCELLED or any(isinstance(e, OrderView) for e in events):
        assert abs(last.quantity - truth["quantity"]) < 1e-9
    if truth["average"] is None:
        assert last.average_traded_price is None
    else:
        assert last.average_traded_price is not None and abs(last.average_traded_price - truth["average"]) < 1e-9
    assert last.order_id == 42


def live_then_download(data: st.DataObject, events: list[Any]) -> tuple[AccountState, list[Out], list[Any]]:
    """Events in some order, a prefix of them live, then a reconnection's download begins;
    returns the state, what was published, and the events not delivered yet."""
    shuffled = data.draw(st.permutations(events))
    cut = data.draw(st.integers(0, len(shuffled)))
    s = live_state()
    out: list[Out] = []
    for e in shuffled[:cut]:
        out.extend(feed(s, e))
    s.begin_download(10_000)
    return s, out, list(shuffled[cut:])


@settings(max_examples=200, deadline=None)
@given(data=st.data(), history=histories())
def test_any_split_between_live_and_reconnect_converges(
    data: st.DataObject, history: tuple[list[Any], dict[str, Any]]
) -> None:
    """Some events arrive live, the connection drops, the rest arrive during the download."""
    events, truth = history
    s, out, rest = live_then_download(data, events)
    for e in rest:
        out.extend(feed(s, e))
    out.extend(s.end_download())
    assert len(trades(out)) == truth["fills"]
    updates = orders(out)
    if updates:
        last = updates[-1]
        assert abs(last.traded_quantity - truth["traded"]) < 1e-9
        if truth["status"] in (OrderStatus.FILLED, OrderStatus.CANCELLED):
            assert last.status is truth["status"]
        # an order whose events say it is open stays open: it is in the snapshot


@settings(max_examples=300, deadline=None)
@given(data=st.data(), history=histories())
def test_events_lost_in_a_disconnection_are_recovered_by_the_download(
    data: st.DataObject, history: tuple[list[Any], dict[str, Any]]
) -> None:
    """The connection drops after some events; the rest are lost on the wire. The reconnection
    brings what Kraken shows then: the order in the open-orders snapshot if it is still open,
    and every fill (snapshot and REST). The final state is the truth."""
    events, truth = history
    s, out, _lost = live_then_download(data, events)
    still_open = truth["status"] in (OrderStatus.WORKING, OrderStatus.PARTIALLY_FILLED)
    last_time = max(e.update_time_ms if isinstance(e, OrderView) else getattr(e, "time_ms", 0) for e in events)
    if still_open:
        out.extend(s.on_orders([view(last_time, truth["quantity"] - truth["traded"], truth["traded"])]))
    else:
        out.extend(s.on_orders([]))
    fills = [e for e in events if isinstance(e, FillEvent)]
    out.extend(s.on_fills(data.draw(st.permutations(fills))))
    out.extend(s.end_download())
    assert len(trades(out)) == truth["fills"]
    updates = orders(out)
    if not updates:  # never seen live, no fill, gone: nothing to say about it
        assert truth["fills"] == 0 and not still_open
        return
    last = updates[-1]
    assert last.status is truth["status"], updates
    assert abs(last.traded_quantity - truth["traded"]) < 1e-9
    assert abs(last.remaining_quantity - truth["remaining"]) < 1e-9
