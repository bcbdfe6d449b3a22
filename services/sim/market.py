"""The synthetic market, sans-I/O: resting liquidity around a random-walking fair price, level
size churn and background trades, all through the engine (so user orders interact with it).

:meth:`SyntheticMarket.step` is called by the server loop with the elapsed time; it generates
about ``book_rate * dt`` book messages and ``trade_rate * dt`` trades. Deterministic for a seed.
"""

from __future__ import annotations

import random

from services.sim.engine.engine import Engine
from services.sim.engine.instruments import Instrument

_POOL = 4096
"""Pre-drawn random level sizes per symbol, and the size of the level-index table."""


class SyntheticMarket:
    """Background liquidity of every instrument.

    book_rate: book messages per second over all symbols. trade_rate: trades per second.
    depth: levels per side. volatility: fair-price step per second as a fraction.
    level_sizes: typical size per level and symbol, in contracts.
    max_step_messages: most book messages one step generates (bounds event-loop stalls when
    ``book_rate`` is more than the process can do; the excess is dropped, not queued).
    """

    def __init__(self, engine: Engine, *, seed: int, book_rate: float, trade_rate: float,
                 depth: int, volatility: float, level_sizes: dict[str, float],
                 max_step_messages: int = 50_000) -> None:
        self.engine = engine
        self.rng = random.Random(seed)
        self.book_rate = book_rate
        self.trade_rate = trade_rate
        self.depth = max(depth, 1)
        self.volatility = volatility
        self.level_sizes = level_sizes
        self.max_step_messages = max_step_messages
        self.symbols = list(engine.instruments)
        self.mid_ticks: dict[str, int] = {}
        # precomputed per symbol so the hot path (one call per book message) stays cheap
        self._decimals = {s: i.price_decimals for s, i in engine.instruments.items()}
        self._sizes = {s: [self._fresh_size(i) for _ in range(_POOL)]
                       for s, i in engine.instruments.items()}
        self._size_at = 0
        # level index k drawn with P(k) ~ 0.74^k: most churn happens near the touch
        weights = [0.74**k for k in range(self.depth)]
        total = sum(weights)
        table: list[int] = []
        for k, w in enumerate(weights):
            table += [k] * max(1, round(w / total * _POOL))
        self._k_table = table
        self._book_debt = 0.0
        self._trade_debt = 0.0

    # -------------------------------------------------------------- layout

    def _fresh_size(self, inst: Instrument) -> float:
        base = self.level_sizes.get(inst.symbol, 1.0)
        q = inst.round_size(base * (0.2 + self.rng.random() * 1.8))
        return q if q > 0 else inst.round_size(base) or 10.0 ** -inst.precision

    def _size(self, inst: Instrument) -> float:
        """A level size from the symbol's pre-drawn pool (seeded, so still deterministic)."""
        self._size_at = (self._size_at + 1) % _POOL
        return self._sizes[inst.symbol][self._size_at]

    def _price(self, inst: Instrument, ticks: int) -> float:
        return round(ticks * inst.tick_size, self._decimals[inst.symbol])

    def _quote_ticks(self, symbol: str, is_buy: bool, k: int) -> int:
        """Price in ticks of the k-th background level (0 = touch)."""
        mid = self.mid_ticks[symbol]
        return mid - 1 - k if is_buy else mid + 1 + k

    def seed_books(self) -> None:
        """Lay out ``depth`` levels per side around each start price."""
        for sym in self.symbols:
            inst = self.engine.instruments[sym]
            self.mid_ticks[sym] = round(self.engine.prices[sym].mark / inst.tick_size)
            for k in range(self.depth):
                for is_buy in (True, False):
                    self.engine.set_liquidity(sym, is_buy,
                                              self._price(inst, self._quote_ticks(sym, is_buy, k)),
                                              self._size(inst))

    def warm_up(self, trades_per_symbol: int = 100) -> None:
        """Give every symbol a trade history (``trade_snapshot``/``history`` are never empty
        on Kraken)."""
        for sym in self.symbols:
            for _ in range(trades_per_symbol):
                self._trade(sym)

    # -------------------------------------------------------------- dynamics

    def step(self, dt: float) -> None:
        """Advance the market by ``dt`` seconds."""
        self._book_debt += self.book_rate * dt
        self._trade_debt += self.trade_rate * dt
        n_book = int(self._book_debt)
        self._book_debt -= n_book
        if n_book > self.max_step_messages:  # saturated: generate what one step can, no backlog
            n_book = self.max_step_messages
            self._book_debt = 0.0
        n_trades = int(self._trade_debt)
        self._trade_debt -= n_trades
        rng = self.rng
        p_move = min(0.2, self.volatility * 10_000 / max(self.book_rate, 1.0))
        while n_book > 0:
            sym = self.symbols[rng.randrange(len(self.symbols))]
            if rng.random() < p_move:
                self.move(sym, 1 if rng.random() < 0.5 else -1)
                n_book -= 4
            else:
                self._churn(sym)
                n_book -= 1
        for _ in range(n_trades):
            self._trade(self.symbols[rng.randrange(len(self.symbols))])

    def _churn(self, sym: str) -> None:
        """Resize one background level (the bulk of all book messages)."""
        inst = self.engine.instruments[sym]
        bits = self.rng.getrandbits(24)
        k = self._k_table[(bits >> 1) % len(self._k_table)]
        is_buy = bool(bits & 1)
        mid = self.mid_ticks[sym]
        ticks = mid - 1 - k if is_buy else mid + 1 + k
        self._size_at = (self._size_at + 1) % _POOL
        self.engine.set_liquidity(sym, is_buy,
                                  round(ticks * inst.tick_size, self._decimals[sym]),
                                  self._sizes[sym][self._size_at])

    def move(self, sym: str, ticks: int) -> None:
        """Shift the fair price by ``ticks``; orders the new quotes would cross are taken."""
        inst = self.engine.instruments[sym]
        step = 1 if ticks > 0 else -1
        for _ in range(abs(ticks)):
            old_far_bid = self._quote_ticks(sym, True, self.depth - 1)
            old_far_ask = self._quote_ticks(sym, False, self.depth - 1)
            old_touch_bid = self._quote_ticks(sym, True, 0)
            old_touch_ask = self._quote_ticks(sym, False, 0)
            self.mid_ticks[sym] += step
            eng = self.engine
            if step > 0:
                eng.set_liquidity(sym, False, self._price(inst, old_touch_ask), 0.0)
                self._sweep(sym, "buy", self._quote_ticks(sym, True, 0))
                eng.set_liquidity(sym, True, self._price(inst, old_far_bid), 0.0)
                eng.set_liquidity(sym, True, self._price(inst, old_touch_bid + 1),
                                  self._size(inst))
                eng.set_liquidity(sym, False, self._price(inst, old_far_ask + 1),
                                  self._size(inst))
            else:
                eng.set_liquidity(sym, True, self._price(inst, old_touch_bid), 0.0)
                self._sweep(sym, "sell", self._quote_ticks(sym, False, 0))
                eng.set_liquidity(sym, False, self._price(inst, old_far_ask), 0.0)
                eng.set_liquidity(sym, False, self._price(inst, old_touch_ask - 1),
                                  self._size(inst))
                eng.set_liquidity(sym, True, self._price(inst, old_far_bid - 1),
                                  self._size(inst))
        mid = self._price(inst, self.mid_ticks[sym])
        self.engine.set_mark(sym, mid, mid)

    def _sweep(self, sym: str, side: str, limit_ticks: int) -> None:
        """Take every (user) order priced through ``limit_ticks`` (a trader lifting them)."""
        inst = self.engine.instruments[sym]
        book = self.engine.books[sym]
        limit = self._price(inst, limit_ticks)
        best = book.best_ask() if side == "buy" else book.best_bid()
        if best is None or (best > limit if side == "buy" else best < limit):
            return
        qty = sum(q for p, q in (book.asks.depth() if side == "buy" else book.bids.depth())
                  if (p <= limit if side == "buy" else p >= limit))
        if qty > 0:
            self.engine.market_order(sym, side, qty, limit)

    def _trade(self, sym: str) -> None:
        """A small market order against the touch, then the level is refilled."""
        inst = self.engine.instruments[sym]
        side = "buy" if self.rng.random() < 0.5 else "sell"
        book = self.engine.books[sym]
        lvl = (book.asks if side == "buy" else book.bids).best()
        if lvl is None:
            return
        qty = inst.round_size(min(lvl.total, self._size(inst) * 0.3))
        if qty <= 0:
            return
        self.engine.market_order(sym, side, qty, lvl.price)
        touch = self._quote_ticks(sym, side == "sell", 0)
        self.engine.set_liquidity(sym, side == "sell", self._price(inst, touch), self._size(inst))

    def refill(self, sym: str) -> None:
        """Put background size back on every level of ``sym`` that has none (after a sweep)."""
        inst = self.engine.instruments[sym]
        book = self.engine.books[sym]
        for k in range(self.depth):
            for is_buy in (True, False):
                px = self._price(inst, self._quote_ticks(sym, is_buy, k))
                if px not in book.side(is_buy).levels:
                    self.engine.set_liquidity(sym, is_buy, px, self._size(inst))

    def jump_to(self, sym: str, price: float) -> None:
        """Re-centre the fair price on ``price`` (admin ``price``), trading through orders."""
        inst = self.engine.instruments[sym]
        target = round(price / inst.tick_size)
        delta = target - self.mid_ticks[sym]
        if abs(delta) > 4 * self.depth:
            # far jump: clear the background and lay it out again around the new price
            for is_buy in (True, False):
                for k in range(self.depth):
                    self.engine.set_liquidity(
                        sym, is_buy, self._price(inst, self._quote_ticks(sym, is_buy, k)), 0.0)
            self.mid_ticks[sym] = target
            self._sweep(sym, "buy", target)
            self._sweep(sym, "sell", target)
            for k in range(self.depth):
                for is_buy in (True, False):
                    self.engine.set_liquidity(
                        sym, is_buy, self._price(inst, self._quote_ticks(sym, is_buy, k)),
                        self._size(inst))
            self.engine.set_mark(sym, price, price)
        elif delta:
            self.move(sym, delta)
