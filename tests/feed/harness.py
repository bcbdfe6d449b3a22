"""Real processes for the feed tests: ``kgw sim`` and ``kgw feed`` on loopback ports, a bus
client that rebuilds books from what the feed publishes, and the snapshot-service client."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import orjson

from common.bus import BusEvent, DealerClient, EventKind, Received, Subscriber
from common.messages import (
    MarketByPrice,
    SnapshotEnd,
    SnapshotEntry,
    SnapshotRequest,
    StreamStatus,
    UpdateType,
    decode,
    encode,
)
from common.messages.schema import SCHEMA_PATH
from tests.support.processes import KgwProcess, free_port, toml_value, write_config

EXCHANGE = "kraken-futures"
PROTO = jsonschema.Draft202012Validator(orjson.loads(SCHEMA_PATH.read_bytes()))
SAMPLES_PER_TYPE = 200
"""Bus payloads of each message type kept for validation against proto/."""


def proto_errors(payloads: list[bytes]) -> list[str]:
    """Every way these payloads break the proto/ schema (empty = all valid)."""
    return [f"{e.message} in {p[:200]!r}" for p in payloads for e in PROTO.iter_errors(orjson.loads(p))]


@dataclass
class Ports:
    sim: int = field(default_factory=free_port)
    sim_metrics: int = field(default_factory=free_port)
    feed_metrics: int = field(default_factory=free_port)
    pub: int = field(default_factory=free_port)
    snapshot: int = field(default_factory=free_port)

    @property
    def pub_endpoint(self) -> str:
        return f"tcp://127.0.0.1:{self.pub}"

    @property
    def snapshot_endpoint(self) -> str:
        return f"tcp://127.0.0.1:{self.snapshot}"

    def admin(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call the simulator's admin API (``/_sim/...``): POST with a body, else GET."""
        url = f"http://127.0.0.1:{self.sim}/_sim/{path}"
        data = orjson.dumps(body) if body is not None else None
        req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=5) as r:
            result: dict[str, Any] = orjson.loads(r.read())
            return result

    def feed_metrics_text(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.feed_metrics}/metrics", timeout=5) as r:
            return str(r.read().decode())

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
        total = 0.0
        for line in self.feed_metrics_text().splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total


def _section(name: str, values: dict[str, Any]) -> str:
    lines = [f"[{name}]"]
    nested = {k: v for k, v in values.items() if isinstance(v, dict)}
    lines += [f"{k} = {toml_value(v)}" for k, v in values.items() if not isinstance(v, dict)]
    text = "\n".join(lines) + "\n"
    for k, v in nested.items():
        text += _section(f"{name}.{k}", v)
    return text


def write_configs(tmp: Path, ports: Ports, sim: dict[str, Any], feed: dict[str, Any]) -> Path:
    """One TOML for both processes (the feed's defaults are tightened for fast tests)."""
    feed_defaults: dict[str, Any] = {
        "metrics_port": ports.feed_metrics,
        "silence_timeouts": {"ticker": 0.0, "book": 0.0, "trade": 0.0},
        "stream": {"backoff_initial": 0.05, "backoff_cap": 0.5, "ping_interval": 5.0, "silence_timeout": 10.0},
    }
    for key, value in feed.items():
        if isinstance(value, dict) and isinstance(feed_defaults.get(key), dict):
            feed_defaults[key] = {**feed_defaults[key], **value}
        else:
            feed_defaults[key] = value
    text = (
        _section(
            "gateway",
            {
                "exchange": EXCHANGE,
                "rest_url": f"http://127.0.0.1:{ports.sim}/derivatives/api/v3",
                "ws_url": f"ws://127.0.0.1:{ports.sim}/ws/v1",
            },
        )
        + _section(
            "bus",
            {"feed_pub": ports.pub_endpoint, "feed_snapshot": ports.snapshot_endpoint, "heartbeat_interval": 0.2},
        )
        + _section("sim", {"port": ports.sim, "metrics_port": ports.sim_metrics, **sim})
        + _section("feed", feed_defaults)
    )
    tmp.mkdir(parents=True, exist_ok=True)
    return write_config(tmp, text)


def start_sim(path: Path, ports: Ports) -> KgwProcess:
    return KgwProcess(
        "sim", "--config", str(path), health_url=f"http://127.0.0.1:{ports.sim_metrics}/health"
    ).start()


def start_feed(path: Path, ports: Ports, *extra: str) -> KgwProcess:
    return KgwProcess(
        "feed", "--config", str(path), *extra, health_url=f"http://127.0.0.1:{ports.feed_metrics}/health"
    ).start()


