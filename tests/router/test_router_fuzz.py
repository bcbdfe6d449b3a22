"""Hostile input at the ROUTER socket of a real router process: random bytes, random JSON,
valid requests with fields swapped for junk, wrong frame counts. Every frame set gets an
answer that ends its exchange (ErrorReply, a final ack, or the heartbeat echo), the process
never dies, and it still trades afterwards."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.messages import (
    CancelAllOrdersAck,
    CreateOrder,
    ErrorCode,
    ErrorReply,
    Heartbeat,
    Message,
    OrderAck,
    OrderType,
    RequestStatus,
    Side,
    decode,
    encode,
)
from tests.router.conftest import Sim
from tests.router.harness import RouterProc, router_config

VALID: list[dict[str, Any]] = [
    {"type": "CreateOrder", "account": "main", "order_id": 1, "request_id": "f", "symbol": "PF_XBTUSD",
     "side": "BUY", "order_type": "LIMIT", "quantity": 0.001, "price": 20000.0},
    {"type": "ModifyOrder", "account": "main", "order_id": 1, "price": 20001.0},
    {"type": "CancelOrder", "account": "main", "order_id": 1},
    {"type": "CancelAllOrders", "account": "main", "symbol": "PF_ETHUSD"},
    {"type": "Heartbeat", "service": "fuzz"},
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn) -> list[bytes]:
    doc = dict(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from([*doc.keys(), "type", "extra", "symbol", "order_id", "quantity"]))
        if draw(st.booleans()):
            doc[key] = draw(json_values)
        else:
            doc.pop(key, None)
    return [json.dumps(doc).encode()]


frame_sets = st.one_of(
    st.lists(st.binary(max_size=200), min_size=1, max_size=4),
    st.builds(lambda v: [json.dumps(v).encode()], json_values),
    mutated(),
    st.builds(lambda p: [b"", p], st.binary(max_size=100)),
)


def terminal(m: Message) -> bool:
    if isinstance(m, (ErrorReply, Heartbeat)):
        return True
    return isinstance(m, (OrderAck, CancelAllOrdersAck)) and m.status is not RequestStatus.FORWARDED


class SyncClient:
    def __init__(self, endpoint: str) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVTIMEO, 5000)
        self.sock.connect(endpoint)

    def exchange(self, frames: list[bytes]) -> list[Message]:
        """Send one frame set; the replies up to the one that ends the exchange."""
        self.sock.send_multipart(frames)
        out: list[Message] = []
        while True:
            m = decode(self.sock.recv())
            out.append(m)
            if terminal(m):
                return out

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


@pytest.fixture(scope="module")
def fuzz_router(sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RouterProc, SyncClient]]:
    r = router_config(tmp_path_factory.mktemp("fuzz"), sim,
                      router="curve = false\nclient_timeout = 30.0\ndms_refresh = 60.0\ndms_timeout = 120\n"
                             "max_message_size = 4096\n").start()
    c = SyncClient(r.orders)
    try:
        yield r, c
    finally:
        c.close()
        r.proc.stop()


def check(router: RouterProc, client: SyncClient, frames: list[bytes]) -> None:
    replies = client.exchange(frames)
    last = replies[-1]
    well_framed = len(frames) == 1 or (len(frames) == 2 and frames[0] == b"")
    if not well_framed:
        assert isinstance(last, ErrorReply) and last.error.value == "INVALID_FRAMES"
    assert router.proc.proc is not None and router.proc.proc.poll() is None


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(frames=frame_sets)
def test_hostile_frames_bounded(fuzz_router: tuple[RouterProc, SyncClient], frames: list[bytes]) -> None:
    check(*fuzz_router, frames)


@pytest.mark.slow
@settings(max_examples=30_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(frames=frame_sets)
def test_hostile_frames_soak(fuzz_router: tuple[RouterProc, SyncClient], frames: list[bytes]) -> None:
    check(*fuzz_router, frames)


def test_still_trades_after_fuzz(fuzz_router: tuple[RouterProc, SyncClient]) -> None:
    router, client = fuzz_router
    # the fuzz's valid orders may have spent the rate budget: RATE_LIMITED is then the right
    # answer, so wait for the bucket to refill (Kraken: 10 s from empty), with a bound
    deadline = time.monotonic() + 15
    order_id = 2**52
    while True:
        req = CreateOrder(account="main", order_id=order_id, symbol="PF_XBTUSD", side=Side.BUY,
                          order_type=OrderType.LIMIT, quantity=0.001, price=21000.0)
        last = client.exchange([encode(req)])[-1]
        if not (isinstance(last, OrderAck) and last.error is ErrorCode.RATE_LIMITED) or time.monotonic() > deadline:
            break
        order_id += 1
        time.sleep(1.0)
    assert isinstance(last, OrderAck) and last.status is RequestStatus.ACCEPTED, last
    assert router.health_doc()["ready"] is True
