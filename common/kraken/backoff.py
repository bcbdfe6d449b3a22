"""Reconnect delays: capped exponential backoff with full jitter, sans-I/O.

The policy only computes delays; whoever owns the connection sleeps. Attempt ``n`` (0-based)
waits a uniformly random time in ``[0, min(cap, initial * multiplier**n)]`` ("full jitter",
which spreads a herd of clients reconnecting to the same host after an outage), and the policy
never runs out: it keeps returning delays, capped, for as long as it is asked. A connection
that stayed healthy calls :meth:`Backoff.reset` so the next failure starts from the bottom
again.

Usage::

    backoff = Backoff(initial=0.1, cap=30.0)
    while True:
        ok = await connect_and_serve()
        if ok:
            backoff.reset()
        await asyncio.sleep(backoff.next_delay())
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """Capped exponential backoff with full jitter.

    initial: upper bound of the first delay, seconds.
    cap: largest upper bound of any delay, seconds.
    multiplier: growth of the upper bound per failed attempt (2.0 doubles it).
    rng: source of randomness (seed it in tests for repeatable delays).
    attempts: failed attempts since the last reset.
    """

    initial: float = 0.1
    cap: float = 30.0
    multiplier: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.cap < self.initial or self.multiplier < 1.0:
            raise ValueError(
                f"backoff needs 0 < initial <= cap and multiplier >= 1, got {self.initial}, {self.cap}, "
                f"{self.multiplier}"
            )

    def bound(self, attempt: int) -> float:
        """Upper bound of the delay of attempt ``attempt`` (0-based), seconds."""
        # compare exponents instead of computing multiplier**attempt, which overflows a float
        # after ~1000 attempts of a connection that never comes back
        bound = self.initial
        for _ in range(attempt):
            bound *= self.multiplier
            if bound >= self.cap:
                return self.cap
        return min(bound, self.cap)

    def next_delay(self) -> float:
        """The delay before the next attempt, seconds; counts one more failed attempt."""
        bound = self.bound(self.attempts)
        self.attempts += 1
        return self.rng.uniform(0.0, bound)

    def reset(self) -> None:
        """Start over from ``initial`` (after a connection proved healthy)."""
        self.attempts = 0
