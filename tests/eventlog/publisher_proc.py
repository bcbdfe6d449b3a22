"""A real bus publisher for event-log tests, run as its own process::

    python -m tests.eventlog.publisher_proc --service feed --endpoint tcp://127.0.0.1:P \
        --count 2000 --rate 5000 --gap-at 100,700 --wait-subs 2 --out result.json

It binds our :class:`~common.bus.Publisher`, waits until ``--wait-subs`` subscriptions arrived
(so every subscriber sees the same stream from the first message), publishes ``--count``
messages cycling over market-data topics (TopOfBook, MarketByPrice) and private topics
(FundsUpdate, OrderUpdate), skips the messages listed in ``--gap-at`` (their seq is stamped,
nothing is sent: a real hole), then a GatewayStatus "done" marker, heartbeats for
``--linger`` seconds and exits. ``--out`` gets a JSON summary (session, per-topic last seq).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import zmq

from common import topics
from common.bus import Publisher
from common.messages import (
    FundsUpdate,
    GatewayStatus,
    MarketByPrice,
    Message,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    TopOfBook,
    UpdateType,
)

X = "kraken-futures"


def message(i: int, symbols: list[str], account: str) -> tuple[str, Message]:
    """The i-th message of the cycle: mostly market data, every 5th private."""
    sym = symbols[i % len(symbols)]
    px = 60_000.0 + (i % 97) * 0.5
    k = i % 5
    if k == 0:
        if i % 10 == 0:
            return topics.oms(X, account, "funds"), FundsUpdate(
                account=account, exchange=X, currency="USD", balance=1e6 - i
            )
        return topics.oms(X, account, "order"), OrderUpdate(
            account=account,
            exchange=X,
            symbol=sym,
            order_id=i,
            exchange_order_id=f"oid-{i}",
            side=Side.BUY,
            order_type=OrderType.LIMIT,
            status=OrderStatus.WORKING,
            quantity=1.0,
            remaining_quantity=1.0,
            price=px,
        )
    if k in (1, 2):
        return topics.md(X, sym, "mbp"), MarketByPrice(
            exchange=X, symbol=sym, update_type=UpdateType.INCREMENTAL, bids=[(px, 1.0 + k)], exchange_seq=i
        )
    return topics.md(X, sym, "tob"), TopOfBook(
        exchange=X, symbol=sym, bid_price=px, bid_quantity=1.0, ask_price=px + 0.5, ask_quantity=2.0
    )


def wait_subscriptions(sock: zmq.Socket[bytes], count: int, timeout: float) -> int:
    seen = 0
    deadline = time.monotonic() + timeout
    while seen < count and time.monotonic() < deadline:
        if sock.poll(50):
            if sock.recv()[:1] == b"\x01":
                seen += 1
    return seen


async def run(a: argparse.Namespace) -> dict[str, object]:
    pub = Publisher(a.service, a.endpoint, heartbeat_interval=a.heartbeat)
    pub.sock.setsockopt(zmq.XPUB_VERBOSE, 1)
    pub.bind()
    subs = wait_subscriptions(pub.sock, a.wait_subs, 15.0)
    await asyncio.sleep(0.05)  # let the subscriptions settle on every connection
    await pub.start()
    gaps = {int(x) for x in a.gap_at.split(",") if x}
    symbols = a.symbols.split(",")
    t0 = time.monotonic()
    sent = skipped = 0
    for i in range(a.count):
        topic, msg = message(i, symbols, a.account)
        if i in gaps:
            pub.stamp(topic, msg)  # seq advances, nothing is sent: a hole on the bus
            skipped += 1
        elif pub.publish(topic, msg):
            sent += 1
        if a.rate and i % 50 == 49:
            ahead = (i + 1) / a.rate - (time.monotonic() - t0)
            if ahead > 0:
                await asyncio.sleep(ahead)
            else:
                await asyncio.sleep(0)
    pub.publish(topics.sys(a.service, "gateway"), GatewayStatus(service=a.service, ready=False, text="done"))
    await asyncio.sleep(a.linger)
    names = {message(i, symbols, a.account)[0] for i in range(min(a.count, 100))}
    seqs = {t: pub.current_seq(t) for t in sorted(names)}
    await pub.close()
    return {
        "session": pub.session,
        "sent": sent,
        "skipped": skipped,
        "dropped": pub.dropped,
        "subs": subs,
        "seqs": seqs,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--service", required=True)
    p.add_argument("--endpoint", required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--rate", type=float, default=0.0, help="messages/s (0 = as fast as possible)")
    p.add_argument("--gap-at", default="")
    p.add_argument("--symbols", default="PF_XBTUSD,PF_ETHUSD")
    p.add_argument("--account", default="main")
    p.add_argument("--wait-subs", type=int, default=1)
    p.add_argument("--heartbeat", type=float, default=0.2)
    p.add_argument("--linger", type=float, default=0.5)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    result = asyncio.run(run(a))
    a.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
