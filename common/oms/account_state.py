"""The state of one account, converging whatever order events arrive in, sans-I/O.

Feed it the normalized facts (:mod:`common.oms.inputs`) as they arrive; each call returns the
bus messages to publish, as ``(kind, message)`` with kind ``order``, ``trade``, ``position`` or
``funds`` (the last part of the topic ``oms.<exchange>.<account>.<kind>.``).

Guarantees:

- every fill is published once as a TradeUpdate, whether it first arrives live, in a
  ``fills_snapshot`` or from REST reconciliation (fill ids are remembered, bounded by
  ``fill_memory``);
- an OrderUpdate is published when what a subscriber can see of the order changes, and the
  order's final state is the same for every arrival order of the same events (see
  :mod:`common.oms.order_state`);
- a position that goes away is published as zero (Kraken leaves it out of ``open_positions``).

Downloads (every (re)connection)::

    state.begin_download(now_ms)
    ... snapshots, live deltas, REST openorders/fills, in any order ...
    out = state.end_download()

Between the two, only what the closing snapshot cannot show is held back (new fills, orders
that ended, positions that closed); :meth:`AccountState.end_download` returns it (type
INCREMENTAL, or SNAPSHOT on the first download, when everything is news to nobody) followed by
every open order, position and funds entry as SNAPSHOT. An order not finished, whose newest
evidence is older than the download, and that nothing has shown open since the download began
(not in the snapshot, not in REST openorders, no live event) was closed while we were not
listening: it is published FILLED if its fills cover it,
else CANCELLED with reason OTHER.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

from common.messages import FINAL_ORDER_STATUSES, FundsUpdate, Message, OrderUpdate, PositionUpdate, UpdateType

from .inputs import FillEvent, FundsEntry, OrderClosed, OrderView, PositionEntry
from .order_state import OrderState, trade_update

Out = tuple[str, Message]

CLOSED_UNSEEN = "closed while the private feed was down"


class FillMemory:
    """The last ``size`` fill ids seen (a set with FIFO eviction)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: set[str] = set()
        self._order: deque[str] = deque()

    def __contains__(self, fill_id: object) -> bool:
        return fill_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, fill_id: str) -> bool:
        """Remember ``fill_id``; False if it was already known."""
        if fill_id in self._ids:
            return False
        self._ids.add(fill_id)
        self._order.append(fill_id)
        while len(self._order) > self.size:
            self._ids.discard(self._order.popleft())
        return True


@dataclass(slots=True)
class Counters:
    """What the state saw, for metrics: fills seen again (not republished), orders found
    closed after a reconnect with no event saying why, cancels of orders never seen."""

    duplicate_fills: int = 0
    inferred_closes: int = 0
    unknown_closes: int = 0


