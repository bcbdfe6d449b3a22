"""The matching engine: price-time priority, order types, triggers, positions, margin, dead
man's switch. Sans-I/O: every method is a plain call; what happened is appended to
``self.outbox`` (drained by the caller with :meth:`Engine.drain`) in one consistent order.
"""

from __future__ import annotations

import random
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from services.sim.engine.accounts import Account, Position, apply_fill, notional, unrealized_pnl
from services.sim.engine.book import OrderBook
from services.sim.engine.events import (
    BalanceUpdate,
    BookDelta,
    Event,
    FillUpdate,
    OrderUpdate,
    Outcome,
    PositionUpdate,
    PublicTrade,
    RestEvent,
)
from services.sim.engine.instruments import Instrument
from services.sim.engine.orders import FILL_ORDER_TYPE, ORDER_TYPES, TRIGGER_TYPES, Order

MARKET_ACCOUNT = "__market__"
"""The simulator's own liquidity provider: unlimited funds, exempt from self-trade checks."""

CLOSED_ORDER_MEMORY_MS = 5_000
"""How long ``orders/status`` remembers filled/cancelled orders (Kraken: 5 seconds)."""


@dataclass(slots=True)
class EngineParams:
    """Tunables of the engine.

    maker_fee / taker_fee: fee rates as fractions of notional (0.0002 = 2 bp); negative = rebate.
    market_protection: ``mkt`` orders become IOC limited this fraction away from the mark
        (Kraken: 1 %).
    self_trade: ``reject_taker`` (stop at the own resting order and cancel the taker's rest) or
        ``cancel_maker`` (cancel the own resting order and keep matching).
    max_cli_ord_id: longest accepted ``cliOrdId``, in characters.
    """

    maker_fee: float = 0.0002
    taker_fee: float = 0.0005
    market_protection: float = 0.01
    self_trade: str = "reject_taker"
    max_cli_ord_id: int = 100


@dataclass(slots=True)
class PriceState:
    """Last trade, mark and index of a symbol, in USD."""

    last: float = 0.0
    last_size: float = 0.0
    last_time: int = 0
    mark: float = 0.0
    index: float = 0.0
    trade_seq: int = 0
    trades: deque[PublicTrade] = field(default_factory=lambda: deque(maxlen=100))
    volume: float = 0.0
    volume_quote: float = 0.0
    open24h: float = 0.0
    high24h: float = 0.0
    low24h: float = 0.0


