"""The private connection against a hostile Kraken: a real WebSocket server on loopback that
checks challenges per connection, drops the socket, refuses a login once, and sends garbage.
The connection must use a fresh challenge every time, count bad frames, and keep going."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import prometheus_client
import pytest
from aiohttp import WSMsgType, web

from common.kraken import auth
from common.kraken.stream import State, StreamSettings
from common.messages import Message, OrderStatus, OrderUpdate, TradeUpdate
from common.oms.account_state import AccountState, Out
from services.dropcopy.connection import PrivateConnection
from services.dropcopy.settings import DropcopySettings
from tests.support.processes import fresh_credentials

KEY, SECRET = fresh_credentials()

ORDER = {"instrument": "PF_XBTUSD", "time": 1, "last_update_time": 1, "qty": 1.0, "filled": 0.0,
         "limit_price": 100.0, "stop_price": 0.0, "type": "limit", "order_id": "o-1", "direction": 0,
         "reduce_only": False, "cli_ord_id": "k1.dev.5"}
FILL = {"instrument": "PF_XBTUSD", "time": 2, "price": 100.0, "seq": 1, "buy": True, "qty": 1.0,
        "remaining_order_qty": 0.0, "order_id": "o-1", "cli_ord_id": "k1.dev.5", "fill_id": "f-1",
        "fill_type": "maker", "fee_paid": 0.02, "fee_currency": "USD", "order_type": "limit"}
GARBAGE = [
    b"not json at all",
    b"[1, 2, 3]",
    b'{"feed":"open_orders","order":{"instrument":"PF_XBTUSD","order_id":"x","qty":1,"direction":7},'
    b'"is_cancel":false,"reason":"new_placed_order_by_user"}',
    b'{"feed":"mystery_feed"}',
    b'{"feed":"fills","fills":[{"instrument":"PF_XBTUSD"}]}',
]


@dataclass
class FakeKraken:
    """Per-connection challenges; connection 1 is refused, 2 is dropped after its download,
    3 and later behave (with garbage before the live fill)."""

    hostile: bool = True
    skip: frozenset[str] = frozenset()
    connections: int = 0
    challenges: list[str] = field(default_factory=list)
    used: list[set[str]] = field(default_factory=list)
    fill_sent: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        n = self.connections if self.hostile else 3
        mine: str | None = None
        used: set[str] = set()
        self.used.append(used)
        await ws.send_str('{"event":"info","version":1}')
        snapshots = 0
        async for m in ws:
            if m.type is not WSMsgType.TEXT:
                break
            msg = orjson.loads(m.data)
            if msg.get("event") == "challenge":
                mine = str(uuid.uuid4())
                self.challenges.append(mine)
                await ws.send_str(orjson.dumps({"event": "challenge", "message": mine}).decode())
            elif msg.get("event") == "subscribe" and msg.get("feed") == "heartbeat":
                await ws.send_str('{"event":"subscribed","feed":"heartbeat"}')
            elif msg.get("event") == "subscribe":
                used.add(msg["original_challenge"])
                good = mine is not None and msg["original_challenge"] == mine and auth.signatures_match(
                    auth.ws_challenge_signature(SECRET, mine), msg["signed_challenge"])
                if n == 1 or not good:
                    await ws.send_str('{"event":"alert","message":"Failed to subscribe to authenticated feed"}')
                    continue
                feed = msg["feed"]
                await ws.send_str(orjson.dumps({"event": "subscribed", "feed": feed}).decode())
                if feed in self.skip:
                    continue
                await ws.send_bytes(orjson.dumps(self.snapshot(feed)))
                snapshots += 1
                if snapshots == 4 and n == 2:
                    await asyncio.sleep(0.2)
                    break  # drop the socket once downloaded
                if snapshots == 4 - len(self.skip) and n >= 3 and not self.fill_sent.is_set():
                    await asyncio.sleep(0.3)
                    for g in GARBAGE:
                        await ws.send_bytes(g)
                    await ws.send_bytes(orjson.dumps({"feed": "fills", "username": "u", "fills": [FILL]}))
                    self.fill_sent.set()
        return ws

    @staticmethod
    def snapshot(feed: str) -> dict[str, Any]:
        if feed.startswith("open_orders"):
            return {"feed": f"{feed}_snapshot", "account": "a", "orders": [ORDER]}
        if feed == "fills":
            return {"feed": "fills_snapshot", "account": "a", "fills": []}
        if feed == "open_positions":
            return {"feed": "open_positions", "account": "a", "positions": [], "seq": 0, "timestamp": 1}
        return {"feed": "balances_snapshot", "account": "a", "holding": {}, "futures": {}, "timestamp": 1, "seq": 0}


class Recorder:
    """The connection's sink: what would be published, in order."""

    def __init__(self) -> None:
        self.published: list[Message] = []
        self.states: list[State] = []
        self.downloads: list[str] = []

    def publish(self, account: str, out: list[Out], receive_time: int) -> None:
        self.published.extend(m for _, m in out)

    def stream_status(self, conn: PrivateConnection, state: State, text: str) -> None:
        if not self.states or self.states[-1] is not state:
            self.states.append(state)

    def download_begin(self, account: str) -> None:
        self.downloads.append("begin")

    def download_end(self, account: str) -> None:
        self.downloads.append("end")


