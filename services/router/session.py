"""The state of one account's session with Kraken, as an explicit state machine (sans-I/O).

::

    STARTING --> DOWNLOADING --(open orders recovered, dead man's switch armed)--> READY
                     ^   |                                                        |
                     |   +--(REST failed)--> FAILED <--(switch refresh failed N times)--+
                     +----------------------(retry after a pause)--------------------+

Orders are accepted only in READY. Kraken has no order-entry connection to lose (REST is
stateless), so "connected" means: our view of the account's open orders is current and the
dead man's switch is armed.
"""

from __future__ import annotations

from enum import StrEnum


class SessionState(StrEnum):
    STARTING = "STARTING"
    DOWNLOADING = "DOWNLOADING"
    READY = "READY"
    FAILED = "FAILED"


TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    SessionState.STARTING: frozenset({SessionState.DOWNLOADING}),
    SessionState.DOWNLOADING: frozenset({SessionState.READY, SessionState.FAILED}),
    SessionState.READY: frozenset({SessionState.FAILED}),
    SessionState.FAILED: frozenset({SessionState.DOWNLOADING}),
}


class IllegalTransition(RuntimeError):
    pass


class AccountSession:
    """One account's state. dms_failures_allowed: consecutive failed switch refreshes
    tolerated in READY before the account is FAILED (Kraken cancels everything anyway once
    ``dms_timeout`` passes without a refresh)."""

    def __init__(self, account: str, dms_failures_allowed: int = 2) -> None:
        self.account = account
        self.state = SessionState.STARTING
        self.reason = "starting"
        self.dms_failures = 0
        self.dms_failures_allowed = dms_failures_allowed

    @property
    def ready(self) -> bool:
        return self.state is SessionState.READY

    def to(self, state: SessionState, reason: str) -> None:
        if state not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"{self.account}: {self.state} -> {state}")
        self.state = state
        self.reason = reason

    def dms_result(self, ok: bool) -> bool:
        """Record a switch refresh; True if the account must now be FAILED."""
        self.dms_failures = 0 if ok else self.dms_failures + 1
        return self.state is SessionState.READY and self.dms_failures > self.dms_failures_allowed
