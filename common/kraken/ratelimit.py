"""Kraken Futures REST rate budget, sans-I/O (protocol reference section 6).

Kraken keeps, per API key, a token bucket of **500 tokens refilled at 500 per 10 seconds**
for every ``/derivatives`` endpoint; each call costs tokens by endpoint (table below). A call
over budget is answered ``apiLimitExceeded`` and repeated abuse earns a temporary ban, so the
gateway keeps its own copy of the bucket and refuses (or delays) a call *before* it leaves.

Two ways to spend, both with the caller's clock (``now`` in seconds, monotonic):

- :meth:`RateBudget.try_take`: all or nothing; False means "would exceed, nothing spent".
- :meth:`RateBudget.reserve`: always spends, letting the level go below zero, and returns the
  delay in seconds after which the call fits the budget (the queueing policy); callers check
  the delay against their own limit first with :meth:`RateBudget.delay_for`.
"""

from __future__ import annotations

COSTS: dict[str, int] = {
    "sendorder": 10,
    "editorder": 10,
    "cancelorder": 10,
    "accounts": 2,
    "openpositions": 2,
    "openorders": 2,
    "fills": 2,
    "cancelallorders": 25,
    "cancelallordersafter": 25,
    "orders/status": 1,
    "withdrawaltospotwallet": 100,
    "unwindqueue": 200,
    "transfer": 10,
}
"""Tokens per private endpoint (Kraken docs, "Futures rate limits"). ``batchorder`` costs
9 + number of elements; ``fills`` with ``lastFillTime`` costs 25; public endpoints cost 0."""

PUBLIC_ENDPOINTS = frozenset({"instruments", "tickers", "orderbook", "history", "instruments/status"})
"""Endpoints that need no key and cost nothing."""

KRAKEN_CAPACITY = 500.0
"""Kraken's bucket size, tokens."""

KRAKEN_WINDOW = 10.0
"""Seconds Kraken takes to refill the whole bucket."""


def cost(endpoint: str, *, batch_size: int = 0, last_fill_time: bool = False) -> int:
    """Tokens one call of ``endpoint`` costs (``batch_size``: elements of a batchorder)."""
    if endpoint in PUBLIC_ENDPOINTS:
        return 0
    if endpoint == "batchorder":
        return 9 + batch_size
    if endpoint == "fills" and last_fill_time:
        return 25
    return COSTS.get(endpoint, 1)


class RateBudget:
    """A token bucket mirroring Kraken's for one API key.

    capacity: tokens when full (Kraken: 500; configure a little less to keep a margin for
        clocks that disagree). window: seconds to refill from empty (Kraken: 10).
    """

    __slots__ = ("capacity", "level", "rate", "updated")

    def __init__(self, capacity: float = KRAKEN_CAPACITY, window: float = KRAKEN_WINDOW, now: float = 0.0) -> None:
        if capacity <= 0 or window <= 0:
            raise ValueError("capacity and window must be positive")
        self.capacity = float(capacity)
        self.rate = self.capacity / window
        self.level = self.capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
            self.updated = now

    def available(self, now: float) -> float:
        """Tokens available at ``now`` (negative while reservations are outstanding)."""
        self._refill(now)
        return self.level

    def try_take(self, tokens: float, now: float) -> bool:
        """Spend ``tokens`` if the budget has them; False (nothing spent) otherwise."""
        self._refill(now)
        if tokens > self.level:
            return False
        self.level -= tokens
        return True

    def delay_for(self, tokens: float, now: float) -> float:
        """Seconds until ``tokens`` would fit (0 if they fit now); inf if they never can."""
        if tokens > self.capacity:
            return float("inf")
        self._refill(now)
        missing = tokens - self.level
        return 0.0 if missing <= 0 else missing / self.rate

    def reserve(self, tokens: float, now: float) -> float:
        """Spend ``tokens`` now, going into debt if needed; returns the delay in seconds after
        which the call is within budget. Calls sent at their delays never exceed the bucket."""
        delay = self.delay_for(tokens, now)
        self.level -= tokens
        return delay

    def refund(self, tokens: float, now: float) -> None:
        """Give back tokens charged for a call that was never sent (or cost less: a batch)."""
        self._refill(now)
        self.level = min(self.capacity, self.level + tokens)
