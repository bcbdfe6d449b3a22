"""When a request's or an order's outcome is known (``Ticket.wait_final``, ``kgw order``):
plain calls on the sans-I/O :class:`Settlement`, with the exchange ack and the drop-copy update
arriving in either order."""

from __future__ import annotations

import asyncio

import pytest

from common.client.orders import Settlement, Ticket
from common.messages import (
    CancelAllOrdersAck,
    ErrorCode,
    ErrorReply,
    Message,
    OrderAck,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Origin,
    RequestStatus,
    RequestType,
    Side,
)


def ack(status: RequestStatus, kind: RequestType = RequestType.CREATE_ORDER) -> OrderAck:
    origin = Origin.GATEWAY if status is RequestStatus.FORWARDED else Origin.EXCHANGE
    return OrderAck(account="main", order_id=7, request_type=kind, origin=origin, status=status)


def update(status: OrderStatus) -> OrderUpdate:
    remaining = 0.0 if status is OrderStatus.FILLED else 0.01
    return OrderUpdate(account="main", exchange="kraken-futures", symbol="PF_XBTUSD", order_id=7,
                       exchange_order_id="x", side=Side.BUY, order_type=OrderType.MARKET, status=status,
                       quantity=0.01, remaining_quantity=remaining)


def over_after(wait_fill: bool, *msgs: Message) -> list[bool]:
    s = Settlement(wait_fill)
    return [s.see(m) for m in msgs]


def test_plain_command_ends_at_the_exchange_answer() -> None:
    assert over_after(False, ack(RequestStatus.FORWARDED), ack(RequestStatus.ACCEPTED)) == [False, True]


def test_a_final_update_before_the_ack_does_not_end_it() -> None:
    """The race: a cancel's CANCELLED update (or a market order's FILLED) overtakes the ack."""
    got = over_after(False, ack(RequestStatus.FORWARDED, RequestType.CANCEL_ORDER), update(OrderStatus.CANCELLED),
                     ack(RequestStatus.ACCEPTED, RequestType.CANCEL_ORDER))
    assert got == [False, False, True]


def test_until_final_needs_both_the_answer_and_the_final_state_in_any_order() -> None:
    fwd, acc = ack(RequestStatus.FORWARDED), ack(RequestStatus.ACCEPTED)
    working, filled = update(OrderStatus.WORKING), update(OrderStatus.FILLED)
    assert over_after(True, fwd, acc, working, filled) == [False, False, False, True]
    assert over_after(True, fwd, working, filled, acc) == [False, False, False, True]


def test_rejections_and_errors_end_it_at_once() -> None:
    assert over_after(True, ack(RequestStatus.FORWARDED), ack(RequestStatus.REJECTED)) == [False, True]
    assert over_after(False, ErrorReply(error=ErrorCode.INVALID_MESSAGE, text="not JSON")) == [True]


def test_an_uncertain_answer_with_until_final_waits_for_the_order_state() -> None:
    assert over_after(True, ack(RequestStatus.TIMEOUT), update(OrderStatus.FILLED)) == [False, True]


def test_cancel_all_ends_at_its_answer() -> None:
    fwd = CancelAllOrdersAck(account="main", origin=Origin.GATEWAY, status=RequestStatus.FORWARDED)
    done = CancelAllOrdersAck(account="main", origin=Origin.EXCHANGE, status=RequestStatus.ACCEPTED)
    assert over_after(False, fwd, done) == [False, True]


def test_a_refused_modify_does_not_end_the_order() -> None:
    refused = ack(RequestStatus.REJECTED, RequestType.MODIFY_ORDER)
    got = over_after(True, ack(RequestStatus.ACCEPTED), refused, update(OrderStatus.FILLED))
    assert got == [False, False, True]


def test_ending_is_the_final_update_or_the_answer() -> None:
    s = Settlement(True)
    for m in (update(OrderStatus.FILLED), ack(RequestStatus.ACCEPTED)):
        s.see(m)
    assert isinstance(s.ending, OrderUpdate) and s.ending.status is OrderStatus.FILLED
    s = Settlement(False)
    s.see(ack(RequestStatus.ACCEPTED))
    assert isinstance(s.ending, OrderAck) and s.ending.status is RequestStatus.ACCEPTED


async def test_ticket_wait_final_returns_the_fill_once_the_overtaken_ack_is_in() -> None:
    ticket = Ticket(7, "r1")
    for m in (ack(RequestStatus.FORWARDED), update(OrderStatus.FILLED)):
        ticket.add(m)
    waiter = asyncio.create_task(ticket.wait_final(timeout=5))
    await asyncio.sleep(0.05)
    assert not waiter.done(), "the exchange's answer has not arrived yet"
    ticket.add(ack(RequestStatus.ACCEPTED))
    final = await waiter
    assert isinstance(final, OrderUpdate) and final.status is OrderStatus.FILLED
    assert [a.status for a in ticket.acks] == [RequestStatus.FORWARDED, RequestStatus.ACCEPTED]


async def test_ticket_wait_final_settles_for_the_update_when_the_answer_is_lost() -> None:
    ticket = Ticket(7, "r1")
    for m in (ack(RequestStatus.FORWARDED), update(OrderStatus.FILLED)):  # the router died mid-request
        ticket.add(m)
    final = await ticket.wait_final(timeout=0.2)
    assert isinstance(final, OrderUpdate) and final.status is OrderStatus.FILLED


async def test_ticket_wait_final_times_out_with_nothing_final() -> None:
    ticket = Ticket(7, "r1")
    ticket.add(ack(RequestStatus.FORWARDED))
    with pytest.raises(TimeoutError):
        await ticket.wait_final(timeout=0.2)
