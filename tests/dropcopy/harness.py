"""Real processes for drop-copy tests: a ``kgw sim`` and a ``kgw dropcopy`` on loopback ports
with fresh credentials, a bus listener that records everything the drop-copy publishes, and a
signed REST client (the production one) to trade against the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import jsonschema
import orjson

from common.bus import Received, Subscriber
from common.kraken.rest import KrakenRest
from common.messages import Message, decode
from common.messages.schema import SCHEMA_PATH
from tests.support.processes import KgwProcess, free_port, fresh_credentials, write_config

M = TypeVar("M", bound=Message)
PROTO = jsonschema.Draft202012Validator(orjson.loads(SCHEMA_PATH.read_bytes()))


@dataclass
class Stack:
    """Endpoints and processes of one sim + drop-copy pair."""

    tmp: Path
    sim_base: str
    rest_url: str
    ws_url: str
    pub: str
    download: str
    router_orders: str
    dropcopy_health: str
    config: Path
    env: dict[str, str]
    key: str
    secret: str
    sim: KgwProcess
    gate: TcpGate
    dropcopy: KgwProcess | None = None

    def start_dropcopy(self, *, wait_ready: bool = True) -> KgwProcess:
        health = self.dropcopy_health if wait_ready else None
        self.dropcopy = KgwProcess("dropcopy", "--config", str(self.config), health_url=health, env=self.env).start()
        return self.dropcopy


def stack_config(
    port: int, gate_port: int, sim_metrics: int, dc_metrics: int, pub: str, download: str, router_orders: str,
    extra: str = "",
) -> str:
    return f"""
[gateway]
rest_url = "http://127.0.0.1:{port}/derivatives/api/v3"
ws_url = "ws://127.0.0.1:{gate_port}/ws/v1"

[bus]
dropcopy_pub = "{pub}"
dropcopy_download = "{download}"
router_orders = "{router_orders}"
router_pub = "{router_orders}-pub"

[accounts.main]
api_key_env = "KRAKEN_FUTURES_API_KEY"
api_secret_env = "KRAKEN_FUTURES_API_SECRET"

[accounts.other]
api_key_env = "DCTEST_OTHER_KEY"
api_secret_env = "DCTEST_OTHER_SECRET"

[sim]
port = {port}
metrics_port = {sim_metrics}
book_rate = 0.0
trade_rate = 0.0
heartbeat_interval = 0.25

[sim.accounts.other]
api_key_env = "DCTEST_OTHER_KEY"
api_secret_env = "DCTEST_OTHER_SECRET"

[dropcopy]
metrics_port = {dc_metrics}
rest_retry_delay = 0.1
{extra}

[dropcopy.stream]
backoff_initial = 0.05
backoff_cap = 0.5
silence_timeout = 1.0
"""


@contextlib.contextmanager
def run_stack(tmp: Path, *, dropcopy: bool = True, extra: str = "") -> Iterator[Stack]:
    """A simulator (quiet market) and, unless told otherwise, a drop-copy following it; the
    drop-copy's WebSocket goes through ``stack.gate`` (open), its REST calls go direct."""
    port, gate_port, sim_metrics, dc_metrics = free_port(), free_port(), free_port(), free_port()
    # ipc endpoints in the test's own directory: no port can be taken by a parallel run
    pub, download, orders = f"ipc://{tmp}/dropcopy-pub", f"ipc://{tmp}/dropcopy-download", f"ipc://{tmp}/router"
    cfg = write_config(tmp, stack_config(port, gate_port, sim_metrics, dc_metrics, pub, download, orders, extra))
    gate = TcpGate(gate_port, port)
    key, secret = fresh_credentials()
    other_key, other_secret = fresh_credentials()  # a second funded account ("other")
    env = {"KRAKEN_FUTURES_API_KEY": key, "KRAKEN_FUTURES_API_SECRET": secret,
           "DCTEST_OTHER_KEY": other_key, "DCTEST_OTHER_SECRET": other_secret}
    sim = KgwProcess("sim", "--config", str(cfg), health_url=f"http://127.0.0.1:{sim_metrics}/health", env=env)
    with sim:
        s = Stack(
            tmp=tmp,
            sim_base=f"http://127.0.0.1:{port}",
            rest_url=f"http://127.0.0.1:{port}/derivatives/api/v3",
            ws_url=f"ws://127.0.0.1:{port}/ws/v1",
            pub=pub,
            download=download,
            router_orders=orders,
            dropcopy_health=f"http://127.0.0.1:{dc_metrics}/health",
            config=cfg,
            env=env,
            key=key,
            secret=secret,
            sim=sim,
            gate=gate,
        )
        try:
            gate.open()
            if dropcopy:
                s.start_dropcopy()
            yield s
        finally:
            if s.dropcopy is not None:
                s.dropcopy.stop()
            gate.close()


