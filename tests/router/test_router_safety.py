"""Safety nets with real processes: Kraken's dead man's switch after kill -9, cancel on client
disconnect, CURVE identities (unknown key, account not permitted), and recovery of open
orders after a router restart."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import urllib.request
from pathlib import Path

import pytest
import zmq

from common.bus import DealerClient
from common.messages import CancelOrder, CreateOrder, ErrorCode, OrderType, Origin, RequestStatus, Side
from tests.router.conftest import Sim
from tests.router.harness import Client, final_acks, next_order_id, open_cli_ord_ids, router_config

pytestmark = pytest.mark.timeout(60)


def order(oid: int, account: str = "main") -> CreateOrder:
    return CreateOrder(account=account, order_id=oid, symbol="PF_XBTUSD", side=Side.BUY,
                       order_type=OrderType.LIMIT, quantity=0.001, price=25000.0)


def read_url(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as resp:
        body: bytes = resp.read()
    return body


async def wait_until_gone(sim: Sim, cids: set[str], timeout: float) -> float:
    start = time.monotonic()
    while cids & await open_cli_ord_ids(sim):
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{cids & await open_cli_ord_ids(sim)} still open after {timeout}s")
        await asyncio.sleep(0.1)
    return time.monotonic() - start


async def test_dead_man_switch_cancels_after_kill9(sim: Sim, tmp_path: Path) -> None:
    r = router_config(tmp_path, sim, router="curve = false\ndms_timeout = 2\ndms_refresh = 0.5\n").start()
    try:
        ids = [next_order_id() for _ in range(3)]
        async with Client(r.orders) as c:
            for i in ids:
                c.send(order(i))
            assert all(a.status is RequestStatus.ACCEPTED for a in (await final_acks(c, ids)).values())
        cids = {f"k1.dev.{i}" for i in ids}
        await asyncio.sleep(1.0)
        assert cids <= await open_cli_ord_ids(sim)  # the refreshes keep them alive past 2 s
        r.proc.kill(signal.SIGKILL)
        waited = await wait_until_gone(sim, cids, timeout=6.0)
        assert waited > 0.5  # Kraken's timer, not anything the dying router did
    finally:
        r.proc.stop()


async def test_client_disconnect_cancels_its_own_orders_only(sim: Sim, tmp_path: Path) -> None:
    r = router_config(tmp_path, sim, router="curve = false\nclient_timeout = 1.0\n"
                                            'disconnect_policy = "own_orders"\n').start()
    try:
        stay, leave = next_order_id(), next_order_id()
        async with Client(r.orders, interval=0.2) as keeper:
            keeper.send(order(stay))
            assert (await keeper.final_ack(stay))[-1].status is RequestStatus.ACCEPTED
            async with Client(r.orders, interval=0.2) as leaver:
                leaver.send(order(leave))
                assert (await leaver.final_ack(leave))[-1].status is RequestStatus.ACCEPTED
            # the leaver stopped heartbeating and closed its socket
            await wait_until_gone(sim, {f"k1.dev.{leave}"}, timeout=4.0)
            assert f"k1.dev.{stay}" in await open_cli_ord_ids(sim)
            keeper.send(CancelOrder(account="main", order_id=stay))
            assert (await keeper.final_ack(stay))[-1].status is RequestStatus.ACCEPTED
    finally:
        r.proc.stop()


async def test_restart_recovers_open_orders(sim: Sim, tmp_path: Path) -> None:
    r = router_config(tmp_path, sim, router="curve = false\n").start()
    oid = next_order_id()
    try:
        async with Client(r.orders) as c:
            c.send(order(oid))
            assert (await c.final_ack(oid))[-1].status is RequestStatus.ACCEPTED
        assert r.proc.stop() == 0
        r.start()  # same config, fresh process: nothing but Kraken's open orders to go on
        async with Client(r.orders) as c:
            c.send(order(oid))  # the recovered order_id is still taken
            assert (await c.final_ack(oid))[-1].error is ErrorCode.DUPLICATE_ORDER_ID
            c.send(CancelOrder(account="main", order_id=oid))
            last = (await c.final_ack(oid))[-1]
            assert (last.origin, last.status) == (Origin.EXCHANGE, RequestStatus.ACCEPTED)
        assert f"k1.dev.{oid}" not in await open_cli_ord_ids(sim)
    finally:
        r.proc.stop()


async def test_curve_users_and_permissions(sim: Sim, tmp_path: Path) -> None:
    server_pub, server_sec = zmq.curve_keypair()
    alice_pub, alice_sec = zmq.curve_keypair()
    bob_pub, bob_sec = zmq.curve_keypair()
    stranger_pub, stranger_sec = zmq.curve_keypair()
    users = (f'[router.users.alice]\ncurve_public_key = "{alice_pub.decode()}"\naccounts = ["main"]\n'
             f'symbols = ["PF_XBTUSD"]\n'
             f'[router.users.bob]\ncurve_public_key = "{bob_pub.decode()}"\naccounts = ["other"]\n')
    r = router_config(tmp_path, sim, router=f'curve = true\ncurve_public_key = "{server_pub.decode()}"\n',
                      users=users, env={"KGW_ROUTER_CURVE_SECRET": server_sec.decode()}).start()
    try:
        async with Client(r.orders, curve=(server_pub, alice_pub, alice_sec)) as alice:
            oid = next_order_id()
            alice.send(order(oid))
            last = (await alice.final_ack(oid))[-1]
            assert last.status is RequestStatus.ACCEPTED and last.client_order_id == f"k1.alice.{oid}"
            for bad in (order(next_order_id(), account="other"),
                        CreateOrder(account="main", order_id=next_order_id(), symbol="PF_ETHUSD", side=Side.BUY,
                                    order_type=OrderType.LIMIT, quantity=0.01, price=1000.0)):
                alice.send(bad)
                acks = await alice.final_ack(bad.order_id)
                assert len(acks) == 1 and acks[0].error is ErrorCode.NOT_AUTHORIZED
            # bob cannot see or cancel alice's order: order ids are per user
            async with Client(r.orders, curve=(server_pub, bob_pub, bob_sec)) as bob:
                bob.send(CancelOrder(account="main", order_id=oid))
                assert (await bob.final_ack(oid))[-1].error is ErrorCode.NOT_AUTHORIZED
            alice.send(CancelOrder(account="main", order_id=oid))
            assert (await alice.final_ack(oid))[-1].status is RequestStatus.ACCEPTED
        stranger = DealerClient(r.orders, curve=(server_pub, stranger_pub, stranger_sec))
        await stranger.start()
        try:
            await asyncio.sleep(0.3)
            with contextlib.suppress(zmq.Again):  # the handshake failed: often no pipe to send on at all
                stranger.send(order(next_order_id()))
            with pytest.raises(TimeoutError):
                await stranger.recv(timeout=1.0)
        finally:
            await stranger.close()
        metrics = await asyncio.to_thread(read_url, r.health.replace("/health", "/metrics"))
        assert b"kgw_router_curve_denied_total" in metrics
        denied = [ln for ln in metrics.decode().splitlines() if ln.startswith("kgw_router_curve_denied_total")]
        assert float(denied[0].split()[-1]) >= 1
    finally:
        r.proc.stop()
