"""The router's order registry, sans-I/O: every order it placed (or recovered from Kraken's
open orders after a restart), keyed by ``(user, order_id)``, the pair encoded in the cliOrdId.

Order states (the gateway's view; the exchange's full state travels in OrderUpdate)::

    PENDING_NEW --accepted, rests--> WORKING --filled/cancelled/rejected--> FINISHED
         |  \\--rejected / not sent / filled at once------------------------> FINISHED
         \\--timeout / connection lost / 5xx--> UNCERTAIN --update or cancel--> WORKING/FINISHED

An UNCERTAIN order may exist on the book, so modify and cancel stay allowed (by cliOrdId,
which Kraken knows whether or not we saw its answer). A finished order_id is remembered (up to
``finished_limit`` per user) so that a client retrying a CreateOrder is refused
DUPLICATE_ORDER_ID instead of placing the order twice.

One request per kind in flight per order: a modify while the create or another modify is in
flight, or a cancel while the create or another cancel is in flight, is refused
REQUEST_IN_FLIGHT (a cancel racing its own create could reach Kraken first and miss).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from common.kraken import clordid
from common.messages import ErrorCode, OrderType, RequestType, Side, TimeInForce

from .validation import Refusal


class OrderState(StrEnum):
    PENDING_NEW = "PENDING_NEW"
    WORKING = "WORKING"
    UNCERTAIN = "UNCERTAIN"
    FINISHED = "FINISHED"


@dataclass(slots=True)
class OrderEntry:
    """One order. peer: routing id of the client connection that placed it (None when
    recovered after a restart until the user's client talks again). cancel_when_answered:
    its client went away while the create was in flight; cancel it once Kraken answers.
    side / quantity (total, contracts) / price / stop_price / time_in_force / reduce_only: the
    order's terms as last accepted (None when unknown), used to describe the order when its
    outcome has to be rebuilt from Kraken's REST answers (:mod:`.delivery`)."""

    user: str
    order_id: int
    account: str
    symbol: str
    order_type: OrderType
    cli_ord_id: str
    peer: bytes | None
    state: OrderState = OrderState.PENDING_NEW
    exchange_order_id: str | None = None
    in_flight: set[RequestType] = field(default_factory=set)
    cancel_when_answered: bool = False
    side: Side | None = None
    quantity: float | None = None
    price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False


BLOCKERS: dict[RequestType, frozenset[RequestType]] = {
    RequestType.MODIFY_ORDER: frozenset({RequestType.CREATE_ORDER, RequestType.MODIFY_ORDER}),
    RequestType.CANCEL_ORDER: frozenset({RequestType.CREATE_ORDER, RequestType.CANCEL_ORDER}),
}
"""Requests in flight that refuse a new one of the key's kind."""


class Registry:
    """Open orders by (user, order_id), plus the finished order ids of each user."""

    def __init__(self, finished_limit: int = 1_000_000) -> None:
        self.finished_limit = finished_limit
        self.orders: dict[tuple[str, int], OrderEntry] = {}
        self._finished: dict[str, OrderedDict[int, None]] = {}

    def __len__(self) -> int:
        return len(self.orders)

    def known(self, user: str, order_id: int) -> bool:
        return (user, order_id) in self.orders or order_id in self._finished.get(user, ())

    def add(self, entry: OrderEntry) -> Refusal | None:
        """Register a new order; refused if the order_id was ever used by this user."""
        if self.known(entry.user, entry.order_id):
            return Refusal(ErrorCode.DUPLICATE_ORDER_ID, f"order_id {entry.order_id} was already used")
        entry.in_flight.add(RequestType.CREATE_ORDER)
        self.orders[(entry.user, entry.order_id)] = entry
        return None

    def lookup(self, user: str, order_id: int) -> OrderEntry | Refusal:
        """The open order, or UNKNOWN_ORDER / ORDER_FINISHED."""
        entry = self.orders.get((user, order_id))
        if entry is not None:
            return entry
        if order_id in self._finished.get(user, ()):
            return Refusal(ErrorCode.ORDER_FINISHED, f"order {order_id} is finished")
        return Refusal(ErrorCode.UNKNOWN_ORDER, f"order {order_id} is unknown")

    def begin(self, entry: OrderEntry, kind: RequestType) -> Refusal | None:
        """Mark a modify/cancel in flight, or refuse it (REQUEST_IN_FLIGHT)."""
        busy = entry.in_flight & BLOCKERS[kind]
        if busy:
            names = ", ".join(sorted(k.value for k in busy))
            return Refusal(ErrorCode.REQUEST_IN_FLIGHT, f"order {entry.order_id} has {names} in flight")
        entry.in_flight.add(kind)
        return None

    def end(self, entry: OrderEntry, kind: RequestType, state: OrderState | None) -> None:
        """A request finished; move the order to ``state`` (None = unchanged)."""
        entry.in_flight.discard(kind)
        if state is not None:
            self.set_state(entry, state)

    def set_state(self, entry: OrderEntry, state: OrderState) -> None:
        if entry.state is OrderState.FINISHED:
            return
        entry.state = state
        if state is OrderState.FINISHED:
            self.orders.pop((entry.user, entry.order_id), None)
            done = self._finished.setdefault(entry.user, OrderedDict())
            done[entry.order_id] = None
            while len(done) > self.finished_limit:
                done.popitem(last=False)

    def by_cli_ord_id(self, cli_ord_id: str | None) -> OrderEntry | None:
        """The open order a cliOrdId names, if it is ours and open."""
        owner = clordid.parse(cli_ord_id)
        return None if owner is None else self.orders.get(owner)

    def of_peer(self, peer: bytes) -> Iterator[OrderEntry]:
        return (e for e in list(self.orders.values()) if e.peer == peer)

    def of_account(self, account: str, symbol: str | None = None) -> Iterator[OrderEntry]:
        return (e for e in list(self.orders.values())
                if e.account == account and (symbol is None or e.symbol == symbol))
