"""The Node.js example client (examples/node) against the whole stack, started the way the
README does: ``honcho start`` on the repo's Procfile, here with a temp config on free loopback
ports (``KGW_CONFIG``) and fresh simulator credentials in the environment.

``node examples/node/demo.js`` must print a consistent book, then send a market order and see
FORWARDED, ACCEPTED, its FILLED OrderUpdate, its TradeUpdate and the PositionUpdate, and exit 0.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from common import config
from tests.support.processes import REPO
from tests.support.stack import honcho, stack_config, wait_ready

NODE = shutil.which("node")
EXAMPLE = REPO / "examples" / "node"

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (EXAMPLE / "node_modules" / "zeromq").is_dir(),
        reason="examples/node/node_modules is missing: run `npm ci` in examples/node",
    ),
]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[config.Config]:
    """The five services under ``honcho start`` (temp config on free ports, fresh credentials),
    every /health answering 200; stopped with SIGTERM (honcho stops every service)."""
    cfg = stack_config(tmp_path)
    log = tmp_path / "honcho.log"
    proc = honcho(cfg, log)
    try:
        wait_ready(cfg, 60, proc)
        yield cfg.config
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.returncode not in (0, -signal.SIGTERM):
            sys.stderr.write(log.read_text(errors="replace")[-8000:])


def run_demo(cfg: config.Config, *args: str) -> subprocess.CompletedProcess[str]:
    bus = cfg.bus
    endpoints = [
        "--feed-pub",
        bus.feed_pub,
        "--feed-snapshot",
        bus.feed_snapshot,
        "--router-orders",
        bus.router_orders,
        "--dropcopy-pub",
        bus.dropcopy_pub,
    ]
    return subprocess.run(
        [str(NODE), "demo.js", *endpoints, "--timeout", "30", *args],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_node_demo_mirrors_the_book_and_fills_a_market_order(stack: config.Config) -> None:
    done = run_demo(stack, "--symbol", "PF_XBTUSD", "--side", "buy", "--quantity", "0.01")
    report = f"exit {done.returncode}\n--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
    assert done.returncode == 0, report
    out = done.stdout

    books = re.findall(
        r"^book PF_XBTUSD session=\S+ seq=(\d+) best_bid=(\S+) best_ask=(\S+) levels=(\d+)/(\d+) "
        r"consistent=(\w+)$",
        out,
        re.M,
    )
    assert len(books) == 2, report  # before the order and after the fill
    for _seq, bid, ask, n_bids, n_asks, consistent in books:
        assert float(bid) < float(ask), report
        assert int(n_bids) > 0 and int(n_asks) > 0 and consistent == "true", report

    sent = re.search(r"^sent CreateOrder order_id=(\d+) ", out, re.M)
    assert sent, report
    oid = sent.group(1)
    assert re.search(rf"^OrderAck FORWARDED origin=GATEWAY order_id={oid}$", out, re.M), report
    assert re.search(rf"^OrderAck ACCEPTED origin=EXCHANGE order_id={oid} exchange_order_id=\S+$", out, re.M), report
    assert re.search(
        r"^OrderUpdate FILLED BUY MARKET PF_XBTUSD quantity=0.01 traded=0.01 avg_price=\S+ remaining=0$", out, re.M
    ), report
    fill = re.search(r"^TradeUpdate BUY 0.01 PF_XBTUSD @ (\S+) TAKER ", out, re.M)
    assert fill, report
    # a fresh account: its position after buying 0.01 is 0.01, at the fill's price
    assert re.search(
        rf"^PositionUpdate PF_XBTUSD position=0.01 average_price={re.escape(fill.group(1))}$", out, re.M
    ), report
    assert re.search(r"^ok: FORWARDED, ACCEPTED, FILLED, TradeUpdate, PositionUpdate ", out, re.M), report


def test_node_demo_exits_2_when_the_router_rejects(stack: config.Config) -> None:
    done = run_demo(stack, "--quantity", "0")
    report = f"exit {done.returncode}\n--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
    assert done.returncode == 2, report
    assert re.search(r"^OrderAck REJECTED origin=GATEWAY .* error=INVALID_QUANTITY ", done.stdout, re.M), report
    assert "failed: order refused" in done.stderr, report