@pytest.fixture
def fake() -> FakeKraken:
    return FakeKraken()


@pytest.fixture
async def kraken(fake: FakeKraken) -> AsyncIterator[tuple[FakeKraken, str]]:
    app = web.Application()
    app.router.add_get("/ws/v1", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fake, f"ws://127.0.0.1:{port}/ws/v1"
    await runner.cleanup()


def metric(name: str, **labels: str) -> float:
    return prometheus_client.REGISTRY.get_sample_value(name, labels) or 0.0


async def test_fresh_challenge_per_connection_and_garbage_is_counted(kraken: tuple[FakeKraken, str]) -> None:
    fake, url = kraken
    account = f"hostile{uuid.uuid4().hex[:6]}"
    stream_name = f"private-{account}"
    settings = DropcopySettings(
        accounts=[account], reconcile=False,
        stream=StreamSettings(backoff_initial=0.05, backoff_cap=0.1, silence_timeout=0),
    )
    sink = Recorder()
    conn = PrivateConnection(account, KEY, SECRET, ws_url=url, rest=None, state=AccountState("kraken-futures", account),
                             sink=sink, settings=settings)
    conn.start()
    try:
        async with asyncio.timeout(10.0):
            await fake.fill_sent.wait()
            while not any(isinstance(m, TradeUpdate) for m in sink.published):
                await asyncio.sleep(0.02)
    finally:
        await conn.stop()
    # every connection asked for its own challenge and subscribed with it, never an old one
    assert len(fake.challenges) == fake.connections >= 3
    assert len(set(fake.challenges)) == len(fake.challenges)
    for challenge, used in zip(fake.challenges, fake.used, strict=True):
        assert used == {challenge}
    assert metric("kgw_dropcopy_login_failures_total", account=account, reason="refused") >= 1
    # downloads: the refused login began one that the next connections completed
    assert sink.downloads.count("end") >= 2 and sink.downloads[0] == "begin"
    assert State.READY in sink.states and State.LOGIN_SENT in sink.states
    # garbage counted per reason, the process kept going, the good fill after it published
    errors = {r: metric("kgw_ws_stream_parse_errors_total", stream=stream_name, reason=r)
              for r in ("not_json_object", "bad_direction", "unknown_feed", "fill")}
    assert errors == {"not_json_object": 2.0, "bad_direction": 1.0, "unknown_feed": 1.0, "fill": 1.0}
    [trade] = [m for m in sink.published if isinstance(m, TradeUpdate)]
    assert (trade.trade_id, trade.order_id) == ("f-1", 5)
    final = [m for m in sink.published if isinstance(m, OrderUpdate)][-1]
    assert final.status is OrderStatus.FILLED


@pytest.mark.parametrize("fake", [FakeKraken(hostile=False, skip=frozenset({"open_positions"}))])
async def test_download_finishes_without_a_positions_snapshot(kraken: tuple[FakeKraken, str]) -> None:
    """If Kraken never sends the initial open_positions message, the download ends after
    download_timeout instead of reconnecting forever."""
    fake, url = kraken
    account = f"quiet{uuid.uuid4().hex[:6]}"
    settings = DropcopySettings(accounts=[account], reconcile=False, download_timeout=0.5,
                                stream=StreamSettings(silence_timeout=0))
    sink = Recorder()
    conn = PrivateConnection(account, KEY, SECRET, ws_url=url, rest=None, state=AccountState("kraken-futures", account),
                             sink=sink, settings=settings)
    conn.start()
    try:
        async with asyncio.timeout(5.0):
            await fake.fill_sent.wait()
            while not any(isinstance(m, TradeUpdate) for m in sink.published):
                await asyncio.sleep(0.02)
    finally:
        await conn.stop()
    assert fake.connections == 1 and sink.downloads == ["begin", "end"]
    assert sink.states[:4] == [State.CONNECTING, State.LOGIN_SENT, State.DOWNLOADING, State.READY]
    assert metric("kgw_dropcopy_login_failures_total", account=account, reason="snapshot_missing") == 1