class Engine:
    """All books, orders and accounts of the simulated exchange.

    clock: returns the current time in epoch milliseconds (injected for tests).
    seed: seeds order/execution ids so a run is reproducible.
    """

    def __init__(
        self,
        instruments: list[Instrument],
        clock: Callable[[], int],
        *,
        params: EngineParams | None = None,
        seed: int = 0,
        book_seq_start: int = 0,
    ) -> None:
        self.instruments = {i.symbol: i for i in instruments}
        self.clock = clock
        self.params = params or EngineParams()
        self.rng = random.Random(seed)
        self.books = {s: OrderBook(s, book_seq_start) for s in self.instruments}
        self.prices = {s: PriceState() for s in self.instruments}
        for inst in instruments:
            p = self.prices[inst.symbol]
            p.mark = p.index = p.last = p.open24h = p.high24h = p.low24h = inst.start_price
        self.accounts: dict[str, Account] = {MARKET_ACCOUNT: Account(MARKET_ACCOUNT, unlimited=True)}
        self.orders: dict[str, Order] = {}
        self.by_cli: dict[tuple[str, str], Order] = {}
        self.triggers: dict[str, list[Order]] = {s: [] for s in self.instruments}
        self.closed: deque[tuple[int, Order]] = deque()
        self.dms: dict[str, int] = {}
        self.outbox: list[Event] = []
        self.skip_seq: set[str] = set()

    # ----------------------------------------------------------------- helpers

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def drain(self) -> list[Event]:
        """Take everything emitted since the last drain, oldest first."""
        out, self.outbox = self.outbox, []
        return out

    def add_account(self, account: Account) -> None:
        self.accounts[account.name] = account

    def instrument(self, symbol: str) -> Instrument | None:
        """Case-insensitive lookup (Kraken accepts lowercase symbols)."""
        return self.instruments.get(symbol.upper())

    def _level_changed(self, symbol: str, is_buy: bool, price: float, qty: float) -> None:
        book = self.books[symbol]
        if symbol in self.skip_seq:  # fault injection: leave a hole in seq
            self.skip_seq.discard(symbol)
            book.next_seq()
        self.outbox.append(
            BookDelta(symbol, "buy" if is_buy else "sell", price, round(qty, 10), book.next_seq(),
                      self.clock())
        )

    def _remember_closed(self, order: Order) -> None:
        now = self.clock()
        self.closed.append((now, order))
        while self.closed and self.closed[0][0] < now - CLOSED_ORDER_MEMORY_MS:
            self.closed.popleft()

    def _finish(self, order: Order, status: str) -> None:
        order.status = status
        self.orders.pop(order.order_id, None)
        if order.cli_ord_id is not None:
            self.by_cli.pop((order.account, order.cli_ord_id), None)
        self._remember_closed(order)

    def find(self, account: str, order_id: str | None, cli_ord_id: str | None) -> Order | None:
        """An open order of ``account`` by Kraken order id or client order id."""
        if order_id:
            o = self.orders.get(order_id)
            return o if o is not None and o.account == account else None
        if cli_ord_id:
            return self.by_cli.get((account, cli_ord_id))
        return None

    def recent(self, account: str, order_id: str | None, cli_ord_id: str | None) -> Order | None:
        """An open order, or one closed within the last 5 s (``orders/status``)."""
        o = self.find(account, order_id, cli_ord_id)
        if o is not None:
            return o
        cutoff = self.clock() - CLOSED_ORDER_MEMORY_MS
        for t, c in reversed(self.closed):
            if t < cutoff:
                break
            if c.account == account and (
                (order_id and c.order_id == order_id) or (cli_ord_id and c.cli_ord_id == cli_ord_id)
            ):
                return c
        return None

    def open_orders(self, account: str) -> list[Order]:
        return [o for o in self.orders.values() if o.account == account]

    # ----------------------------------------------------------------- margin

    def index_of(self, currency: str) -> float:
        """USD value of one unit of ``currency`` (from the index of a matching contract)."""
        if currency.upper() in ("USD", "USDT", "USDC"):
            return 1.0
        for inst in self.instruments.values():
            if inst.base == currency.upper():
                return self.prices[inst.symbol].index
        return 0.0

    def _bucket(self, inst: Instrument) -> str:
        return inst.margin_account if inst.inverse else "flex"

    def equity(self, acct: Account, bucket: str) -> float:
        """Collateral plus unrealized PnL of one margin bucket (``flex`` in USD, else base ccy)."""
        if bucket == "flex":
            value = sum(q * self.index_of(c) for c, q in acct.flex.items())
        else:
            value = acct.margin.get(bucket, 0.0)
        for sym, pos in acct.positions.items():
            inst = self.instruments[sym]
            if self._bucket(inst) == bucket:
                value += unrealized_pnl(inst, pos, self.prices[sym].mark)
        return value

    def initial_margin(self, acct: Account, bucket: str, *, with_orders: bool = True) -> float:
        im = 0.0
        for sym, pos in acct.positions.items():
            inst = self.instruments[sym]
            if self._bucket(inst) == bucket and pos.size:
                im += notional(inst, pos.size, self.prices[sym].mark) * inst.initial_margin
        if with_orders:
            for o in self.orders.values():
                if o.account == acct.name:
                    inst = self.instruments[o.symbol]
                    if self._bucket(inst) == bucket:
                        im += self._order_margin(acct, inst, o.side, o.remaining, o.limit_price)
        return im

    def maintenance_margin(self, acct: Account, bucket: str) -> float:
        mm = 0.0
        for sym, pos in acct.positions.items():
            inst = self.instruments[sym]
            if self._bucket(inst) == bucket and pos.size:
                mm += notional(inst, pos.size, self.prices[sym].mark) * inst.maintenance_margin
        return mm

    def available_margin(self, acct: Account, bucket: str) -> float:
        return self.equity(acct, bucket) - self.initial_margin(acct, bucket)

    def _order_margin(
        self, acct: Account, inst: Instrument, side: str, qty: float, price: float | None
    ) -> float:
        """Initial margin of the part of an order that would increase exposure."""
        pos = acct.positions.get(inst.symbol)
        size = pos.size if pos else 0.0
        signed = qty if side == "buy" else -qty
        increase = abs(size + signed) - abs(size) if abs(size + signed) > abs(size) else 0.0
        if increase <= 0:
            return 0.0
        px = price or self.prices[inst.symbol].mark
        return notional(inst, increase, px) * inst.initial_margin

    # ----------------------------------------------------------------- orders

    def send(
        self,
        account: str,
        *,
        symbol: str,
        side: str,
        order_type: str,
        size: float,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trigger_signal: str = "last",
        reduce_only: bool = False,
        cli_ord_id: str | None = None,
    ) -> Outcome:
        """``sendorder``. Rejections come back as an Outcome status (Kraken answers them with
        ``result: success``), never as exceptions."""
        acct = self.accounts[account]
        inst = self.instrument(symbol)
        if inst is None:
            return Outcome("marketInactive")
        if order_type not in ORDER_TYPES:
            return Outcome("invalidOrderType")
        if side not in ("buy", "sell"):
            return Outcome("invalidSide")
        if not inst.valid_size(size):
            return Outcome("invalidSize")
        if cli_ord_id is not None and len(cli_ord_id) > self.params.max_cli_ord_id:
            return Outcome("clientOrderIdTooLong")
        if cli_ord_id is not None and (account, cli_ord_id) in self.by_cli:
            return Outcome("clientOrderIdAlreadyExist", cli_ord_id=cli_ord_id)
        if order_type in ("lmt", "post", "ioc") and (
            limit_price is None or not inst.valid_price(limit_price)
        ):
            return Outcome("invalidPrice")
        if order_type in TRIGGER_TYPES and (
            stop_price is None
            or not inst.valid_price(stop_price)
            or (limit_price is not None and not inst.valid_price(limit_price))
        ):
            return Outcome("invalidPrice")
        if order_type == "mkt":
            limit_price = None
        now = self.clock()
        order = Order(
            order_id=self.new_id(), account=account, symbol=inst.symbol, side=side,
            order_type=order_type, qty=size, limit_price=limit_price, cli_ord_id=cli_ord_id,
            stop_price=stop_price if order_type in TRIGGER_TYPES else None,
            trigger_signal="mark" if trigger_signal == "mark" else "last",
            reduce_only=reduce_only, time_ms=now, last_update_ms=now,
        )
        out = Outcome("placed", order_id=order.order_id, cli_ord_id=cli_ord_id)
        reduced: float | None = None
        if reduce_only:
            pos = acct.positions.get(inst.symbol)
            size_now = pos.size if pos else 0.0
            if size_now == 0 or (size_now > 0) == (side == "buy"):
                return Outcome("wouldNotReducePosition", cli_ord_id=cli_ord_id)
            if size > abs(size_now):  # Kraken shrinks a reduce-only order to the position
                reduced = size - abs(size_now)
                order.qty = abs(size_now)
        if not acct.unlimited:
            bucket = self._bucket(inst)
            need = self._order_margin(acct, inst, side, order.qty, limit_price)
            if need > 0 and need > self.available_margin(acct, bucket) + 1e-12:
                return Outcome("insufficientAvailableFunds", cli_ord_id=cli_ord_id)
        if order_type == "post" and self._would_cross(order, limit_price):
            self.outbox.append(
                OrderUpdate(account, order.snapshot(), True,
                            "post_order_failed_because_it_would_filled", verbose_only=True)
            )
            return Outcome("postWouldExecute", order_id=order.order_id, cli_ord_id=cli_ord_id)
        if order_type in TRIGGER_TYPES:
            self._register(order)
            self.triggers[inst.symbol].append(order)
            out.order_events.append(RestEvent("PLACE", order.snapshot(), reduced_qty=reduced))
            self.outbox.append(OrderUpdate(account, order.snapshot(), False,
                                           "new_placed_order_by_user"))
            self._check_triggers(inst.symbol)
            return out
        if order_type == "mkt":  # Kraken: a market order is an IOC with a protection price
            order.limit_price = self._protection_price(inst, side)
            if order.limit_price is None:
                return Outcome("iocWouldNotExecute", cli_ord_id=cli_ord_id)
        self._execute_new(order, out, reduced)
        self._check_triggers(inst.symbol)
        return out

    def _register(self, order: Order) -> None:
        self.orders[order.order_id] = order
        if order.cli_ord_id is not None:
            self.by_cli[(order.account, order.cli_ord_id)] = order

    def _protection_price(self, inst: Instrument, side: str) -> float | None:
        ref = self.prices[inst.symbol].mark
        book = self.books[inst.symbol]
        if ref <= 0:
            best = book.best_ask() if side == "buy" else book.best_bid()
            if best is None:
                return None
            ref = best
        k = self.params.market_protection
        return inst.ceil_price(ref * (1 + k)) if side == "buy" else inst.floor_price(ref * (1 - k))

    def _would_cross(self, order: Order, price: float | None) -> bool:
        best = self.books[order.symbol].opposite(order.is_buy).best()
        if best is None:
            return False
        if price is None:
            return True
        return best.price <= price if order.is_buy else best.price >= price

    def _execute_new(self, order: Order, out: Outcome, reduced: float | None) -> None:
        """Match a new (or just triggered) order, then rest, cancel or reject its remainder."""
        is_ioc = order.order_type in ("ioc", "mkt") or (
            order.triggered and order.limit_price is None
        )
        if is_ioc and not self._would_cross(order, order.limit_price):
            out.status = "iocWouldNotExecute"
            self.outbox.append(OrderUpdate(order.account, order.snapshot(), True,
                                           "ioc_order_failed_because_it_would_not_be_executed",
                                           verbose_only=True))
            self._finish(order, "cancelled")
            return
        self_traded = self._match(order, out)
        if order.remaining <= 1e-12:
            self._finish(order, "filled")
            if order.account != MARKET_ACCOUNT:
                self.outbox.append(OrderUpdate(order.account, order.snapshot(), True, "full_fill"))
            return
        if self_traded or is_ioc:
            if self_traded and order.filled == 0:
                out.status = "selfFill" if not is_ioc else out.status
            self.outbox.append(OrderUpdate(order.account, order.snapshot(), True,
                                           "would_execute_self" if self_traded
                                           else "ioc_order_failed_because_it_would_not_be_executed",
                                           verbose_only=not self_traded))
            self._finish(order, "cancelled")
            return
        # rests in the book
        assert order.limit_price is not None
        self._register(order)
        out.order_events.append(RestEvent("PLACE", order.snapshot(), reduced_qty=reduced))
        total = self.books[order.symbol].add(order, order.limit_price)
        self._level_changed(order.symbol, order.is_buy, order.limit_price, total)
        reason = "limit_order_from_stop" if order.triggered else "new_placed_order_by_user"
        self.outbox.append(OrderUpdate(order.account, order.snapshot(), False, reason))

    def _match(self, taker: Order, out: Outcome) -> bool:
        """Fill ``taker`` against the opposite side; True if stopped by self-trade prevention."""
        book = self.books[taker.symbol]
        opp = book.opposite(taker.is_buy)
        limit = taker.limit_price
        while taker.remaining > 1e-12:
            lvl = opp.best()
            if lvl is None:
                break
            if limit is not None and (lvl.price > limit if taker.is_buy else lvl.price < limit):
                break
            maker = lvl.orders[0]
            if maker.account == taker.account and taker.account != MARKET_ACCOUNT:
                if self.params.self_trade == "cancel_maker":
                    self._cancel(maker, "would_execute_self", out=None)
                    continue
                return True
            qty = round(min(taker.remaining, maker.remaining), 10)
            self._trade(taker, maker, lvl.price, qty, out)
            total = book.reduce(maker, lvl.price, qty)
            self._level_changed(taker.symbol, maker.is_buy, lvl.price, total)
            if maker.remaining <= 1e-12:
                self._finish(maker, "filled")
                self.outbox.append(OrderUpdate(maker.account, maker.snapshot(), True, "full_fill"))
            else:
                self.outbox.append(OrderUpdate(maker.account, maker.snapshot(), False,
                                               "partial_fill"))
        return False

    def _trade(self, taker: Order, maker: Order, price: float, qty: float, out: Outcome) -> None:
        now = self.clock()
        inst = self.instruments[taker.symbol]
        exec_id = self.new_id()
        out.order_events.append(RestEvent("EXECUTION", taker.snapshot(), price=price, amount=qty,
                                          execution_id=exec_id))
        for o in (taker, maker):
            o.filled = round(o.filled + qty, 10)
            o.last_update_ms = now
        ps = self.prices[taker.symbol]
        ps.trade_seq += 1
        trade = PublicTrade(taker.symbol, self.new_id(), taker.side, price, qty, ps.trade_seq, now)
        ps.trades.appendleft(trade)
        ps.last, ps.last_size, ps.last_time = price, qty, now
        ps.volume += qty
        ps.volume_quote += qty * price if not inst.inverse else qty
        ps.high24h = max(ps.high24h, price)
        ps.low24h = min(ps.low24h, price) if ps.low24h else price
        self.outbox.append(trade)
        for o, fill_type, rate in ((maker, "maker", self.params.maker_fee),
                                   (taker, "taker", self.params.taker_fee)):
            self._account_fill(o, inst, price, qty, fill_type, rate, exec_id, taker, now)

    def _account_fill(
        self, o: Order, inst: Instrument, price: float, qty: float, fill_type: str, rate: float,
        exec_id: str, taker: Order, now: int,
    ) -> None:
        acct = self.accounts[o.account]
        pos = acct.position(inst.symbol)
        realized = apply_fill(inst, pos, qty if o.is_buy else -qty, price)
        pos.fill_time_ms = now
        fee = notional(inst, qty, price) * rate
        if acct.unlimited:
            return
        acct.settle(inst, realized - fee)
        acct.fill_seq += 1
        fill: dict[str, object] = {
            "instrument": inst.symbol, "time": now, "price": price, "seq": acct.fill_seq,
            "buy": o.is_buy, "qty": qty, "remaining_order_qty": o.remaining,
            "order_id": o.order_id, "fill_id": exec_id if fill_type == "taker" else self.new_id(),
            "fill_type": fill_type, "fee_paid": fee, "fee_currency": inst.settlement_currency,
            "taker_order_type": FILL_ORDER_TYPE.get(taker.order_type, "limit"),
            "order_type": FILL_ORDER_TYPE.get(o.order_type, "limit"),
        }
        if o.cli_ord_id is not None:
            fill["cli_ord_id"] = o.cli_ord_id
        acct.fills.appendleft(fill)
        self.outbox.append(FillUpdate(o.account, fill))
        self.outbox.append(PositionUpdate(o.account, inst.symbol))
        self.outbox.append(BalanceUpdate(o.account))
        self._trim_reduce_only(acct, inst.symbol, pos)

    def _trim_reduce_only(self, acct: Account, symbol: str, pos: Position) -> None:
        """Resting reduce-only orders never outgrow the position: shrink or cancel them."""
        for o in [o for o in self.orders.values()
                  if o.account == acct.name and o.symbol == symbol and o.reduce_only]:
            if pos.size == 0 or (pos.size > 0) == o.is_buy:
                self._cancel(o, "would_not_reduce_position", out=None)
            elif o.remaining > abs(pos.size):
                self._resize(o, o.filled + abs(pos.size))

    def _resize(self, o: Order, new_qty: float) -> None:
        before = o.remaining
        o.qty = new_qty
        if not o.is_trigger and o.limit_price is not None:
            book = self.books[o.symbol]
            lvl = book.side(o.is_buy).levels.get(o.limit_price)
            if lvl is not None and o in lvl.orders:
                total = book.reduce(o, o.limit_price, before - o.remaining)
                self._level_changed(o.symbol, o.is_buy, o.limit_price, total)

    def _unbook(self, o: Order) -> None:
        if o.is_trigger:
            lst = self.triggers[o.symbol]
            if o in lst:
                lst.remove(o)
        elif o.limit_price is not None:
            total = self.books[o.symbol].remove(o, o.limit_price)
            self._level_changed(o.symbol, o.is_buy, o.limit_price, total)

    def _cancel(self, o: Order, reason: str, out: Outcome | None) -> None:
        self._unbook(o)
        o.last_update_ms = self.clock()
        self._finish(o, "cancelled")
        if out is not None:
            out.order_events.append(RestEvent("CANCEL", o.snapshot()))
            out.cancelled.append(o.snapshot())
        self.outbox.append(OrderUpdate(o.account, o.snapshot(), True, reason))

    def cancel(self, account: str, order_id: str | None = None,
               cli_ord_id: str | None = None, reason: str = "cancelled_by_user") -> Outcome:
        """``cancelorder``: status ``cancelled``, ``filled`` (closed by a fill) or ``notFound``."""
        o = self.find(account, order_id, cli_ord_id)
        if o is None:
            done = self.recent(account, order_id, cli_ord_id)
            if done is not None and done.status == "filled":
                return Outcome("filled", order_id=done.order_id, cli_ord_id=done.cli_ord_id)
            return Outcome("notFound", cli_ord_id=cli_ord_id)
        out = Outcome("cancelled", order_id=o.order_id, cli_ord_id=o.cli_ord_id)
        self._cancel(o, reason, out)
        return out

    def cancel_all(self, account: str, symbol: str | None = None,
                   reason: str = "cancelled_by_user") -> Outcome:
        """``cancelallorders``; ``noOrdersToCancel`` when nothing was open."""
        sym = symbol.upper() if symbol else None
        victims = [o for o in self.open_orders(account) if sym is None or o.symbol == sym]
        out = Outcome("cancelled" if victims else "noOrdersToCancel")
        for o in victims:
            self._cancel(o, reason, out)
        return out

    def edit(self, account: str, order_id: str | None = None, cli_ord_id: str | None = None, *,
             size: float | None = None, limit_price: float | None = None,
             stop_price: float | None = None) -> Outcome:
        """``editorder``: amend in place (id kept). ``size`` is the new total order size.

        A price change loses queue priority; a size-only reduction keeps it (as on Kraken).
        """
        o = self.find(account, order_id, cli_ord_id)
        if o is None:
            return Outcome("orderForEditNotFound", order_id=order_id, cli_ord_id=cli_ord_id)
        inst = self.instruments[o.symbol]
        if size is not None and (not inst.valid_size(size) or size <= o.filled):
            return Outcome("invalidSize", order_id=o.order_id)
        if limit_price is not None and not inst.valid_price(limit_price):
            return Outcome("invalidPrice", order_id=o.order_id)
        if stop_price is not None and (not o.is_trigger or not inst.valid_price(stop_price)):
            return Outcome("orderForEditNotAStop" if not o.is_trigger else "invalidPrice",
                           order_id=o.order_id)
        if o.order_type == "post" and limit_price is not None:
            probe = o.snapshot()
            if self._would_cross(probe, limit_price):
                return Outcome("postWouldExecute", order_id=o.order_id)
        acct = self.accounts[account]
        if not acct.unlimited:
            extra_qty = (size - o.qty) if size is not None else 0.0
            if extra_qty > 0:
                need = self._order_margin(acct, inst, o.side, extra_qty,
                                          limit_price or o.limit_price)
                if need > self.available_margin(acct, self._bucket(inst)) + 1e-12:
                    return Outcome("insufficientAvailableFunds", order_id=o.order_id)
        old = o.snapshot()
        out = Outcome("edited", order_id=o.order_id, cli_ord_id=o.cli_ord_id)
        price_moved = limit_price is not None and limit_price != o.limit_price
        if o.is_trigger:
            o.qty = size if size is not None else o.qty
            o.limit_price = limit_price if limit_price is not None else o.limit_price
            o.stop_price = stop_price if stop_price is not None else o.stop_price
        elif price_moved or (size is not None and size > o.qty):
            self._unbook(o)
            o.qty = size if size is not None else o.qty
            o.limit_price = limit_price if limit_price is not None else o.limit_price
        elif size is not None and size != o.qty:
            self._resize(o, size)
        o.last_update_ms = self.clock()
        out.order_events.append(RestEvent("EDIT", o.snapshot(), old=old))
        self.outbox.append(OrderUpdate(account, o.snapshot(), False, "edited_by_user"))
        if o.is_trigger:
            pass
        elif price_moved or (size is not None and size > old.qty):
            # re-enter the book at the back of the queue, crossing if the new price does
            assert o.limit_price is not None
            if self._would_cross(o, o.limit_price):
                self._match(o, out)
            if o.remaining <= 1e-12:
                self._finish(o, "filled")
                self.outbox.append(OrderUpdate(account, o.snapshot(), True, "full_fill"))
            else:
                total = self.books[o.symbol].add(o, o.limit_price)
                self._level_changed(o.symbol, o.is_buy, o.limit_price, total)
        self._check_triggers(o.symbol)
        return out

    # ----------------------------------------------------------------- triggers & prices

    def set_mark(self, symbol: str, mark: float, index: float | None = None) -> None:
        """New mark (and index) price; fires mark-triggered orders."""
        ps = self.prices[symbol]
        ps.mark = mark
        ps.index = index if index is not None else mark
        self._check_triggers(symbol)

    def _check_triggers(self, symbol: str) -> None:
        ps = self.prices[symbol]
        fired: list[Order] = []
        for o in self.triggers[symbol]:
            px = ps.mark if o.trigger_signal == "mark" else ps.last
            assert o.stop_price is not None
            if px <= 0:
                continue
            if (px >= o.stop_price) if o.trigger_side == "trigger_above" else (px <= o.stop_price):
                fired.append(o)
        for o in fired:
            if o not in self.triggers[symbol]:
                continue
            self.triggers[symbol].remove(o)
            self.outbox.append(OrderUpdate(o.account, o.snapshot(), True, "stop_order_triggered"))
            o.triggered = True
            o.last_update_ms = self.clock()
            self.orders.pop(o.order_id, None)
            if o.cli_ord_id is not None:
                self.by_cli.pop((o.account, o.cli_ord_id), None)
            if o.limit_price is None:
                o.limit_price = self._protection_price(self.instruments[symbol], o.side)
                if o.limit_price is None:
                    self._finish(o, "cancelled")
                    continue
                o.order_type = "ioc"
            self._execute_new(o, Outcome("placed"), None)

    # ----------------------------------------------------------------- dead man's switch

    def cancel_all_after(self, account: str, timeout_s: int) -> tuple[int, int]:
        """Arm (timeout > 0, re-arming pushes the deadline) or disarm (0) the switch.

        Returns ``(now_ms, trigger_ms)``; trigger_ms is 0 when disarmed.
        """
        now = self.clock()
        if timeout_s <= 0:
            self.dms.pop(account, None)
            return now, 0
        self.dms[account] = now + timeout_s * 1000
        return now, self.dms[account]

    def tick(self) -> None:
        """Fire expired dead man's switches: cancel everything, then disarm (as Spot does)."""
        if not self.dms:
            return
        now = self.clock()
        for account, deadline in list(self.dms.items()):
            if now >= deadline:
                del self.dms[account]
                self.cancel_all(account, reason="dead_man_switch")

    # ----------------------------------------------------------------- market maker hooks

    def set_liquidity(self, symbol: str, is_buy: bool, price: float, qty: float) -> None:
        """Set the market account's resting size at one level (0 removes it), in place.

        The pooled order keeps its queue position when resized, so user orders at the same
        price keep theirs too.
        """
        book = self.books[symbol]
        lvl = book.side(is_buy).levels.get(price)
        pooled: Order | None = None
        if lvl is not None:
            for o in lvl.orders:
                if o.account == MARKET_ACCOUNT:
                    pooled = o
                    break
        if pooled is None:
            if qty <= 0:
                return
            if self._would_cross_price(symbol, is_buy, price):
                return
            now = self.clock()
            pooled = Order(self.new_id(), MARKET_ACCOUNT, symbol, "buy" if is_buy else "sell",
                           "lmt", qty, price, time_ms=now, last_update_ms=now)
            total = book.add(pooled, price)
            self.orders[pooled.order_id] = pooled
        else:
            delta = qty - pooled.remaining
            if delta == 0:
                return
            if qty <= 0:
                total = book.remove(pooled, price)
                self.orders.pop(pooled.order_id, None)
            else:
                pooled.qty = pooled.filled + qty
                assert lvl is not None
                lvl.total = round(lvl.total + delta, 10)
                total = lvl.total
        self._level_changed(symbol, is_buy, price, total)

    def _would_cross_price(self, symbol: str, is_buy: bool, price: float) -> bool:
        best = self.books[symbol].opposite(is_buy).best()
        return best is not None and (best.price <= price if is_buy else best.price >= price)

    def market_order(self, symbol: str, side: str, qty: float, limit: float) -> Outcome:
        """The market account sends an IOC (background trades, admin ``trade``)."""
        now = self.clock()
        inst = self.instruments[symbol]
        order = Order(self.new_id(), MARKET_ACCOUNT, symbol, side, "ioc", qty,
                      inst.round_price(limit), time_ms=now, last_update_ms=now)
        out = Outcome("placed", order_id=order.order_id)
        self._match(order, out)
        if out.order_events:
            self._check_triggers(symbol)
        return out

    def print_trade(self, symbol: str, side: str, price: float, qty: float) -> None:
        """Put a trade on the tape without touching the book (admin ``trade``), then fire
        last-price triggers."""
        now = self.clock()
        ps = self.prices[symbol]
        ps.trade_seq += 1
        t = PublicTrade(symbol, self.new_id(), side, price, qty, ps.trade_seq, now)
        ps.trades.appendleft(t)
        ps.last, ps.last_size, ps.last_time = price, qty, now
        ps.volume += qty
        ps.high24h = max(ps.high24h, price)
        ps.low24h = min(ps.low24h, price)
        self.outbox.append(t)
        self._check_triggers(symbol)
