"""Kraken's REST envelope, the private-request gate (arguments, authentication, nonce, rate
budget) and the ordering of REST answers against WebSocket updates.

Kraken quirks handled here:

* Errors are **HTTP 200** with ``{"result":"error","error":"<code>","serverTime":...}``.
* Missing arguments are reported before authentication (``requiredArgumentMissing`` even with a
  fake key; python-kraken-sdk's integration tests rely on it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from common.kraken import ratelimit
from services.sim import metrics
from services.sim.rest import params as P
from services.sim.rest.shapes import server_time
from services.sim.state import Sim

MAX_BODY = 1_000_000
"""Largest accepted request body, bytes."""


def json_response(payload: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status,
                        content_type="application/json")


def success(**fields: Any) -> web.Response:
    """``{"result":"success", ...fields, "serverTime": ...}``"""
    return json_response({"result": "success", **fields, "serverTime": server_time()})


def error(code: str) -> web.Response:
    """``{"result":"error","serverTime":"...","error":"apiLimitExceeded"}`` with HTTP 200."""
    metrics.REST_ERRORS.labels(code.split(":")[0]).inc()
    return json_response({"result": "error", "serverTime": server_time(), "error": code})


@dataclass(slots=True)
class PrivateRequest:
    """An authenticated request: the account and its merged parameters."""

    account: str
    params: dict[str, list[str]]
    query: str
    body: str


async def raw_parts(request: web.Request) -> tuple[str, str]:
    """(raw query string, raw body) exactly as sent (they are what was signed)."""
    body = ""
    if request.body_exists:
        try:
            data = await request.read()  # cached by aiohttp; capped by client_max_size
        except web.HTTPRequestEntityTooLarge:
            raise P.ParamError("invalidArgument") from None
        if len(data) > MAX_BODY:
            raise P.ParamError("invalidArgument")
        body = data.decode("utf-8", errors="replace")
    return request.rel_url.raw_query_string, body


async def gate(
    sim: Sim, request: web.Request, endpoint: str, *, required: Sequence[str] = (),
    cost: int | None = None,
) -> PrivateRequest | web.Response:
    """Parse, check required arguments, authenticate and charge the rate budget."""
    metrics.REST_REQUESTS.labels(endpoint).inc()
    try:
        query, body = await raw_parts(request)
    except P.ParamError as e:
        return error(e.code)
    params = P.parse(query, body)
    for name in required:
        if not P.first(params, name):
            return error("requiredArgumentMissing")
    now = time.monotonic()
    account, err = sim.credentials.verify(
        api_key=request.headers.get("APIKey"), authent=request.headers.get("Authent"),
        nonce=request.headers.get("Nonce"), path=request.path, query=query, body=body,
        method=request.method, now=now,
    )
    if err is not None or account is None:
        return error(err or "authenticationError")
    if cost is None:
        cost = ratelimit.cost(endpoint, last_fill_time=bool(P.first(params, "lastFillTime")))
    if not sim.bucket(request.headers["APIKey"], now).try_take(cost, now):
        return error("apiLimitExceeded")
    return PrivateRequest(account, params, query, body)


async def answer_after_engine(sim: Sim, request: web.Request,
                              payload: dict[str, Any]) -> web.StreamResponse:
    """Publish what the engine did and answer, in the order ``private_order`` asks for.

    natural: WebSocket updates are written first, then the REST answer (what Kraken usually
    does). ws_first: same, with the REST answer held ``private_hold_ms`` longer. rest_first:
    the REST answer is written completely, then the private WebSocket updates follow after
    ``private_hold_ms``.
    """
    mode = sim.faults.private_order
    hold = sim.faults.private_hold_ms / 1000
    body = {"result": "success", **payload, "serverTime": server_time()}
    if mode != "rest_first":
        sim.publish()
        if mode == "ws_first" and hold > 0:
            await asyncio.sleep(hold)
        return json_response(body)
    with sim.holding_private():
        sim.publish()
    resp = json_response(body)
    await resp.prepare(request)
    await resp.write_eof()
    if hold > 0:
        await asyncio.sleep(hold)
    sim.release_private()
    return resp
