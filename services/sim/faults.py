"""Fault-injection state, sans-I/O. The admin API (``/_sim/fault/...``) and CLI flags set it;
the REST middleware and the WebSocket hub consult it. Each armed fault counts down."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

PRIVATE_ORDERS = ("natural", "ws_first", "rest_first")


@dataclass(slots=True)
class RestFault:
    """What to do to the next REST answer.

    kind: ``delay`` (answer after ``seconds``), ``http`` (answer HTTP ``status`` with a
    Kraken-style body) or ``rate_limit`` (answer ``apiLimitExceeded``).
    """

    kind: str
    seconds: float = 0.0
    status: int = 0


@dataclass(slots=True)
class Faults:
    """Armed faults.

    rest: queue of REST faults, each applied to one request under ``/derivatives`` (and
        ``/api/history``) in arrival order.
    private_order: ``natural``, ``ws_first`` or ``rest_first`` (see SimSettings).
    private_hold_ms: the hold of ``ws_first``/``rest_first``, milliseconds.
    stall_until: monotonic time until which WebSocket data is silently withheld.
    stall_symbols: only those products' data is withheld; empty = every message.
    injected: how many faults of each kind were injected (exported as a metric).
    """

    private_order: str = "natural"
    private_hold_ms: int = 50
    rest: list[RestFault] = field(default_factory=list)
    stall_until: float = 0.0
    stall_symbols: set[str] = field(default_factory=set)
    injected: Counter[str] = field(default_factory=Counter)

    def arm_rest(self, fault: RestFault, count: int = 1) -> None:
        self.rest.extend(RestFault(fault.kind, fault.seconds, fault.status) for _ in range(count))

    def next_rest(self) -> RestFault | None:
        if not self.rest:
            return None
        f = self.rest.pop(0)
        self.injected[f"rest_{f.kind}"] += 1
        return f

    def stalled(self, now: float, symbol: str | None) -> bool:
        if now >= self.stall_until:
            return False
        return not self.stall_symbols or (symbol is not None and symbol in self.stall_symbols)

    def describe(self) -> dict[str, object]:
        return {
            "private_order": self.private_order,
            "private_hold_ms": self.private_hold_ms,
            "rest": [{"kind": f.kind, "seconds": f.seconds, "status": f.status}
                     for f in self.rest],
            "stall_until": self.stall_until,
            "stall_symbols": sorted(self.stall_symbols),
            "injected": dict(self.injected),
        }
