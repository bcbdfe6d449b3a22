"""One instrument's order book: price levels in price-time priority and its per-product ``seq``."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from services.sim.engine.orders import Order


@dataclass(slots=True)
class Level:
    """All resting orders at one price, oldest first, and their total remaining size."""

    price: float
    orders: deque[Order] = field(default_factory=deque)
    total: float = 0.0


class BookSide:
    """Levels of one side. Prices are kept sorted best-first via a sign (bids are negated)."""

    __slots__ = ("_keys", "is_bid", "levels", "sign")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.sign = -1.0 if is_bid else 1.0
        self.levels: dict[float, Level] = {}
        self._keys: list[float] = []

    def __len__(self) -> int:
        return len(self._keys)

    def best(self) -> Level | None:
        return self.levels[self._keys[0] * self.sign] if self._keys else None

    def iter_levels(self) -> Iterator[Level]:
        """Best first."""
        for k in list(self._keys):
            lvl = self.levels.get(k * self.sign)
            if lvl is not None:
                yield lvl

    def get_or_create(self, price: float) -> Level:
        lvl = self.levels.get(price)
        if lvl is None:
            lvl = Level(price)
            self.levels[price] = lvl
            insort(self._keys, price * self.sign)
        return lvl

    def drop(self, price: float) -> None:
        if self.levels.pop(price, None) is not None:
            k = price * self.sign
            i = bisect_left(self._keys, k)
            if i < len(self._keys) and self._keys[i] == k:
                del self._keys[i]

    def depth(self, limit: int | None = None) -> list[tuple[float, float]]:
        """``[(price, qty)]`` best first, at most ``limit`` levels."""
        keys = self._keys if limit is None else self._keys[:limit]
        return [(k * self.sign, self.levels[k * self.sign].total) for k in keys]


class OrderBook:
    """Bids and asks of one symbol plus ``seq``, the per-product book message counter.

    Every level change bumps ``seq`` by one; a WebSocket ``book`` delta carries the new value
    and ``book_snapshot`` carries the current one, so the deltas after a snapshot continue at
    ``seq + 1`` exactly as on Kraken.
    """

    __slots__ = ("asks", "bids", "seq", "symbol")

    def __init__(self, symbol: str, seq: int = 0) -> None:
        self.symbol = symbol
        self.bids = BookSide(True)
        self.asks = BookSide(False)
        self.seq = seq

    def side(self, is_buy: bool) -> BookSide:
        """The side a ``buy``/``sell`` order rests on."""
        return self.bids if is_buy else self.asks

    def opposite(self, is_buy: bool) -> BookSide:
        """The side a ``buy``/``sell`` order takes liquidity from."""
        return self.asks if is_buy else self.bids

    def add(self, order: Order, price: float) -> float:
        """Append ``order`` at ``price`` (back of the queue); returns the level's new total."""
        lvl = self.side(order.is_buy).get_or_create(price)
        lvl.orders.append(order)
        lvl.total = round(lvl.total + order.remaining, 10)
        return lvl.total

    def remove(self, order: Order, price: float) -> float:
        """Take ``order`` out of its level; returns the level's new total (0 = level gone)."""
        side = self.side(order.is_buy)
        lvl = side.levels.get(price)
        if lvl is None:
            return 0.0
        try:
            lvl.orders.remove(order)
        except ValueError:
            return lvl.total
        return self._settle(side, lvl)

    def reduce(self, order: Order, price: float, amount: float) -> float:
        """The resting ``order`` lost ``amount`` (fill or size edit); returns the level total."""
        side = self.side(order.is_buy)
        lvl = side.levels[price]
        lvl.total = round(lvl.total - amount, 10)
        if order.remaining <= 1e-12:
            lvl.orders.remove(order)
        return self._settle(side, lvl)

    @staticmethod
    def _settle(side: BookSide, lvl: Level) -> float:
        if not lvl.orders:
            side.drop(lvl.price)
            return 0.0
        if lvl.total < 1e-12:
            lvl.total = sum(o.remaining for o in lvl.orders)
        return lvl.total

    def best_bid(self) -> float | None:
        b = self.bids.best()
        return b.price if b else None

    def best_ask(self) -> float | None:
        a = self.asks.best()
        return a.price if a else None

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq
