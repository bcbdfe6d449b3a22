"""The real stack (kgw sim, feed, router, dropcopy) with market data and orders, recorded by
a real ``kgw eventlog`` while an independent subscriber listens to the same publishers: the
log holds every message the subscriber saw, in the same order, and ``kgw log verify`` passes."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from common import config
from common.client import OrderEntry
from common.eventlog.records import Kind
from common.messages import OrderStatus, OrderType, OrderUpdate, Side
from tests.eventlog.harness import BusRecorder, events, kgw_log, messages_by_publisher, read_log, split_streams
from tests.support.stack import Stack, StackConfig, stack_config

SYMBOL = "PF_XBTUSD"
BOOK_RATE = 3000.0


async def trade(endpoint: str) -> list[int]:
    """A market order that fills, and a resting limit order cancelled; their order ids."""
    oe = OrderEntry("main", endpoint=endpoint)
    await oe.start()
    try:
        buy = oe.create(SYMBOL, Side.BUY, OrderType.MARKET, 0.01)
        final = await buy.wait_final(timeout=20)
        assert isinstance(final, OrderUpdate) and final.status is OrderStatus.FILLED, buy.messages
        rest = oe.create(SYMBOL, Side.BUY, OrderType.LIMIT, 0.01, price=1000.0)
        await rest.wait(lambda m: isinstance(m, OrderUpdate) and m.status is OrderStatus.WORKING, timeout=20)
        oe.cancel(rest.order_id)
        final = await rest.wait_final(timeout=20)
        assert isinstance(final, OrderUpdate) and final.status is OrderStatus.CANCELLED, rest.messages
        return [buy.order_id, rest.order_id]
    finally:
        await oe.close()


def busy_market(cfg: StackConfig) -> StackConfig:
    """The same stack with a busy simulated market (thousands of book messages a second)."""
    text = cfg.path.read_text().replace("[sim]\n", f"[sim]\nbook_rate = {BOOK_RATE}\ntrade_rate = 50.0\n", 1)
    cfg.path.write_text(text)
    cfg.config = config.load(cfg.path)
    return cfg


def overlap(log: list[tuple[bytes, bytes]], seen: list[tuple[bytes, bytes]]) -> tuple[int, int, int]:
    """Both lists are cut from one stream, each subscriber joining and leaving on its own: from
    the first message both have, they must be equal until one of them ends. Returns where the
    common run starts in each list and its length."""
    first = {m: i for i, m in enumerate(log)}
    j = next((j for j, m in enumerate(seen) if m in first), None)
    assert j is not None, "no message in common"
    i = first[seen[j]]
    n = min(len(log) - i, len(seen) - j)
    assert log[i : i + n] == seen[j : j + n]
    return i, j, n


def test_real_stack_log_holds_what_an_independent_subscriber_saw(tmp_path: Path) -> None:
    cfg = busy_market(stack_config(tmp_path))
    stack = Stack(cfg)
    bus = cfg.config.bus
    stack.start("eventlog")
    recorder = BusRecorder(bus.publishers())
    try:
        for service in ("sim", "feed", "router", "dropcopy"):
            stack.start(service)
        time.sleep(2.0)  # market data flows
        order_ids = asyncio.run(trade(bus.router_orders))
        time.sleep(1.0)
        for service in ("dropcopy", "router", "feed", "sim"):
            assert stack.procs[service].stop() is not None, stack.output()
        time.sleep(0.3)
    finally:
        recorder.close()
        codes = stack.stop_all()
    assert codes["eventlog"] == 0, stack.output()

    log = read_log(cfg.eventlog_dir)
    in_log = messages_by_publisher(log)
    seen = split_streams(recorder.seen)
    assert {"feed", "router", "dropcopy"} <= {name for name, _ in seen}
    gaps = {(g["topic"], g["session"]) for g in events(log, Kind.GAP) if g["cause"] == "writer_start"}
    for key, msgs in seen.items():
        i, j, n = overlap(in_log[key], msgs)
        assert len(msgs) - (j + n) <= 5 and len(in_log[key]) - (i + n) <= 5, key  # leaving: a few in flight
        if j:  # the writer's connection came up after the recorder's: it says what it missed
            assert i == 0, key
            later = {t for t, _ in in_log[key]}
            for topic, payload in msgs[:j]:
                if topic in later:
                    assert (topic.decode(), json.loads(payload)["session"]) in gaps, topic
    public_types = {json.loads(p)["type"] for _, p in in_log[("feed", "public")]}
    assert len(in_log[("feed", "public")]) > 1000  # a busy market (how busy depends on the machine)
    assert {"MarketByPrice", "TopOfBook", "Heartbeat"} <= public_types, public_types

    # the orders' whole story is in the private stream, and only there
    private = [json.loads(p) for key, msgs in in_log.items() if key[1] == "private" for _, p in msgs]
    for oid in order_ids:
        types = {m["type"] for m in private if m.get("order_id") == oid}
        assert {"CreateOrder", "OrderAck", "OrderUpdate"} <= types, (oid, types)
    assert any(m["type"] == "TradeUpdate" and m.get("order_id") == order_ids[0] for m in private)
    assert any(m["type"] == "CancelOrder" and m.get("order_id") == order_ids[1] for m in private)
    assert not any(r.topic.startswith(b"oms.") for r in log["public"] if r.kind == Kind.MESSAGE)
    assert not [g for g in events(log, Kind.GAP) if g["cause"] == "bus"]

    result = kgw_log("verify", str(cfg.eventlog_dir))
    assert result.returncode == 0, result.stdout + result.stderr
