"""Client connections and their liveness, sans-I/O.

A client is one DEALER connection (its routing id, ``peer``) speaking as one user. Every
message it sends (clients send Heartbeat at least every ``interval_ms``) refreshes it; one
silent for ``timeout`` seconds is declared gone by :meth:`Clients.expire`, and the router
applies its disconnect policy. Updates for a user go to its most recently heard connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Client:
    peer: bytes
    user: str
    last_seen: float
    accounts: set[str] = field(default_factory=set)


class Clients:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.by_peer: dict[bytes, Client] = {}
        self._latest: dict[str, bytes] = {}

    def seen(self, peer: bytes, user: str, now: float) -> Client:
        c = self.by_peer.get(peer)
        if c is None or c.user != user:
            c = self.by_peer[peer] = Client(peer, user, now)
        c.last_seen = now
        self._latest[user] = peer
        return c

    def alive(self, peer: bytes | None) -> bool:
        return peer is not None and peer in self.by_peer

    def peer_of(self, user: str) -> bytes | None:
        """The user's most recently heard live connection."""
        peer = self._latest.get(user)
        return peer if peer in self.by_peer else None

    def expire(self, now: float) -> list[Client]:
        """Remove and return the clients silent for longer than ``timeout``."""
        gone = [c for c in self.by_peer.values() if now - c.last_seen > self.timeout]
        for c in gone:
            del self.by_peer[c.peer]
            if self._latest.get(c.user) == c.peer:
                live = [p for p, x in self.by_peer.items() if x.user == c.user]
                if live:
                    self._latest[c.user] = live[-1]
                else:
                    del self._latest[c.user]
        return gone
