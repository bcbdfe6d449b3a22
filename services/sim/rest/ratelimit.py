"""Kraken's REST rate budget: a token bucket per API key (protocol reference section 6)."""

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
}
"""Cost per private endpoint; ``batchorder`` costs 9 + elements, ``fills`` with
``lastFillTime`` costs 25. Public endpoints are free."""


def cost(endpoint: str, *, batch_size: int = 0, last_fill_time: bool = False) -> int:
    if endpoint == "batchorder":
        return 9 + batch_size
    if endpoint == "fills" and last_fill_time:
        return 25
    return COSTS.get(endpoint, 1)


class TokenBucket:
    """``capacity`` tokens, refilled continuously at ``capacity / window`` per second.

    capacity: tokens (Kraken: 500). window: seconds to refill from empty (Kraken: 10).
    """

    __slots__ = ("capacity", "last", "rate", "tokens")

    def __init__(self, capacity: float, window: float, now: float) -> None:
        self.capacity = capacity
        self.rate = capacity / window if window > 0 else float("inf")
        self.tokens = capacity
        self.last = now

    def take(self, amount: float, now: float) -> bool:
        """Spend ``amount`` tokens if available; False (nothing spent) when over budget."""
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if amount > self.tokens:
            return False
        self.tokens -= amount
        return True