class BusBooks:
    """Rebuilds every book from the feed's MarketByPrice messages, as a client would.

    books: symbol -> (bids, asks) price -> qty, or None while STALE / never seeded.
    history: symbol -> update types seen in order. stream_states: StreamStatus seen.
    gaps: bus-level GAP events (must stay empty). deltas: Kraken book deltas the INCREMENTALs
    covered (an INCREMENTAL coalesces every delta since the previous ``exchange_seq``).
    """

    def __init__(self, ports: Ports, prefixes: tuple[str, ...] = ("md.", "sys.feed.")) -> None:
        self.sub = Subscriber({"feed": ports.pub_endpoint}, prefixes, heartbeat_timeout=5.0)
        self.books: dict[str, tuple[dict[float, float], dict[float, float]] | None] = {}
        self.exchange_seq: dict[str, int] = {}
        self.history: dict[str, list[UpdateType]] = {}
        self.stream_states: list[StreamStatus] = []
        self.gaps: list[BusEvent] = []
        self.messages = 0
        self.deltas = 0
        self.received = 0
        self.last_mbp = time.monotonic()
        self.topic_seq: dict[str, int] = {}
        #: message type -> up to SAMPLES_PER_TYPE raw payloads, for proto/ validation
        self.samples: dict[str, list[bytes]] = {}
        #: while not None, messages are kept here instead of applied (late-joiner buffering)
        self.held: list[tuple[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.sub.start()
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.sub.close()

    async def _run(self) -> None:
        async for batch in self.sub.batches():
            for item in batch:
                if isinstance(item, BusEvent):
                    if item.kind == EventKind.GAP:
                        self.gaps.append(item)
                    continue
                assert isinstance(item, Received)
                topic = item.topic.decode()
                self.received += 1
                kept = self.samples.setdefault(item.header.type, [])
                if len(kept) < SAMPLES_PER_TYPE:
                    kept.append(item.payload)
                self.topic_seq[topic] = item.header.seq
                if self.held is not None:
                    self.held.append((topic, decode(item.payload)))
                else:
                    self.apply(decode(item.payload))

    def hold(self) -> None:
        """Keep messages back (a late joiner subscribes before asking for the state)."""
        self.held = []

    async def sync(self, ports: Ports) -> None:
        """Join like any client: hold, make sure the SUB socket is connected (a heartbeat came
        through), take the state from the snapshot service, then release what was held."""
        self.hold()
        await self.wait_for(lambda: self.received > 0, what="the first bus message")
        replies = await request_snapshot(ports, ["md."], "sync")
        self.seed_and_release([r for r in replies if isinstance(r, SnapshotEntry)])

    def seed_and_release(self, entries: list[SnapshotEntry]) -> None:
        """Clone pattern: apply the snapshot entries, then the held messages newer than the seq
        each entry is current to (older ones are already in the snapshot)."""
        seq_of = {e.topic: e.message.seq for e in entries}
        for e in entries:
            self.apply(e.message)
        held, self.held = self.held or [], None
        for topic, msg in held:
            if msg.seq > seq_of.get(topic, 0):
                self.apply(msg)

    def apply(self, msg: Any) -> None:
        self.messages += 1
        if isinstance(msg, StreamStatus):
            self.stream_states.append(msg)
            return
        if not isinstance(msg, MarketByPrice):
            return
        self.last_mbp = time.monotonic()
        sym = msg.symbol
        self.history.setdefault(sym, []).append(msg.update_type)
        if msg.update_type == UpdateType.STALE:
            self.books[sym] = None
            return
        if msg.update_type == UpdateType.SNAPSHOT:
            self.books[sym] = ({p: q for p, q in msg.bids}, {p: q for p, q in msg.asks})
        else:
            book = self.books.get(sym)
            if book is None:
                return
            prev = self.exchange_seq.get(sym)
            assert prev is None or msg.exchange_seq > prev, f"{sym}: {prev} -> {msg.exchange_seq}"
            self.deltas += msg.exchange_seq - prev if prev is not None else 1
            for side, levels in ((book[0], msg.bids), (book[1], msg.asks)):
                for p, q in levels:
                    if q:
                        side[p] = q
                    else:
                        # strict, as a client may be: never a delete of a level it does not hold
                        assert side.pop(p, None) is not None, f"{sym}: delete of absent level {p}"
        self.exchange_seq[sym] = msg.exchange_seq

    async def wait_for(self, cond: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out after {timeout}s waiting for {what or cond}")

    async def quiet(self, seconds: float = 0.5, timeout: float = 15.0) -> None:
        """Wait until no MarketByPrice arrived for ``seconds``."""
        await self.wait_for(lambda: time.monotonic() - self.last_mbp > seconds, timeout, "a quiet book feed")


def sim_book(ports: Ports, symbol: str) -> tuple[dict[float, float], dict[float, float], int]:
    """The simulator's own book (bids, asks, seq) through its admin API."""
    b = ports.admin(f"book/{symbol}")
    return {p: q for p, q in b["bids"]}, {p: q for p, q in b["asks"]}, int(b["seq"])


async def request_snapshot(ports: Ports, prefixes: list[str], request_id: str = "r1") -> list[Any]:
    """Ask the feed's snapshot service; returns every reply up to SnapshotEnd."""
    client = DealerClient(ports.snapshot_endpoint)
    await client.start()
    try:
        client.send(SnapshotRequest(request_id=request_id, topics=prefixes))
        replies = await client.collect(lambda m: isinstance(m, SnapshotEnd), timeout=10.0)
        assert not proto_errors([encode(r) for r in replies])
        return replies
    finally:
        await client.close()


def books_of(replies: list[Any]) -> dict[str, MarketByPrice]:
    return {
        r.message.symbol: r.message
        for r in replies
        if isinstance(r, SnapshotEntry) and isinstance(r.message, MarketByPrice)
    }


@asynccontextmanager
async def running(
    tmp: Path, sim: dict[str, Any], feed: dict[str, Any]
) -> AsyncIterator[tuple[Ports, BusBooks, KgwProcess]]:
    """The simulator, a bus client already subscribed, and the feed, ready."""
    ports = Ports()
    path = write_configs(tmp, ports, sim, feed)
    sim_proc = start_sim(path, ports)
    books = BusBooks(ports)
    await books.start()
    try:
        feed_proc = await asyncio.to_thread(start_feed, path, ports)
        try:
            await books.sync(ports)
            yield ports, books, feed_proc
            for kind, payloads in books.samples.items():  # everything published fits proto/
                assert not proto_errors(payloads), kind
        finally:
            code = await asyncio.to_thread(feed_proc.stop)
            assert code == 0, feed_proc.output()[-3000:]
    finally:
        await books.close()
        await asyncio.to_thread(sim_proc.stop)
