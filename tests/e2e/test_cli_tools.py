"""The operator tools against a real stack: kgw status, kgw book, kgw order."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import REPO, free_port
from tests.support.stack import Stack, StackConfig, stack_config


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackConfig]:
    s = Stack(stack_config(tmp_path_factory.mktemp("tools")))
    try:
        s.start_all()
        yield s.cfg
    finally:
        s.stop_all()


def kgw(cfg: StackConfig, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO,
        env={**cfg.env, "PATH": str(Path(sys.executable).parent)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_status_shows_every_service_ready_with_streams(stack: StackConfig) -> None:
    r = kgw(stack, "status")
    assert r.returncode == 0, r.stdout + r.stderr
    rows = {line.split()[0]: line for line in r.stdout.splitlines()[1:]}
    assert set(rows) == {"sim", "feed", "router", "dropcopy", "eventlog"}
    assert all(" ready " in row for row in rows.values()), r.stdout
    assert "public-0:READY" in rows["feed"] and "READY" in rows["dropcopy"]


def test_book_once_prints_a_consistent_book(stack: StackConfig) -> None:
    r = kgw(stack, "book", "PF_XBTUSD", "--once", "--depth", "3")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("PF_XBTUSD") and "live" in lines[0]
    levels = [line for line in lines if "|" in line][1:]
    assert len(levels) == 3
    best_bid, best_ask = float(levels[0].split("|")[0].split()[1]), float(levels[0].split("|")[1].split()[0])
    assert best_bid < best_ask


def test_book_of_a_symbol_the_feed_does_not_carry_says_so_at_once(stack: StackConfig) -> None:
    r = kgw(stack, "book", "PF_NOPE", "--once")
    assert r.returncode == 1
    assert "the feed publishes nothing for PF_NOPE" in r.stderr, r.stderr


def messages(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def kinds(got: list[dict[str, object]]) -> list[tuple[object, object]]:
    """(type, status) of every message printed. The exchange's answer and the drop-copy's update
    race, so the order they are printed in varies; the tool waits for both where it needs both."""
    return [(m["type"], m.get("status")) for m in got]


def test_order_create_market_until_filled(stack: StackConfig) -> None:
    r = kgw(stack, "order", "--json", "create", "PF_XBTUSD", "buy", "0.01", "--type", "market", "--until-final")
    assert r.returncode == 0, r.stdout + r.stderr
    got = messages(r.stdout)
    assert [m["status"] for m in got if m["type"] == "OrderAck"][:2] == ["FORWARDED", "ACCEPTED"]
    assert any(m["type"] == "TradeUpdate" for m in got)
    assert ("OrderUpdate", "FILLED") in kinds(got), got


def test_order_create_then_cancel_from_another_invocation(stack: StackConfig) -> None:
    r = kgw(stack, "order", "--json", "create", "PF_XBTUSD", "buy", "0.01", "--price", "1000", "--order-id", "424242")
    assert r.returncode == 0, r.stdout + r.stderr
    got = kinds(messages(r.stdout))
    assert ("OrderAck", "ACCEPTED") in got and ("OrderAck", "REJECTED") not in got, got
    r = kgw(stack, "order", "--json", "cancel", "424242")
    assert r.returncode == 0, r.stdout + r.stderr
    # the CANCELLED update may come first, but the command always waits for the exchange's answer
    got = kinds(messages(r.stdout))
    assert ("OrderAck", "ACCEPTED") in got, got


def test_order_rejection_exits_nonzero_with_the_reason(stack: StackConfig) -> None:
    r = kgw(stack, "order", "--json", "create", "PF_XBTUSD", "buy", "0.01", "--price", "1000.3")
    assert r.returncode == 2
    rejected = [m for m in messages(r.stdout) if m["type"] == "OrderAck" and m["status"] == "REJECTED"]
    assert [m["error"] for m in rejected] == ["INVALID_PRICE"], r.stdout


def test_cancel_all(stack: StackConfig) -> None:
    kgw(stack, "order", "create", "PF_XBTUSD", "buy", "0.01", "--price", "1000")
    r = kgw(stack, "order", "--json", "cancel-all")
    assert r.returncode == 0, r.stdout + r.stderr
    [ack] = [m for m in messages(r.stdout) if m["type"] == "CancelAllOrdersAck" and m["status"] != "FORWARDED"]
    assert ack["status"] == "ACCEPTED", r.stdout
    assert int(ack["number_of_affected_orders"]) >= 1  # type: ignore[call-overload]


def test_order_with_no_router_says_where_it_looked(tmp_path: Path) -> None:
    cfg = tmp_path / "nothing-listens.toml"
    cfg.write_text(f'[bus]\nrouter_orders = "tcp://127.0.0.1:{free_port()}"\n')
    r = subprocess.run(
        [sys.executable, "-m", "services.cli", "order", "--config", str(cfg), "--wait", "1",
         "create", "PF_XBTUSD", "buy", "0.01", "--price", "1000"],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )
    assert r.returncode == 3
    assert "did not answer within 1.0s: is it running?" in r.stderr, r.stderr
