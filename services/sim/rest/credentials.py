"""API keys of the simulated accounts and Kraken's request authentication.

``verify`` accepts every postData form real clients sign (protocol reference 2.4): raw query +
raw body, each alone, their url-decoded forms, and ``""`` (kraken-cli signs GETs with an empty
postData even when they carry a query string), each with the Nonce header value if sent.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from urllib.parse import unquote, unquote_plus

from common.kraken import auth


@dataclass(slots=True)
class NonceWindow:
    """Per-key nonce high-water mark with a time tolerance.

    A nonce is accepted if it is above every nonce accepted more than ``tolerance`` seconds
    ago (``nonceBelowThreshold`` otherwise) and was not seen within that time
    (``nonceDuplicate``). Magnitudes are not checked: 13- to 19-digit nonces all work, but a
    key that once used a larger scale rejects a smaller one afterwards, as on Kraken.
    """

    tolerance: float
    settled: int = -1
    recent: deque[tuple[float, int]] = field(default_factory=deque)

    def check(self, nonce: int, now: float) -> str | None:
        while self.recent and self.recent[0][0] < now - self.tolerance:
            self.settled = max(self.settled, self.recent.popleft()[1])
        if nonce <= self.settled:
            return "nonceBelowThreshold"
        if any(n == nonce for _, n in self.recent):
            return "nonceDuplicate"
        self.recent.append((now, nonce))
        return None


@dataclass(slots=True)
class Credential:
    account: str
    api_key: str
    secret: str
    nonces: NonceWindow


def post_data_candidates(query: str, body: str, method: str) -> list[str]:
    """Every postData string a real client may have signed for this request."""
    raw = [query + body, query, body]
    cands: list[str] = []
    for r in raw:
        for form in (r, unquote_plus(r), unquote(r)):
            if form not in cands:
                cands.append(form)
    if method == "GET" and "" not in cands:
        cands.append("")
    return cands


class Credentials:
    """The key registry; ``tolerance`` is the nonce tolerance in seconds."""

    def __init__(self, tolerance: float = 1.0) -> None:
        self.tolerance = tolerance
        self.by_key: dict[str, Credential] = {}

    def add(self, account: str, api_key: str, secret: str) -> None:
        auth.decode_secret(secret)  # fail at startup, not on the first request
        self.by_key[api_key] = Credential(account, api_key, secret, NonceWindow(self.tolerance))

    def secret_of(self, api_key: str) -> str | None:
        c = self.by_key.get(api_key)
        return c.secret if c else None

    def verify(
        self, *, api_key: str | None, authent: str | None, nonce: str | None, path: str,
        query: str, body: str, method: str, now: float,
    ) -> tuple[str | None, str | None]:
        """``(account, None)`` if the request is authentic, else ``(None, error_code)``."""
        if not api_key or not authent:
            return None, "authenticationError"
        cred = self.by_key.get(api_key)
        if cred is None:
            return None, "authenticationError"
        n = nonce or ""
        ok = any(
            auth.signatures_match(auth.rest_authent(cred.secret, pd, n, path), authent)
            for pd in post_data_candidates(query, body, method)
        )
        if not ok:
            return None, "authenticationError"
        if n:
            try:
                value = int(n)
            except ValueError:
                return None, "authenticationError"
            err = cred.nonces.check(value, now)
            if err:
                return None, err
        return cred.account, None
