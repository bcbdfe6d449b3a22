"""Start a real ``kgw sim`` subprocess for a test and talk to it like a Kraken client would.

``KrakenRest`` signs requests with common.kraken.auth exactly as python-kraken-sdk does
(form body for POST, query string for GET, 1e8-scaled nonce); ``ws_*`` helpers read frames with
bounded timeouts.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson

from common.kraken import auth
from tests.support.processes import KgwProcess, free_port, fresh_credentials, write_config

REST = "/derivatives/api/v3"


@dataclass
class SimHandle:
    base: str
    ws_url: str
    key: str
    secret: str
    key2: str
    secret2: str
    proc: KgwProcess

    @property
    def rest(self) -> str:
        return self.base + REST


@contextmanager
def run_sim(tmp: Path, extra: str = "", *, args: tuple[str, ...] = (), book_rate: float = 20.0,
            trade_rate: float = 0.0) -> Iterator[SimHandle]:
    """A simulator with two funded accounts (alice = default env account, bob) on free ports.

    ``extra`` is appended inside ``[sim]`` (TOML lines).
    """
    port, mport = free_port(), free_port()
    key, secret = fresh_credentials()
    key2, secret2 = fresh_credentials()
    cfg = write_config(tmp, f"""
[sim]
port = {port}
metrics_port = {mport}
book_rate = {book_rate}
trade_rate = {trade_rate}
heartbeat_interval = 0.5
{extra}

[sim.accounts.bob]
api_key_env = "SIMTEST_BOB_KEY"
api_secret_env = "SIMTEST_BOB_SECRET"
""")
    env = {"KRAKEN_FUTURES_API_KEY": key, "KRAKEN_FUTURES_API_SECRET": secret,
           "SIMTEST_BOB_KEY": key2, "SIMTEST_BOB_SECRET": secret2}
    proc = KgwProcess("sim", "--config", str(cfg), *args,
                      health_url=f"http://127.0.0.1:{mport}/health", env=env)
    with proc:
        yield SimHandle(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws/v1", key, secret,
                        key2, secret2, proc)


_nonce = itertools.count(int(time.time() * 100_000_000))


def next_nonce() -> str:
    """python-kraken-sdk's nonce scale (1e-8 s), strictly increasing."""
    return str(next(_nonce))


class KrakenRest:
    """A minimal signed Kraken Futures REST client for tests."""

    def __init__(self, session: aiohttp.ClientSession, sim: SimHandle, *, second: bool = False):
        self.s = session
        self.sim = sim
        self.key = sim.key2 if second else sim.key
        self.secret = sim.secret2 if second else sim.secret

    def headers(self, path: str, post_data: str, *, nonce: bool = True,
                secret: str | None = None) -> dict[str, str]:
        n = next_nonce() if nonce else ""
        h = {"APIKey": self.key,
             "Authent": auth.rest_authent(secret or self.secret, post_data, n, path),
             "Content-Type": "application/x-www-form-urlencoded"}
        if nonce:
            h["Nonce"] = n
        return h

    async def get(self, endpoint: str, params: dict[str, Any] | None = None,
                  **kw: Any) -> dict[str, Any]:
        path = f"{REST}/{endpoint}"
        q = urlencode(params or {}, doseq=True)
        async with self.s.get(self.sim.base + path + (f"?{q}" if q else ""),
                              headers=self.headers(path, q, **kw)) as r:
            return orjson.loads(await r.read())

    async def post(self, endpoint: str, params: dict[str, Any] | None = None, *,
                   body: str | None = None, **kw: Any) -> dict[str, Any]:
        path = f"{REST}/{endpoint}"
        data = body if body is not None else urlencode(params or {}, doseq=True)
        async with self.s.post(self.sim.base + path, data=data.encode(),
                               headers=self.headers(path, data, **kw)) as r:
            return orjson.loads(await r.read())

    async def public(self, endpoint: str, **params: Any) -> dict[str, Any]:
        async with self.s.get(f"{self.sim.rest}/{endpoint}", params=params) as r:
            return orjson.loads(await r.read())

    async def admin(self, what: str, **body: Any) -> dict[str, Any]:
        url = f"{self.sim.base}/_sim/{what}"
        if body or what.startswith(("fault/", "rate", "price", "trade")):
            async with self.s.post(url, json=body) as r:
                return orjson.loads(await r.read())
        async with self.s.get(url) as r:
            return orjson.loads(await r.read())


async def recv_json(ws: aiohttp.ClientWebSocketResponse, timeout: float = 3.0) -> dict[str, Any]:
    m = await asyncio.wait_for(ws.receive(), timeout)
    assert m.type == aiohttp.WSMsgType.TEXT, m
    return orjson.loads(m.data)


async def recv_until(ws: aiohttp.ClientWebSocketResponse, pred: Any, timeout: float = 5.0,
                     limit: int = 100_000) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read until ``pred(msg)``; returns (that message, everything before it)."""
    seen: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + timeout
    for _ in range(limit):
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            break
        msg = await recv_json(ws, left)
        if pred(msg):
            return msg, seen
        seen.append(msg)
    raise AssertionError(f"condition not met; last messages: {seen[-5:]}")


async def ws_login(ws: aiohttp.ClientWebSocketResponse, key: str, secret: str,
                   feed: str) -> tuple[str, dict[str, Any]]:
    """Challenge + private subscribe; returns (challenge, the ack)."""
    await ws.send_str(orjson.dumps({"event": "challenge", "api_key": key}).decode())
    ch, _ = await recv_until(ws, lambda m: m.get("event") == "challenge")
    challenge = ch["message"]
    await ws.send_str(orjson.dumps({
        "event": "subscribe", "feed": feed, "api_key": key, "original_challenge": challenge,
        "signed_challenge": auth.ws_challenge_signature(secret, challenge)}).decode())
    ack, _ = await recv_until(ws, lambda m: m.get("event") in ("subscribed", "alert"))
    return challenge, ack