@dataclass
class BusLog:
    """Everything published on the watched prefixes, decoded, in arrival order."""

    messages: list[tuple[str, Message]] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    heard: asyncio.Event = field(default_factory=asyncio.Event)

    def of(self, type_: type[M], pred: Callable[[M], bool] = lambda m: True, start: int = 0) -> list[M]:
        return [m for _, m in self.messages[start:] if isinstance(m, type_) and pred(m)]

    def mark(self) -> int:
        return len(self.messages)

    async def wait(self, type_: type[M], pred: Callable[[M], bool] = lambda m: True, *, start: int = 0,
                   timeout: float = 5.0) -> M:
        """The first message of ``type_`` (from index ``start``) matching ``pred``."""
        async with asyncio.timeout(timeout):
            while True:
                found = self.of(type_, pred, start)
                if found:
                    return found[0]
                self.changed.clear()
                await self.changed.wait()

    async def quiet(self, seconds: float = 0.3) -> None:
        """Wait until nothing new arrived for ``seconds``."""
        while True:
            n = len(self.messages)
            await asyncio.sleep(seconds)
            if len(self.messages) == n:
                return


@contextlib.asynccontextmanager
async def bus_log(endpoint: str, prefixes: tuple[str, ...] = ("oms.", "sys.dropcopy.")) -> AsyncIterator[BusLog]:
    """Record what the drop-copy publishes (heartbeats left out)."""
    sub = Subscriber({"dropcopy": endpoint}, prefixes, heartbeat_timeout=30.0)
    await sub.start()
    log = BusLog()

    async def pump() -> None:
        async for batch in sub.batches():
            for item in batch:
                if not isinstance(item, Received):
                    continue
                log.heard.set()  # the publisher is up and this socket is connected to it
                if not item.topic.endswith(b".heartbeat."):
                    log.messages.append((item.topic.decode(), decode(item.payload)))
                    log.payloads.append(item.payload)
            log.changed.set()

    task = asyncio.create_task(pump())
    failed = False
    with contextlib.suppress(TimeoutError):  # a running publisher is heard within a heartbeat
        async with asyncio.timeout(2.0):
            await log.heard.wait()
    try:
        yield log
    except BaseException:
        failed = True
        raise
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sub.close()
        if not failed:  # every payload the drop-copy published is valid against proto/
            for payload in log.payloads:
                errors = list(PROTO.iter_errors(orjson.loads(payload)))
                assert not errors, (payload[:300], errors[0].message)


class Trader:
    """Signed REST against the simulator (account ``main``, or ``other``) plus its admin API."""

    def __init__(self, stack: Stack, *, other: bool = False) -> None:
        self.stack = stack
        key, secret = (stack.env["DCTEST_OTHER_KEY"], stack.env["DCTEST_OTHER_SECRET"]) if other else (
            stack.key, stack.secret)
        self.rest = KrakenRest(stack.rest_url, key, secret)
        self.http = aiohttp.ClientSession()

    async def close(self) -> None:
        await self.rest.close()
        await self.http.close()

    async def send(self, **params: Any) -> dict[str, Any]:
        reply = await self.rest.post("sendorder", params)
        return reply.raise_for_error()

    async def call(self, endpoint: str, **params: Any) -> dict[str, Any]:
        reply = await self.rest.post(endpoint, params)
        return reply.raise_for_error()

    async def admin(self, what: str, **body: Any) -> dict[str, Any]:
        async with self.http.post(f"{self.stack.sim_base}/_sim/{what}", json=body) as r:
            doc: dict[str, Any] = await r.json()
            assert r.status == 200, doc
            return doc

    async def book(self, symbol: str) -> dict[str, Any]:
        async with self.http.get(f"{self.stack.sim_base}/_sim/book/{symbol}") as r:
            doc: dict[str, Any] = await r.json()
            return doc


class TcpGate:
    """A loopback TCP forwarder the drop-copy's WebSocket goes through, so a test can cut the
    network: :meth:`cut` aborts every forwarded connection and refuses new ones until
    :meth:`open`. It runs its own event loop in a thread, so it outlives any one test's loop.

    listen_port: where clients connect; target_port: the simulator's port.
    """

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self.accepted = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-gate", daemon=True)
        self._thread.start()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(5.0)

    def open(self) -> None:
        self._run(self._open())

    def cut(self) -> None:
        self._run(self._cut())

    def close(self) -> None:
        self._run(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)

    async def _open(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.listen_port, reuse_address=True)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.discard(writer)
        self._writers.discard(up_writer)
