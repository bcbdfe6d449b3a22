"""What the engine emits, in the order it happened. One list feeds both the public WebSocket
feeds (book, trade) and the private ones (open_orders, fills, open_positions, balances), so
every observer sees the same sequence."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.sim.engine.orders import Order


@dataclass(slots=True)
class BookDelta:
    """One price level's new absolute size (0 = level removed); ``side`` is buy/sell."""

    symbol: str
    side: str
    price: float
    qty: float
    seq: int
    ts: int


@dataclass(slots=True)
class PublicTrade:
    """A trade on the public tape; ``side`` is the taker's side."""

    symbol: str
    uid: str
    side: str
    price: float
    qty: float
    seq: int
    ts: int
    type: str = "fill"


@dataclass(slots=True)
class OrderUpdate:
    """A change to an account's open orders.

    reason: Kraken's ``open_orders`` reason (``new_placed_order_by_user``, ``partial_fill``,
    ``full_fill``, ``cancelled_by_user``, ``dead_man_switch``, ``edited_by_user``, ...).
    verbose_only: only ``open_orders_verbose`` reports it (post-only/IOC rejections).
    """

    account: str
    order: Order
    is_cancel: bool
    reason: str
    verbose_only: bool = False


@dataclass(slots=True)
class FillUpdate:
    """One fill of one account's order (a ``fills`` feed entry, already shaped as data)."""

    account: str
    fill: dict[str, object]


@dataclass(slots=True)
class PositionUpdate:
    account: str
    symbol: str


@dataclass(slots=True)
class BalanceUpdate:
    account: str


Event = BookDelta | PublicTrade | OrderUpdate | FillUpdate | PositionUpdate | BalanceUpdate


@dataclass(slots=True)
class RestEvent:
    """One entry of a REST ``orderEvents`` list.

    kind: ``PLACE``, ``EXECUTION``, ``CANCEL``, ``EDIT`` or ``REJECT``.
    order: the order (for EXECUTION: the order prior to this execution).
    old: for EDIT, the order before the edit.
    price / amount / execution_id: for EXECUTION.
    reduced_qty: for PLACE of a reduce-only order that was shrunk to the position size.
    """

    kind: str
    order: Order
    old: Order | None = None
    price: float = 0.0
    amount: float = 0.0
    execution_id: str = ""
    reduced_qty: float | None = None


@dataclass(slots=True)
class Outcome:
    """The answer of one engine call: a Kraken status plus the REST order events."""

    status: str
    order_id: str | None = None
    cli_ord_id: str | None = None
    order_events: list[RestEvent] = field(default_factory=list)
    cancelled: list[Order] = field(default_factory=list)
