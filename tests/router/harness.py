"""A real router subprocess wired to a real simulator, and a client that heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.bus import DealerClient
from common.kraken.orders import openorders
from common.kraken.rest import KrakenRest
from common.messages import Heartbeat, Message, OrderAck, RequestStatus
from tests.router.conftest import Sim
from tests.support.processes import KgwProcess, free_port, write_config

FINAL = {RequestStatus.ACCEPTED, RequestStatus.REJECTED, RequestStatus.TIMEOUT, RequestStatus.DISCONNECTED}
_ids = itertools.count(1)


def next_order_id() -> int:
    return next(_ids)


@dataclass
class RouterProc:
    """A ``kgw router`` process: its endpoints, config text and environment."""

    orders: str
    pub: str
    dropcopy: str
    health: str
    config: Path
    env: dict[str, str]
    proc: KgwProcess = field(init=False)

    def start(self) -> RouterProc:
        self.proc = KgwProcess("router", "--config", str(self.config), health_url=self.health, env=self.env)
        self.proc.start()
        return self

    def health_doc(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.health, timeout=2) as r:
            out = json.loads(r.read())
        assert isinstance(out, dict)
        return out


def router_config(tmp: Path, sim: Sim, router: str = "", users: str = "", name: str = "router.toml",
                  env: dict[str, str] | None = None) -> RouterProc:
    """Write a config for a router against ``sim`` on fresh ports (``router``: extra [router]
    lines; ``users``: [router.users.*] tables, default: user dev on accounts main and other)."""
    o, p, d, m, dl = (free_port() for _ in range(5))
    users = users or '[router.users.dev]\naccounts = ["main", "other"]\nsymbols = ["*"]\n'
    text = f"""
[gateway]
rest_url = "{sim.rest_url}"
ws_url = "ws://127.0.0.1:{sim.port}/ws/v1"
[bus]
router_orders = "tcp://127.0.0.1:{o}"
router_pub = "tcp://127.0.0.1:{p}"
dropcopy_pub = "tcp://127.0.0.1:{d}"
dropcopy_download = "tcp://127.0.0.1:{dl}"
[accounts.main]
api_key_env = "T_MAIN_KEY"
api_secret_env = "T_MAIN_SECRET"
[accounts.other]
api_key_env = "T_OTHER_KEY"
api_secret_env = "T_OTHER_SECRET"
[router]
metrics_port = {m}
{router}
{users}
"""
    cfg = write_config(tmp, text, name)
    full_env = {"T_MAIN_KEY": sim.key, "T_MAIN_SECRET": sim.secret,
                "T_OTHER_KEY": sim.other_key, "T_OTHER_SECRET": sim.other_secret, **(env or {})}
    return RouterProc(f"tcp://127.0.0.1:{o}", f"tcp://127.0.0.1:{p}", f"tcp://127.0.0.1:{d}",
                      f"http://127.0.0.1:{m}/health", cfg, full_env)


class Client:
    """A DEALER client that heartbeats every ``interval`` seconds and keeps non-heartbeat
    replies in order."""

    def __init__(self, endpoint: str, *, curve: tuple[bytes, bytes, bytes] | None = None,
                 interval: float = 0.25) -> None:
        self.dealer = DealerClient(endpoint, curve=curve)
        self.interval = interval
        self._hb: asyncio.Task[None] | None = None
        self.heartbeats = 0

    async def __aenter__(self) -> Client:
        await self.dealer.start()
        self._hb = asyncio.create_task(self._beat())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._hb is not None:
            self._hb.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._hb
        await self.dealer.close()

    async def _beat(self) -> None:
        while True:
            self.dealer.send(Heartbeat(service="test-client", interval_ms=int(self.interval * 1000)))
            await asyncio.sleep(self.interval)

    def send(self, msg: Message) -> None:
        self.dealer.send(msg)

    async def until(self, done: Callable[[Message], bool], timeout: float = 5.0) -> list[Message]:
        """Replies (heartbeats left out) until ``done`` holds for one."""
        out: list[Message] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"no final reply in {timeout}s; got {out}")
            msg = await self.dealer.recv(left)
            if isinstance(msg, Heartbeat):
                self.heartbeats += 1
                continue
            out.append(msg)
            if done(msg):
                return out

    async def final_ack(self, order_id: int, timeout: float = 5.0) -> list[OrderAck]:
        """Acks of ``order_id`` up to its final one."""
        msgs = await self.until(lambda m: isinstance(m, OrderAck) and m.order_id == order_id
                                and m.status in FINAL, timeout)
        return [m for m in msgs if isinstance(m, OrderAck) and m.order_id == order_id]


async def final_acks(client: Client, ids: list[int], timeout: float = 10.0) -> dict[int, OrderAck]:
    """The final ack of each of ``ids`` (their replies may interleave in any order)."""
    wanted = set(ids)
    out: dict[int, OrderAck] = {}

    def done(m: Message) -> bool:
        if isinstance(m, OrderAck) and m.order_id in wanted and m.status in FINAL:
            out[m.order_id] = m
        return len(out) == len(wanted)

    try:
        await client.until(done, timeout)
    except TimeoutError:
        missing = sorted(wanted - set(out))
        raise AssertionError(
            f"no final ack within {timeout}s for {len(missing)} of {len(wanted)}: {missing[:10]}"
        ) from None
    return out


async def open_cli_ord_ids(sim: Sim, key: str | None = None, secret: str | None = None) -> set[str]:
    """cliOrdIds of the account's open orders, straight from the simulator."""
    rest = KrakenRest(sim.rest_url, key or sim.key, secret or sim.secret)
    try:
        body = (await rest.get("openorders")).raise_for_error()
    finally:
        await rest.close()
    return {o.cli_ord_id for o in openorders.parse(body) if o.cli_ord_id}
