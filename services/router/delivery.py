"""What the router has forwarded to the owners of orders, and what it still owes them (sans-I/O).

The drop-copy listener's OrderUpdate / TradeUpdate reach the router on the bus. When that
subscription has a hole (the listener restarted, messages were lost, it was silent), the router
resynchronizes with the Clone pattern: it downloads the account state from the listener's
download service and asks Kraken's REST about the orders that are no longer open. The same
update can then arrive twice (live, in the download, rebuilt from REST, replayed by a restarted
listener), so every message goes through :meth:`Ledger.admit`, which forwards each fill once
and each order state only when it is new:

- a TradeUpdate is new if its ``trade_id`` was never forwarded (the last ``trade_ids`` are
  remembered);
- an OrderUpdate is new if nothing was forwarded for its order yet, or if it differs from the
  last forwarded one (status, traded quantity, quantity, price, stop price) without being older:
  not behind it on the same topic of the same publisher session (seq), not less traded, and
  never after a final status (FILLED, CANCELLED, REJECTED, EXPIRED): one final update per order.

:meth:`Ledger.owed` lists the orders whose final update is still owed: placed on Kraken (or
maybe placed: UNCERTAIN), final status not forwarded, and absent from the open orders of a
download. :func:`from_rest` turns Kraken's answers about one such order (``orders/status``,
``fills``) into the fills and the final OrderUpdate to forward, or says it is still open.

Bounds: ``trade_ids`` trade ids and ``orders`` orders (LRU; the oldest are forgotten first).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

from common.kraken.orders.orderstatus import StatusEntry
from common.messages import (
    FINAL_ORDER_STATUSES,
    CancelReason,
    OrderStatus,
    OrderUpdate,
    TradeUpdate,
    UpdateType,
)
from common.oms.inputs import FillEvent, OrderClosed, OrderView
from common.oms.order_state import EPSILON, trade_update
from common.oms.order_state import OrderState as Evidence

from .registry import OrderEntry

log = logging.getLogger("kgw.router.delivery")

UNSEEN_TEXT = "closed while the drop-copy feed was interrupted (outcome from Kraken REST)"


@dataclass(frozen=True, slots=True)
class Seen:
    """The last OrderUpdate forwarded for an order, and where it came from (session and seq
    of its topic; empty session for one rebuilt from REST)."""

    status: OrderStatus
    traded: float
    quantity: float
    price: float | None
    stop_price: float | None
    session: str
    seq: int

    @classmethod
    def of(cls, msg: OrderUpdate) -> Seen:
        return cls(msg.status, msg.traded_quantity, msg.quantity, msg.price, msg.stop_price, msg.session, msg.seq)

    def content(self) -> tuple[object, ...]:
        return self.status, self.traded, self.quantity, self.price, self.stop_price


@dataclass(slots=True)
class Delivery:
    """One order's delivery record. entry: the router's order (None for an order it never
    placed in this run, e.g. finished before a restart); placed: Kraken has it or may have it
    (create ACCEPTED, or its outcome is unknown); final: its final status was forwarded."""

    cli_ord_id: str
    entry: OrderEntry | None = None
    placed: bool = False
    seen: Seen | None = None
    final: bool = False


def newer(old: Seen | None, new: Seen) -> bool:
    """True if ``new`` tells the owner something ``old`` (the last forwarded) did not."""
    if old is None:
        return True
    if old.status in FINAL_ORDER_STATUSES:
        return False
    if new.session and new.session == old.session and new.seq <= old.seq:
        return False  # not after what was forwarded on that topic
    if new.traded < old.traded - EPSILON * max(1.0, old.traded):
        return False  # older evidence (a stale view cannot undo a fill)
    return new.content() != old.content()


class Ledger:
    """Delivery records by cliOrdId and the trade ids forwarded.

    trade_ids: trade ids remembered (a fill seen again after that many newer fills would be
        forwarded again).
    orders: orders remembered (the least recently touched is forgotten first; an order
        still owed its final update is logged when forgotten).
    """

    def __init__(self, trade_ids: int = 100_000, orders: int = 100_000) -> None:
        self.trade_ids_limit = trade_ids
        self.orders_limit = orders
        self._trades: OrderedDict[str, None] = OrderedDict()
        self._orders: OrderedDict[str, Delivery] = OrderedDict()

    def __len__(self) -> int:
        return len(self._orders)

    def get(self, cli_ord_id: str) -> Delivery | None:
        return self._orders.get(cli_ord_id)

    def _record(self, cli_ord_id: str) -> Delivery:
        d = self._orders.get(cli_ord_id)
        if d is None:
            d = self._orders[cli_ord_id] = Delivery(cli_ord_id)
            while len(self._orders) > self.orders_limit:
                _, old = self._orders.popitem(last=False)
                if old.placed and not old.final:
                    log.warning("order forgotten before its final update", extra={"fields": {
                        "client_order_id": old.cli_ord_id, "limit": self.orders_limit}})
        else:
            self._orders.move_to_end(cli_ord_id)
        return d

    def watch(self, entry: OrderEntry, *, placed: bool = False) -> Delivery:
        """Start tracking an order the router sends (``placed``: already on Kraken, e.g.
        recovered from its open orders)."""
        d = self._record(entry.cli_ord_id)
        d.entry = entry
        d.placed = d.placed or placed
        return d

    def placed(self, entry: OrderEntry) -> None:
        """Kraken has the order, or may have it: its final update is owed from now on."""
        self.watch(entry, placed=True)

    def forwarded_trade(self, trade_id: str) -> bool:
        return trade_id in self._trades

    def admit(self, msg: OrderUpdate | TradeUpdate) -> bool:
        """True if ``msg`` is new to the owner (and note it as forwarded)."""
        if isinstance(msg, TradeUpdate):
            if msg.trade_id in self._trades:
                return False
            self._trades[msg.trade_id] = None
            while len(self._trades) > self.trade_ids_limit:
                self._trades.popitem(last=False)
            return True
        if msg.client_order_id is None:
            return True  # not one of ours: nothing to deduplicate against (never routed)
        d = self._record(msg.client_order_id)
        seen = Seen.of(msg)
        if d.final or not newer(d.seen, seen):
            return False
        d.seen = seen
        d.final = msg.status in FINAL_ORDER_STATUSES
        return True

    def owed(self, account: str, open_ids: set[str]) -> list[Delivery]:
        """Orders of ``account`` placed on Kraken, final update not forwarded, and not among
        ``open_ids`` (cliOrdIds of the open orders of a download): ask Kraken about them."""
        return [d for d in self._orders.values()
                if d.placed and not d.final and d.entry is not None and d.entry.account == account
                and d.cli_ord_id not in open_ids]


@dataclass(frozen=True, slots=True)
class Finding:
    """What Kraken's REST answers say about an owed order. still_open: nothing to do yet.
    trades (oldest first) and final: to forward, each through :meth:`Ledger.admit`."""

    still_open: bool
    exchange_order_id: str | None
    trades: list[TradeUpdate]
    final: OrderUpdate | None


def from_rest(d: Delivery, status: StatusEntry | None, fills: list[FillEvent], exchange: str) -> Finding:
    """The outcome of an owed order from ``orders/status`` (``status``: None when Kraken no
    longer knows it, i.e. it closed more than 5 s ago or never existed) and the account's recent
    ``fills``. A closed order is FILLED if the fills (or Kraken's filled quantity) cover it,
    else the status Kraken gave, else CANCELLED with reason OTHER (as the drop-copy listener
    does for orders closed while it was not listening)."""
    entry = d.entry
    assert entry is not None
    if status is not None and status.status is None:
        return Finding(True, status.exchange_order_id, [], None)
    cid = d.cli_ord_id
    eid = (status.exchange_order_id if status is not None else None) or entry.exchange_order_id
    mine = [f for f in fills if f.client_order_id == cid or (eid is not None and f.exchange_order_id == eid)]
    if eid is None and mine:
        eid = mine[0].exchange_order_id
    ev = Evidence(eid or "", symbol=entry.symbol, side=status.side if status else entry.side,
                  order_type=entry.order_type, time_in_force=entry.time_in_force, client_order_id=cid,
                  price=entry.price, stop_price=entry.stop_price, reduce_only=entry.reduce_only)
    total = d.seen.quantity if d.seen is not None else entry.quantity
    filled = max(d.seen.traded if d.seen is not None else 0.0, status.filled if status is not None else 0.0)
    if status is not None and status.status is OrderStatus.FILLED:
        remaining: float | None = status.remaining
    else:
        remaining = None if total is None else max(total - filled, 0.0)
    if ev.side is not None:
        ev.apply_view(OrderView(ev.exchange_order_id, entry.symbol, ev.side, entry.order_type, entry.time_in_force,
                                remaining, filled, status.price if status else entry.price, entry.stop_price,
                                entry.reduce_only, cid, status.update_time_ms if status else 0))
    mine.sort(key=lambda f: f.time_ms)
    for f in mine:
        ev.apply_fill(f)
    if status is not None and status.status is not OrderStatus.FILLED:
        assert status.status is not None
        ev.apply_close(OrderClosed(ev.exchange_order_id, status.status, CancelReason.OTHER, status.word))
    elif status is None:
        ev.close_unseen(UNSEEN_TEXT)
    trades = [trade_update(exchange, entry.account, f, UpdateType.SNAPSHOT) for f in mine]
    final = ev.update(exchange, entry.account, UpdateType.SNAPSHOT, ev.newest_evidence_ms()) if ev.known else None
    return Finding(False, eid, trades, final)