class AccountState:
    """Orders, fills, positions and funds of one account.

    exchange / account: copied into every message.
    fill_memory: how many fill ids are remembered for de-duplication (Kraken replays at most
        the last 100 fills in a snapshot or REST answer, so anything well above that is safe).
    closed_memory: how many finished orders are kept so late events about them are recognised.
    """

    def __init__(self, exchange: str, account: str, *, fill_memory: int = 100_000, closed_memory: int = 10_000) -> None:
        self.exchange = exchange
        self.account = account
        self.closed_memory = closed_memory
        self.orders: dict[str, OrderState] = {}
        self._closed: OrderedDict[str, None] = OrderedDict()
        self.fills = FillMemory(fill_memory)
        self.positions: dict[str, PositionUpdate] = {}
        self.funds: dict[str, FundsUpdate] = {}
        self.counters = Counters()
        self.downloading = False
        self.downloads = 0
        self._pending: list[Out] = []
        self._seen_open: set[str] = set()
        self._begin_ms = 0

    # ------------------------------------------------------------------ helpers

    @property
    def _change_type(self) -> UpdateType:
        # on the first download everything is news to nobody: it is all a snapshot
        return UpdateType.SNAPSHOT if self.downloading and self.downloads == 0 else UpdateType.INCREMENTAL

    def _emit(self, out: list[Out]) -> list[Out]:
        if self.downloading:
            # during a download only what the closing snapshot cannot show is held: fills,
            # finished orders and closed positions; the rest is re-asserted at the end
            self._pending.extend(m for m in out if _not_in_snapshot(m[1]))
            return []
        return out

    def _order(self, exchange_order_id: str) -> OrderState:
        o = self.orders.get(exchange_order_id)
        if o is None:
            o = self.orders[exchange_order_id] = OrderState(exchange_order_id)
        return o

    def _order_out(self, o: OrderState, exchange_time_ms: int, *, force: UpdateType | None = None) -> list[Out]:
        if not o.known:
            return []
        key = o.key()
        if force is None and key == o.last_key:
            return []
        o.last_key = key
        msg = o.update(self.exchange, self.account, force or self._change_type, exchange_time_ms)
        if o.is_final:
            self._retire(o.exchange_order_id)
        return [("order", msg)]

    def _retire(self, exchange_order_id: str) -> None:
        """Keep a bounded number of finished orders."""
        self._closed[exchange_order_id] = None
        self._closed.move_to_end(exchange_order_id)
        while len(self._closed) > self.closed_memory:
            old, _ = self._closed.popitem(last=False)
            self.orders.pop(old, None)

    def open_orders(self) -> list[OrderState]:
        """Orders not final (whether or not they could be published yet)."""
        return [o for o in self.orders.values() if not o.is_final]

    # ------------------------------------------------------------------ orders

    def on_order(self, view: OrderView) -> list[Out]:
        """An order placed or changed (open_orders delta, snapshot entry, REST openorders)."""
        o = self._order(view.exchange_order_id)
        if self.downloading:
            self._seen_open.add(view.exchange_order_id)
        o.apply_view(view)
        return self._emit(self._order_out(o, view.update_time_ms))

    def on_orders(self, views: Iterable[OrderView]) -> list[Out]:
        """Several views (a snapshot or a REST answer)."""
        out: list[Out] = []
        for v in views:
            out.extend(self.on_order(v))
        return out

    def on_order_closed(self, close: OrderClosed) -> list[Out]:
        """An order cancelled, rejected or expired."""
        o = self._order(close.exchange_order_id)
        if self.downloading:
            self._seen_open.add(close.exchange_order_id)  # its fate is known: no inference
        o.apply_close(close)
        if not o.known:
            self.counters.unknown_closes += 1
        t = close.view.update_time_ms if close.view is not None else 0
        return self._emit(self._order_out(o, t))

    # ------------------------------------------------------------------ fills

    def on_fill(self, fill: FillEvent) -> list[Out]:
        """A fill from any source; published once."""
        if not self.fills.add(fill.fill_id):
            self.counters.duplicate_fills += 1
            known = self.orders.get(fill.exchange_order_id)
            if known is None:
                return []
            known.apply_fill(fill)
            return self._emit(self._order_out(known, fill.time_ms))
        out: list[Out] = [("trade", trade_update(self.exchange, self.account, fill, self._change_type))]
        o = self._order(fill.exchange_order_id)
        o.apply_fill(fill)
        out.extend(self._order_out(o, fill.time_ms))
        return self._emit(out)

    def on_fills(self, fills: Iterable[FillEvent]) -> list[Out]:
        """Several fills (oldest first is best, any order is correct)."""
        out: list[Out] = []
        for f in sorted(fills, key=lambda f: f.time_ms):
            out.extend(self.on_fill(f))
        return out

    # ------------------------------------------------------------------ positions and funds

    def _position_msg(self, e: PositionEntry, update_type: UpdateType) -> PositionUpdate:
        return PositionUpdate(
            account=self.account,
            exchange=self.exchange,
            symbol=e.symbol,
            position=e.position,
            average_price=e.average_price if e.position else None,
            unrealized_pnl=e.unrealized_pnl if e.position else None,
            update_type=update_type,
            exchange_time=max(e.time_ms, 0) * 1_000_000,
        )

    def on_positions(self, entries: Iterable[PositionEntry], time_ms: int = 0) -> list[Out]:
        """The full list of open positions. A symbol that was open and is missing is closed
        (Kraken omits it): published as position 0. Only a change of size or entry price is
        published (Kraken resends the list as the mark price moves)."""
        out: list[Out] = []
        current = {e.symbol: e for e in entries if e.position != 0}
        for symbol in [s for s in self.positions if s not in current]:
            del self.positions[symbol]
            zero = PositionEntry(symbol, 0.0, None, None, time_ms)
            out.append(("position", self._position_msg(zero, self._change_type)))
        for symbol, e in current.items():
            old = self.positions.get(symbol)
            if old is not None and (old.position, old.average_price) == (e.position, e.average_price):
                self.positions[symbol] = msgspec.structs.replace(old, unrealized_pnl=e.unrealized_pnl)
                continue
            msg = self._position_msg(e, self._change_type)
            self.positions[symbol] = msg
            out.append(("position", msgspec.structs.replace(msg)))
        return self._emit(out)

    def on_funds(self, entries: Iterable[FundsEntry]) -> list[Out]:
        """Margin accounts that changed (merged by currency; a delta may carry only some)."""
        out: list[Out] = []
        for e in entries:
            msg = FundsUpdate(
                account=self.account,
                exchange=self.exchange,
                currency=e.currency,
                balance=e.balance,
                available=e.available,
                initial_margin=e.initial_margin,
                maintenance_margin=e.maintenance_margin,
                portfolio_value=e.portfolio_value,
                unrealized_pnl=e.unrealized_pnl,
                update_type=self._change_type,
                exchange_time=max(e.time_ms, 0) * 1_000_000,
            )
            old = self.funds.get(e.currency)
            if old is not None and _funds_key(old) == _funds_key(msg):
                continue
            self.funds[e.currency] = msg
            out.append(("funds", msgspec.structs.replace(msg)))
        return self._emit(out)

    # ------------------------------------------------------------------ downloads

    def begin_download(self, now_ms: int) -> None:
        """A (re)connection at ``now_ms`` (epoch ms): hold messages back until
        :meth:`end_download`. A download cut short by another disconnection keeps what it
        held (those fills are remembered as seen, so they must still be published)."""
        if not self.downloading:
            self._pending = []
            self._begin_ms = now_ms
        self.downloading = True
        self._seen_open = set()

    def end_download(self) -> list[Out]:
        """Resolve what the download showed; the messages to publish, changes first, then the
        full state as SNAPSHOT."""
        out = self._pending
        self._pending = []
        # every order not finished that nothing showed open: not only those open before the
        # download, also one that looked filled until a fill of the download showed an edit had
        # made it larger, and one learnt of from its fills alone
        for oid in sorted(set(self.orders) - self._seen_open):
            o = self.orders[oid]
            if o.is_final or o.newest_evidence_ms() >= self._begin_ms:
                # a fill that arrived during the download, for an order whose placement event
                # is still on its way (another feed): not closed, its events will follow
                continue
            if o.closed is None:
                self.counters.inferred_closes += 1
            o.close_unseen(CLOSED_UNSEEN)
            out.extend(self._order_out(o, 0))
        snapshot = UpdateType.SNAPSHOT
        for o in self.open_orders():
            out.extend(self._order_out(o, o.view_time, force=snapshot))
        for msg in self.positions.values():
            out.append(("position", msgspec.structs.replace(msg, update_type=snapshot)))
        for f in self.funds.values():
            out.append(("funds", msgspec.structs.replace(f, update_type=snapshot)))
        self.downloading = False
        self.downloads += 1
        self._seen_open = set()
        return out


def _not_in_snapshot(msg: Message) -> bool:
    if isinstance(msg, OrderUpdate):
        return msg.status in FINAL_ORDER_STATUSES
    if isinstance(msg, PositionUpdate):
        return msg.position == 0
    return not isinstance(msg, FundsUpdate)


def _funds_key(m: FundsUpdate) -> tuple[object, ...]:
    return (m.balance, m.available, m.initial_margin, m.maintenance_margin, m.portfolio_value, m.unrealized_pnl)
