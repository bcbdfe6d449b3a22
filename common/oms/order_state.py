"""One order as the exchange's events reveal it, and the state derived from them.

Every input is kept as evidence rather than applied as a transition, and the published state is
*derived* from the evidence, so any arrival order of the same events gives the same answer:

- the **latest view** (newest ``update_time_ms``; on a tie the one with more filled) gives the
  order's static fields and its total quantity (``filled + remaining``; an edit changes it);
  older views are ignored, so a stale REST answer or a late placement event cannot undo a fill;
- the **fills**, each kept once by fill id, give the traded quantity and the average price; a
  fill's ``remaining_order_quantity`` gives the total of an order that was never seen open
  (Kraken: a fast fill may never appear on ``open_orders``);
- a **close** (cancel, reject, expiry) is final and sticky.

Derived: traded = max(sum of fills, filled of the latest view); total = from the newest
evidence, the latest view's total or what its newest fill implies (fills up to it + what it
said remained); the order is FILLED once traded reaches a known total, whatever else was said;
else the close's status if closed; else PARTIALLY_FILLED or WORKING.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from common.kraken import clordid
from common.messages import (
    FINAL_ORDER_STATUSES,
    CancelReason,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
    TradeUpdate,
    UpdateType,
)

from .inputs import FillEvent, OrderClosed, OrderView

#: relative tolerance when comparing float quantities (Kraken sizes have <= 10 decimals)
EPSILON = 1e-9


def _reached(traded: float, total: float) -> bool:
    return total > 0 and traded >= total - EPSILON * max(1.0, total)


@dataclass(slots=True)
class _Fill:
    quantity: float
    price: float
    time_ms: int
    remaining_after: float | None


@dataclass(slots=True)
class OrderState:
    """Evidence about one order (keyed by the exchange's order id)."""

    exchange_order_id: str
    symbol: str | None = None
    side: Side | None = None
    order_type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.GTC
    client_order_id: str | None = None
    price: float | None = None
    stop_price: float | None = None
    reduce_only: bool = False
    view_time: int = -1
    view_filled: float = 0.0
    view_remaining: float | None = None
    fills: dict[str, _Fill] = field(default_factory=dict)
    fill_quantity: float = 0.0
    fill_average: float = 0.0
    closed: OrderStatus | None = None
    cancel_reason: CancelReason | None = None
    text: str = ""
    typed_by_fill: bool = False
    last_key: tuple[object, ...] | None = None

    # ------------------------------------------------------------------ evidence

    def apply_view(self, view: OrderView) -> None:
        """Take a view if it is the newest seen (static fields are filled in from any view)."""
        if self.symbol is None:
            self.symbol = view.symbol
        if self.side is None:
            self.side = view.side
        if self.client_order_id is None:
            self.client_order_id = view.client_order_id
        if (view.update_time_ms, view.filled) < (self.view_time, self.view_filled):
            return  # stale: a newer view was already seen
        if view.remaining is None and self.view_remaining is not None and self.view_time >= 0:
            # Kraken's REST openorders omits unfilledSize for untouched trigger orders: keep
            # the quantity we know
            remaining: float | None = self.view_remaining
        else:
            remaining = view.remaining
        if view.text and self.closed is None:
            self.text = view.text
        self.view_time = view.update_time_ms
        self.view_filled = view.filled
        self.view_remaining = remaining
        # Kraken's open_orders calls every non-trigger order "limit": a fill that said "market"
        # or "ioc" knew better, and a triggered stop continues as a "limit" under the same
        # order id (reason stop_order_triggered) but is still the client's STOP
        downgrade = view.order_type is OrderType.LIMIT and (
            self.typed_by_fill or self.order_type in (OrderType.STOP, OrderType.TAKE_PROFIT))
        if not downgrade:
            self.order_type = view.order_type
            self.time_in_force = view.time_in_force
        self.price = view.price
        if view.stop_price is not None or not downgrade:
            self.stop_price = view.stop_price
        self.reduce_only = view.reduce_only

    def apply_close(self, close: OrderClosed) -> None:
        """The exchange removed the order (final, the first close wins)."""
        if close.view is not None:
            self.apply_view(close.view)
        if self.client_order_id is None:
            self.client_order_id = close.client_order_id
        if self.closed is None:
            self.closed = close.status
            self.cancel_reason = close.reason
            self.text = close.text

    def close_unseen(self, text: str) -> None:
        """The order is gone and no event said why (it was closed while we were not
        listening): FILLED if its fills cover it, else CANCELLED with reason OTHER."""
        if self.closed is None:
            self.closed = OrderStatus.CANCELLED
            self.cancel_reason = CancelReason.OTHER
            self.text = text

    def apply_fill(self, fill: FillEvent) -> bool:
        """Record a fill; False if this fill id was already recorded (a copy may still add what
        the first one lacked: REST fills do not say what remained of the order)."""
        known = self.fills.get(fill.fill_id)
        if known is not None:
            if known.remaining_after is None:
                known.remaining_after = fill.remaining_order_quantity
            return False
        self.fills[fill.fill_id] = _Fill(fill.quantity, fill.price, fill.time_ms, fill.remaining_order_quantity)
        # running mean rather than notional / quantity: one fill at 59792 stays 59792 exactly
        self.fill_quantity += fill.quantity
        self.fill_average += (fill.price - self.fill_average) * (fill.quantity / self.fill_quantity)
        if self.symbol is None:
            self.symbol = fill.symbol
        if self.side is None:
            self.side = fill.side
        if self.client_order_id is None:
            self.client_order_id = fill.client_order_id
        if self.view_time < 0 and (fill.order_type is not OrderType.LIMIT or fill.time_in_force is TimeInForce.IOC):
            self.order_type = fill.order_type
            self.time_in_force = fill.time_in_force
            self.typed_by_fill = True
        return True

    def newest_evidence_ms(self) -> int:
        """Exchange time of the newest view or fill (epoch ms; -1 if none)."""
        return max([self.view_time, *(f.time_ms for f in self.fills.values())])

    # ------------------------------------------------------------------ derived state

    @property
    def traded(self) -> float:
        return max(self.fill_quantity, self.view_filled)

    def _fill_total(self) -> tuple[float | None, int]:
        """The order's total quantity as its newest fill that says what remained implies it,
        and that fill's time: the fills up to then plus that remainder (exact once those fills
        are all seen; a missing one only makes it smaller, never turns an open order into a
        filled one). ``(None, -1)`` if no fill says."""
        told = [f for f in self.fills.values() if f.remaining_after is not None]
        if not told:
            return None, -1
        newest = max(f.time_ms for f in told)
        # several fills in one millisecond: the smallest remainder is the last of them
        remaining = min(f.remaining_after for f in told if f.time_ms == newest and f.remaining_after is not None)
        upto = sum(f.quantity for f in self.fills.values() if f.time_ms <= newest)
        return upto + remaining, newest

    @property
    def total(self) -> float | None:
        """Total quantity (None while unknown), from the newest evidence: the latest view, or
        a fill newer than it (an edit the view did not show may have changed the total)."""
        traded = self.traded
        fill_total, fill_time = self._fill_total()
        if self.view_time >= 0 and self.view_remaining is not None and self.view_time >= fill_time:
            return max(self.view_filled + self.view_remaining, traded)
        if fill_total is not None:
            return max(fill_total, traded)
        if self.view_time >= 0 and self.view_remaining is not None:
            return max(self.view_filled + self.view_remaining, traded)
        return None

    @property
    def status(self) -> OrderStatus:
        total = self.total
        traded = self.traded
        if total is not None and _reached(traded, total):
            return OrderStatus.FILLED
        if self.closed is not None:
            return self.closed
        return OrderStatus.PARTIALLY_FILLED if traded > 0 else OrderStatus.WORKING

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_ORDER_STATUSES

    @property
    def known(self) -> bool:
        """Enough is known to publish it (a bare cancel of an order never seen is not)."""
        return self.symbol is not None and self.side is not None

    @property
    def average_price(self) -> float | None:
        return self.fill_average if self.fill_quantity > 0 else None

    def update(self, exchange: str, account: str, update_type: UpdateType, exchange_time_ms: int) -> OrderUpdate:
        """The OrderUpdate of the derived state (the caller checks :attr:`known`)."""
        assert self.symbol is not None and self.side is not None
        status = self.status
        traded = self.traded
        total = self.total
        quantity = total if total is not None else traded
        final = status in FINAL_ORDER_STATUSES
        remaining = 0.0 if final else max(quantity - traded, 0.0)
        return OrderUpdate(
            account=account,
            exchange=exchange,
            symbol=self.symbol,
            order_id=clordid.order_id(self.client_order_id),
            exchange_order_id=self.exchange_order_id,
            client_order_id=self.client_order_id,
            side=self.side,
            order_type=self.order_type,
            time_in_force=self.time_in_force,
            status=status,
            quantity=quantity,
            remaining_quantity=remaining,
            traded_quantity=traded,
            average_traded_price=self.average_price,
            price=self.price,
            stop_price=self.stop_price,
            reduce_only=self.reduce_only,
            update_type=update_type,
            cancel_reason=self.cancel_reason if final and status is not OrderStatus.FILLED else None,
            text=self.text,
            exchange_time=max(exchange_time_ms, 0) * 1_000_000,
        )

    def key(self) -> tuple[object, ...]:
        """What a subscriber can see change; an unchanged key is not republished. Once the
        order is final only its outcome counts (a late event adding its limit price is not
        worth another update)."""
        status = self.status
        prices = (None, None) if status in FINAL_ORDER_STATUSES else (self.price, self.stop_price)
        outcome = (status, self.total, self.traded, self.average_price, self.cancel_reason)
        return (*outcome, self.symbol, self.side, *prices)


def trade_update(exchange: str, account: str, fill: FillEvent, update_type: UpdateType) -> TradeUpdate:
    """The TradeUpdate of one fill."""
    return TradeUpdate(
        account=account,
        exchange=exchange,
        symbol=fill.symbol,
        order_id=clordid.order_id(fill.client_order_id),
        exchange_order_id=fill.exchange_order_id,
        client_order_id=fill.client_order_id,
        trade_id=fill.fill_id,
        side=fill.side,
        price=fill.price,
        quantity=fill.quantity,
        liquidity=fill.liquidity,
        fee=fill.fee,
        fee_currency=fill.fee_currency,
        update_type=update_type,
        exchange_time=max(fill.time_ms, 0) * 1_000_000,
    )
