"""Order entry for clients: create / modify / cancel / cancel-all, with every answer routed
to the order it belongs to.

::

    oe = OrderEntry("main")                                  # account name
    await oe.start()
    ticket = oe.create("PF_XBTUSD", Side.BUY, OrderType.LIMIT, 0.01, price=60000.0)
    await ticket.wait(lambda m: isinstance(m, OrderAck) and m.status is RequestStatus.ACCEPTED)
    oe.cancel(ticket.order_id)
    await ticket.wait_final()                                # FILLED / CANCELLED / REJECTED ...

A ticket collects, in arrival order, the acks (FORWARDED, ACCEPTED / REJECTED / TIMEOUT /
DISCONNECTED) and the OrderUpdate / TradeUpdate messages the router forwards for that order.
The client heartbeats the router every ``heartbeat_interval`` seconds: a client that goes
silent is treated as gone and its orders are cancelled per the router's policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable

from common.bus import DealerClient
from common.messages import (
    FINAL_ORDER_STATUSES,
    CancelAllOrders,
    CancelAllOrdersAck,
    CancelOrder,
    CreateOrder,
    ErrorReply,
    Heartbeat,
    Message,
    ModifyOrder,
    OrderAck,
    OrderType,
    OrderUpdate,
    RequestStatus,
    RequestType,
    Side,
    TimeInForce,
    TradeUpdate,
    TriggerSignal,
)

DEFAULT_ROUTER = "tcp://127.0.0.1:9820"
FINAL_ACK = frozenset(
    {RequestStatus.ACCEPTED, RequestStatus.REJECTED, RequestStatus.TIMEOUT, RequestStatus.DISCONNECTED}
)


def order_id_allocator() -> Callable[[], int]:
    """Order ids that are never reused, even across client restarts: milliseconds since the
    epoch times 1000, plus a counter (1000 orders per millisecond before ids run ahead of the
    clock; still unique, and far below 2^53)."""
    counter = itertools.count(time.time_ns() // 1_000_000 * 1000)
    return lambda: next(counter)


class Ticket:
    """Everything received for one order (``order_id``) or one cancel-all (``request_id``)."""

    def __init__(self, order_id: int, request_id: str) -> None:
        self.order_id = order_id
        self.request_id = request_id
        self.messages: list[Message] = []
        self._changed = asyncio.Event()

    def add(self, msg: Message) -> None:
        self.messages.append(msg)
        self._changed.set()

    @property
    def acks(self) -> list[OrderAck]:
        return [m for m in self.messages if isinstance(m, OrderAck)]

    @property
    def updates(self) -> list[OrderUpdate]:
        return [m for m in self.messages if isinstance(m, OrderUpdate)]

    @property
    def fills(self) -> list[TradeUpdate]:
        return [m for m in self.messages if isinstance(m, TradeUpdate)]

    @property
    def last_update(self) -> OrderUpdate | None:
        ups = self.updates
        return ups[-1] if ups else None

    async def more(self, seen: int) -> list[Message]:
        """The messages after the first ``seen``, waiting until there is at least one."""
        while len(self.messages) <= seen:
            self._changed.clear()
            await self._changed.wait()
        return self.messages[seen:]

    async def wait(self, pred: Callable[[Message], bool], timeout: float = 10.0) -> Message:
        """The first message (already received or to come) for which ``pred`` is true."""
        return await self._scan(lambda m: m if pred(m) else None, timeout)

    async def wait_final(self, timeout: float = 10.0) -> Message:
        """The message that ended the order: its final OrderUpdate, the REJECTED ack of its
        create, or an ErrorReply. A final update is returned only once the exchange's answer
        (an ACCEPTED / TIMEOUT / DISCONNECTED ack) is on the ticket too, so ``acks`` is complete;
        the drop-copy's update often overtakes it. If the answer never comes (a router killed
        mid-request), the final update is returned after ``timeout`` seconds; with no final
        update either, TimeoutError."""
        settlement = Settlement(wait_fill=True)
        try:
            return await self._scan(lambda m: settlement.ending if settlement.see(m) else None, timeout)
        except TimeoutError:
            if settlement.final is not None:
                return settlement.final
            raise

    async def _scan(self, step: Callable[[Message], Message | None], timeout: float) -> Message:
        """Feed every message, received or to come, to ``step`` until it returns one."""
        seen = 0
        async with asyncio.timeout(timeout):
            while True:
                for msg in self.messages[seen:]:
                    found = step(msg)
                    if found is not None:
                        return found
                seen = len(self.messages)
                self._changed.clear()
                await self._changed.wait()


class Settlement:
    """When a request's (or an order's) outcome is known, sans-I/O: feed it every message of
    the ticket in order; :meth:`see` turns True once it is, and :attr:`ending` is the message
    that settled it.

    wait_fill=False (one request's answer): over at the first final ack (ACCEPTED, REJECTED,
    TIMEOUT, DISCONNECTED) or ErrorReply; ``ending`` is that message.
    wait_fill=True (the order's end): over at an ErrorReply, a REJECTED ack of the create, or
    once both a final ack and a final OrderUpdate have arrived, in either order; ``ending`` is
    the final update. A modify or cancel refused along the way does not end the order.

    The drop-copy's OrderUpdate and the router's exchange ack race: a market order's FILLED, or
    a cancel's CANCELLED, often arrives first. Waiting for both keeps the exchange's answer
    from being missed."""

    def __init__(self, wait_fill: bool) -> None:
        self.wait_fill = wait_fill
        self.answer: Message | None = None
        self.final: OrderUpdate | None = None
        self.ending: Message | None = None

    def see(self, msg: Message) -> bool:
        """Take ``msg`` into account; True once the outcome is known."""
        if self.ending is not None:
            return True
        if isinstance(msg, ErrorReply):
            self.ending = msg
        elif isinstance(msg, OrderAck | CancelAllOrdersAck) and msg.status in FINAL_ACK:
            of_create = isinstance(msg, OrderAck) and msg.request_type is RequestType.CREATE_ORDER
            if msg.status is RequestStatus.REJECTED and (of_create or not self.wait_fill):
                self.ending = msg
            self.answer = self.answer or msg
        elif isinstance(msg, OrderUpdate) and msg.status in FINAL_ORDER_STATUSES:
            self.final = msg
        if self.ending is None and self.answer is not None:
            if not self.wait_fill:
                self.ending = self.answer
            elif self.final is not None:
                self.ending = self.final
        return self.ending is not None


class OrderEntry:
    """A DEALER connection to the router for one account.

    account: account to trade. endpoint: the router's order ROUTER.
    curve: (server_public, client_public, client_secret) Z85 keys when the router requires
        CURVE (``kgw keygen``); None for a loopback router running with ``curve = false``.
    heartbeat_interval: seconds between heartbeats to the router.
    """

    def __init__(
        self,
        account: str,
        *,
        endpoint: str = DEFAULT_ROUTER,
        curve: tuple[bytes, bytes, bytes] | None = None,
        heartbeat_interval: float = 1.0,
        name: str = "client",
    ) -> None:
        self.account = account
        self.name = name
        self.dealer = DealerClient(endpoint, curve=curve)
        self.heartbeat_interval = heartbeat_interval
        self.next_order_id = order_id_allocator()
        self._request_ids = itertools.count(1)
        self.tickets: dict[int, Ticket] = {}
        self._by_request: dict[str, Ticket] = {}
        #: replies that name no known order or request (ErrorReply to a bad frame, ...)
        self.unmatched: list[Message] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.dealer.start()
        self.dealer.send(Heartbeat(service=self.name, interval_ms=int(self.heartbeat_interval * 1000)))
        self._tasks = [asyncio.create_task(self._heartbeats()), asyncio.create_task(self._dispatch())]

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await self.dealer.close()

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            with contextlib.suppress(Exception):
                self.dealer.send(Heartbeat(service=self.name, interval_ms=int(self.heartbeat_interval * 1000)))

    async def _dispatch(self) -> None:
        while True:
            msg = await self.dealer.recv()
            if isinstance(msg, Heartbeat):
                continue
            ticket: Ticket | None = None
            order_id = getattr(msg, "order_id", None)
            if isinstance(order_id, int):
                ticket = self.tickets.get(order_id)
            if ticket is None:
                ticket = self._by_request.get(getattr(msg, "request_id", "") or "")
            if ticket is None:
                self.unmatched.append(msg)
            else:
                ticket.add(msg)

    def _request_id(self) -> str:
        return f"{self.name}-{next(self._request_ids)}"

    def _send(self, msg: CreateOrder | ModifyOrder | CancelOrder | CancelAllOrders, ticket: Ticket) -> Ticket:
        self._by_request[msg.request_id] = ticket
        self.dealer.send(msg)
        return ticket

    def create(
        self,
        symbol: str,
        side: Side,
        order_type: OrderType,
        quantity: float,
        *,
        price: float | None = None,
        stop_price: float | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        post_only: bool = False,
        reduce_only: bool = False,
        trigger_signal: TriggerSignal | None = None,
        order_id: int | None = None,
    ) -> Ticket:
        """Send a CreateOrder; the ticket collects everything about that order."""
        oid = order_id if order_id is not None else self.next_order_id()
        rid = self._request_id()
        ticket = self.tickets[oid] = Ticket(oid, rid)
        msg = CreateOrder(
            account=self.account,
            order_id=oid,
            request_id=rid,
            symbol=symbol,
            side=side,
            order_type=order_type,
            time_in_force=time_in_force,
            quantity=quantity,
            price=price,
            stop_price=stop_price,
            trigger_signal=trigger_signal,
            post_only=post_only,
            reduce_only=reduce_only,
        )
        return self._send(msg, ticket)

    def _ticket(self, order_id: int) -> Ticket:
        return self.tickets.setdefault(order_id, Ticket(order_id, ""))

    def modify(
        self,
        order_id: int,
        *,
        quantity: float | None = None,
        price: float | None = None,
        stop_price: float | None = None,
    ) -> Ticket:
        """Send a ModifyOrder; answers land on the order's ticket."""
        msg = ModifyOrder(
            account=self.account,
            order_id=order_id,
            request_id=self._request_id(),
            quantity=quantity,
            price=price,
            stop_price=stop_price,
        )
        return self._send(msg, self._ticket(order_id))

    def cancel(self, order_id: int) -> Ticket:
        """Send a CancelOrder; answers land on the order's ticket."""
        msg = CancelOrder(account=self.account, order_id=order_id, request_id=self._request_id())
        return self._send(msg, self._ticket(order_id))

    def cancel_all(self, symbol: str | None = None) -> Ticket:
        """Send a CancelAllOrders; its ticket (order_id 0) gets the CancelAllOrdersAck."""
        rid = self._request_id()
        return self._send(CancelAllOrders(account=self.account, request_id=rid, symbol=symbol), Ticket(0, rid))


def is_final_ack(msg: Message) -> bool:
    """True for the exchange's (or the gateway's final) answer to a request."""
    if isinstance(msg, OrderAck | CancelAllOrdersAck):
        return msg.status in FINAL_ACK
    return isinstance(msg, ErrorReply)
