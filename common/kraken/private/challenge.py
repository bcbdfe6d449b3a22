"""The challenge login of a private WebSocket connection (protocol reference section 4.3).

::

    -> {"event":"challenge","api_key":"CMl2SeSn09Tz+2tWuzPfdaJdsahq6qv5UaexXuQ3SnahDQU/gO3aT+"}
    <- {"event":"challenge","message":"226aee50-88fc-4618-a42a-34f7709570b2"}
    -> {"event":"subscribe","feed":"open_orders","api_key":"...","original_challenge":
        "226aee50-...","signed_challenge":"RE0DVOc7vS6pz..."}
    <- {"event":"subscribed","feed":"open_orders", ...}
    <- {"event":"alert","message":"Failed to subscribe to authenticated feed"}   (bad/stale)

Kraken quirk, and the classic bug (python-kraken-sdk #179, XChange #4647): a challenge is valid
only on the connection that asked for it. :meth:`ChallengeLogin.start` forgets the previous
challenge, so every (re)connection must ask for a fresh one before it can subscribe; one
challenge then serves every subscription on that connection.

The signed challenge is a credential: it is sent, never logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from common.kraken import auth

#: the private feeds the drop-copy listener follows (``open_orders`` or its verbose twin first)
FEEDS = ("fills", "open_positions", "balances")
ORDER_FEEDS = ("open_orders", "open_orders_verbose")
AUTH_FAILED = "Failed to subscribe to authenticated feed"


class LoginState(StrEnum):
    IDLE = "IDLE"
    CHALLENGE_SENT = "CHALLENGE_SENT"
    SUBSCRIBING = "SUBSCRIBING"
    SUBSCRIBED = "SUBSCRIBED"


class LoginError(Exception):
    """The exchange refused the login or a subscription (the connection must be restarted)."""


class ChallengeLogin:
    """Login state of one connection, sans-I/O: it returns the messages to send.

    api_key / api_secret: the account's credentials (secret: base64, as Kraken issues it).
    feeds: private feeds to subscribe once the challenge is answered.
    """

    def __init__(self, api_key: str, api_secret: str, feeds: Iterable[str]) -> None:
        auth.decode_secret(api_secret)  # fail at start-up, not at the first login
        self._key = api_key
        self._secret = api_secret
        self.feeds = tuple(feeds)
        self.state = LoginState.IDLE
        self.challenge: str | None = None
        self.subscribed: set[str] = set()
        self.challenges_requested = 0

    def start(self) -> dict[str, Any]:
        """A new connection: forget the old challenge; returns the challenge request."""
        self.challenge = None
        self.subscribed.clear()
        self.state = LoginState.CHALLENGE_SENT
        self.challenges_requested += 1
        return {"event": "challenge", "api_key": self._key}

    def on_challenge(self, challenge: str) -> list[dict[str, Any]]:
        """The challenge arrived: the signed subscribe messages, one per feed."""
        if self.state is not LoginState.CHALLENGE_SENT:
            raise LoginError(f"unexpected challenge in state {self.state}")
        if not challenge:
            raise LoginError("empty challenge")
        self.challenge = challenge
        self.state = LoginState.SUBSCRIBING
        signed = auth.ws_challenge_signature(self._secret, challenge)
        return [
            {
                "event": "subscribe",
                "feed": feed,
                "api_key": self._key,
                "original_challenge": challenge,
                "signed_challenge": signed,
            }
            for feed in self.feeds
        ]

    def on_subscribed(self, feed: str) -> bool:
        """A subscription was acknowledged; True once every feed is."""
        if feed in self.feeds:
            self.subscribed.add(feed)
        if self.state is LoginState.SUBSCRIBING and self.subscribed.issuperset(self.feeds):
            self.state = LoginState.SUBSCRIBED
        return self.state is LoginState.SUBSCRIBED

    def on_alert(self, message: str) -> None:
        """An alert: the authentication failure is fatal for this connection."""
        if message == AUTH_FAILED:
            raise LoginError(message)
