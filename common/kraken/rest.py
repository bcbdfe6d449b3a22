"""Signed Kraken Futures REST client: one aiohttp session, one nonce owner per API key,
timeouts, and every failure mapped to one :class:`RestReply` instead of an exception.

Usage::

    rest = KrakenRest("http://127.0.0.1:9800/derivatives/api/v3", key, secret, timeout=5.0)
    await rest.start()
    reply = await rest.get("openorders")                 # signed GET (postData = query string)
    reply = await rest.post("sendorder", {"orderType": "lmt", ...})
    if reply.ok: body = reply.body                       # the decoded JSON object
    body = reply.raise_for_error()                       # or raise RestError
    await rest.close()

Wire format (protocol reference sections 1.1 and 2): POST parameters travel in a
form-urlencoded body, GET parameters in the query string; the signed ``postData`` is exactly
those bytes as sent (Kraken's Feb-2024 rule: the url-encoded form as it appears in the request).
``batchorder`` sends ``json=<url-encoded compact JSON>``. Headers ``APIKey``, ``Authent`` and
(optionally) ``Nonce``.

Failure kinds (:class:`Failure`), chosen so a caller can tell "not sent" from "unknown":

- ``KRAKEN``: HTTP 200 with ``{"result":"error","error":"<code>"}`` (Kraken's usual error
  form, e.g. ``apiLimitExceeded``, ``authenticationError``); ``error`` holds the code.
- ``HTTP``: any non-200 status (5xx, 429, 4xx); ``error`` is ``"HTTP <status>: <body start>"``.
- ``TIMEOUT``: no complete answer within ``timeout`` seconds; the request may have been
  executed.
- ``LOST``: the connection broke after the request was (possibly) written; outcome unknown.
- ``DISCONNECTED``: no connection could be made; the request was certainly not sent.
- ``BAD_RESPONSE``: HTTP 200 whose body is not a JSON object.

Never logged or stored in a reply: the API key, secret, Authent or Nonce values.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
import orjson

from common.kraken import auth

Params = Mapping[str, str | int | float | bool | list[str] | None]


class Failure(StrEnum):
    """Why a REST call did not return a success envelope (see module docstring)."""

    KRAKEN = "KRAKEN"
    HTTP = "HTTP"
    TIMEOUT = "TIMEOUT"
    LOST = "LOST"
    DISCONNECTED = "DISCONNECTED"
    BAD_RESPONSE = "BAD_RESPONSE"


UNCERTAIN_FAILURES = frozenset({Failure.TIMEOUT, Failure.LOST})
"""Failures after which the exchange may or may not have executed the request."""


@dataclass(slots=True)
class RestReply:
    """The outcome of one call.

    ok: True for HTTP 200 with ``result`` ``success`` (or no ``result`` key, as history and
        chart endpoints answer). body: the decoded JSON object when there was one.
    failure / error: why it is not ok (None / "" when ok). http_status: 0 when none.
    sent_ns / done_ns: wall-clock ns when the request was handed to the socket layer and when
        the answer (or failure) was known.
    handed_ns: ``time.perf_counter_ns()`` when the signed request was handed to aiohttp (0 if
        it never was), for latency probes that start from a perf_counter stamp.
    """

    ok: bool
    body: dict[str, Any] | None
    failure: Failure | None
    error: str
    http_status: int
    sent_ns: int
    done_ns: int
    handed_ns: int = 0

    def raise_for_error(self) -> dict[str, Any]:
        """The body if ok, else :class:`RestError`."""
        if not self.ok or self.body is None:
            raise RestError(self)
        return self.body


class RestError(Exception):
    """A failed call, for callers that prefer exceptions (:meth:`RestReply.raise_for_error`)."""

    def __init__(self, reply: RestReply) -> None:
        super().__init__(f"{reply.failure}: {reply.error}")
        self.reply = reply


class NonceSource:
    """Strictly increasing nonces for one API key: microseconds since the epoch, bumped by one
    when two calls fall in the same microsecond (16 digits; Kraken checks order, not scale, but
    a key that once used a larger scale rejects smaller ones)."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> str:
        n = max(self.last + 1, time.time_ns() // 1000)
        self.last = n
        return str(n)


_unreserved = re.compile(r"[A-Za-z0-9_.~-]*").fullmatch
"""RFC 3986 unreserved characters: what ``quote`` leaves as is (with ``safe=""``)."""

_nonce_owners: dict[str, NonceSource] = {}


def nonce_owner(api_key: str) -> NonceSource:
    """The one nonce source of ``api_key`` in this process (shared by every client of it)."""
    src = _nonce_owners.get(api_key)
    if src is None:
        src = _nonce_owners[api_key] = NonceSource()
    return src


def encode_params(params: Params | None) -> str:
    """``a=1&b=x%20y`` with spaces as %20, booleans ``true``/``false``, lists as repeated keys,
    None values left out. The result is both what is sent and what is signed."""
    if not params:
        return ""
    items: list[tuple[str, str]] = []
    for k, v in params.items():
        if v is None:
            continue
        if isinstance(v, list):
            items.extend((k, str(x)) for x in v)
        elif isinstance(v, bool):
            items.append((k, "true" if v else "false"))
        else:
            items.append((k, str(v)))
    # fast path: order parameters (symbols, decimals, cliOrdIds, uuids) are all unreserved
    # characters, and urlencode's quoting of each item was the largest cost of a signed call
    if _unreserved("".join([k + v for k, v in items])) is not None:
        return "&".join([f"{k}={v}" for k, v in items])
    return urlencode(items, quote_via=quote)


def encode_batch(batch: list[dict[str, Any]]) -> str:
    """The ``batchorder`` body: ``json=`` + the url-encoded compact ``{"batchOrder":[...]}``."""
    return "json=" + quote(orjson.dumps({"batchOrder": batch}).decode(), safe="")


def _now_ns() -> int:
    return time.time_ns()


class KrakenRest:
    """REST client of one Kraken Futures API key.

    base_url: ``.../derivatives/api/v3`` (live, or the simulator).
    api_key / api_secret: the key and its base64 secret (from the environment; never logged).
        Both may be empty for public endpoints only.
    timeout: seconds for a whole call (connect + send + answer) before TIMEOUT.
    connect_timeout: seconds to establish a connection before DISCONNECTED.
    max_connections: concurrent HTTP connections to the host (calls beyond wait for one).
    keepalive: seconds an idle connection is kept for reuse; keep it below the server's idle
        timeout so a POST never rides a connection the server is closing (that would be LOST).
    use_nonce: send the optional ``Nonce`` header (replay protection on Kraken's side).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str = "",
        api_secret: str = "",
        *,
        timeout: float = 5.0,
        connect_timeout: float = 2.0,
        max_connections: int = 16,
        keepalive: float = 15.0,
        use_nonce: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._path = urlsplit(self.base_url).path
        self._key = api_key
        # decoded once: fails now rather than on the first order, and each signature skips it
        self._hmac_key = auth.decode_secret(api_secret) if api_secret else b""
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        self.keepalive = keepalive
        self._nonces = nonce_owner(api_key) if (api_key and use_nonce) else None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Create the HTTP session (also done lazily by the first call)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.max_connections, keepalive_timeout=self.keepalive, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout, sock_connect=self.connect_timeout),
                json_serialize=lambda o: orjson.dumps(o).decode(),
                skip_auto_headers=("User-Agent",),
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def signed_headers(self, endpoint: str, post_data: str) -> dict[str, str]:
        """Headers of a private call whose signed postData is ``post_data``."""
        nonce = self._nonces.next() if self._nonces is not None else ""
        headers = {
            "APIKey": self._key,
            "Authent": auth.rest_authent_key(self._hmac_key, post_data, nonce, f"{self._path}/{endpoint}"),
            "Accept": "application/json",
        }
        if nonce:
            headers["Nonce"] = nonce
        return headers

    async def get(self, endpoint: str, params: Params | None = None, *, signed: bool = True,
                  timeout: float | None = None) -> RestReply:
        """GET ``endpoint`` with ``params`` in the query string (signed as postData)."""
        return await self.call("GET", endpoint, encode_params(params), signed=signed, timeout=timeout)

    async def post(self, endpoint: str, params: Params | None = None, *, timeout: float | None = None) -> RestReply:
        """Signed POST of ``endpoint`` with ``params`` in a form body."""
        return await self.call("POST", endpoint, encode_params(params), timeout=timeout)

    async def post_batch(self, batch: list[dict[str, Any]], *, timeout: float | None = None) -> RestReply:
        """Signed ``batchorder`` of the given elements."""
        return await self.call("POST", "batchorder", encode_batch(batch), timeout=timeout)

    async def call(self, method: str, endpoint: str, data: str, *, signed: bool = True,
                   timeout: float | None = None) -> RestReply:
        """One call; ``data`` is the encoded query (GET) or body (POST), sent and signed as is."""
        if self._session is None or self._session.closed:
            await self.start()
        assert self._session is not None
        url = f"{self.base_url}/{endpoint}"
        headers = self.signed_headers(endpoint, data) if signed else {"Accept": "application/json"}
        kwargs: dict[str, Any] = {"headers": headers}
        if method == "GET":
            if data:
                url = f"{url}?{data}"
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            kwargs["data"] = data.encode()
        if timeout is not None:
            kwargs["timeout"] = aiohttp.ClientTimeout(total=timeout, sock_connect=self.connect_timeout)
        sent = _now_ns()
        handed = time.perf_counter_ns()
        try:
            async with self._session.request(method, url, **kwargs) as resp:
                raw = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ServerTimeoutError):
            reply = _failed(Failure.TIMEOUT, f"no answer within {timeout or self.timeout}s", sent)
        except aiohttp.ClientConnectorError as e:
            reply = _failed(Failure.DISCONNECTED, f"cannot connect: {e.os_error}", sent)
        except (aiohttp.ClientError, OSError) as e:
            reply = _failed(Failure.LOST, f"connection lost: {type(e).__name__}", sent)
        else:
            reply = parse_envelope(status, raw, sent, _now_ns())
        reply.handed_ns = handed
        return reply


def _failed(failure: Failure, error: str, sent_ns: int) -> RestReply:
    return RestReply(False, None, failure, error, 0, sent_ns, _now_ns())


def parse_envelope(status: int, raw: bytes, sent_ns: int = 0, done_ns: int = 0) -> RestReply:
    """Classify an HTTP answer (sans-I/O). Kraken quirk: errors usually come as HTTP 200 with
    ``{"result":"error","error":"apiLimitExceeded","serverTime":"..."}``; ccxt also saw HTTP 500
    with ``{"errors":[{"code":92,"message":"INSUFFICIENT_MARGIN"}]}``."""
    if status != 200:
        text = raw[:200].decode("utf-8", errors="replace")
        return RestReply(False, None, Failure.HTTP, f"HTTP {status}: {text}", status, sent_ns, done_ns)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return RestReply(False, None, Failure.BAD_RESPONSE, "answer is not JSON", status, sent_ns, done_ns)
    if not isinstance(body, dict):
        return RestReply(False, None, Failure.BAD_RESPONSE, "answer is not a JSON object", status, sent_ns, done_ns)
    if body.get("result", "success") != "success":
        error = str(body.get("error") or "unknownError")
        return RestReply(False, body, Failure.KRAKEN, error, status, sent_ns, done_ns)
    return RestReply(True, body, None, "", status, sent_ns, done_ns)
