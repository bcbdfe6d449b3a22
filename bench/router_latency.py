"""Order-entry latency through ``kgw router`` vs ccxt, against the same simulator.

Prints, in one run:

1. inside the router: request read from the ROUTER socket -> signed REST call handed to the
   HTTP client (p50 / p99, from the router's own probe, ``/health`` details ``latency``);
2. client CreateOrder -> OrderAck ACCEPTED through router + simulator (p50 / p99);
3. ccxt ``krakenfutures.create_order`` -> answer, straight to the same simulator (p50 / p99);
4. the floor: one bare aiohttp POST of the same ``sendorder``, signed the same way
   (:func:`common.kraken.auth.rest_authent`, same nonce scheme and form body), straight to the
   same simulator, answer read (p50 / p99). No aiohttp-based client here can beat it; the
   router adds a ZeroMQ hop each way, validation and bus publishing on top.

The three paths run in interleaved rounds (``--rounds``), so a shared machine's changing load
weighs on each alike; compare the ratios more than the absolute figures.

Orders are post-only limits far from the market (they rest; nothing fills), sent one at a
time. The simulator's and the router's rate budgets are raised so the budget does not pace
the run. Usage::

    .venv/bin/python bench/router_latency.py [--orders 2000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import orjson  # noqa: E402

from common.bus import DealerClient  # noqa: E402
from common.kraken import auth  # noqa: E402
from common.kraken.rest import KrakenRest, encode_params, nonce_owner  # noqa: E402
from common.messages import CreateOrder, OrderAck, OrderType, RequestStatus, Side  # noqa: E402
from tests.support.processes import KgwProcess, free_port, fresh_credentials, write_config  # noqa: E402


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * q))]


def line(name: str, xs: list[float]) -> str:
    return (f"{name:<46} n={len(xs):>5}  p50={pct(xs, 0.5):8.1f} us  p99={pct(xs, 0.99):8.1f} us  "
            f"mean={statistics.fmean(xs):8.1f} us")


class RouterPath:
    """CreateOrder -> OrderAck ACCEPTED through the router (a DEALER client)."""

    def __init__(self, endpoint: str) -> None:
        self.client = DealerClient(endpoint)

    async def open(self) -> None:
        await self.client.start()

    async def one(self, i: int) -> float:
        oid = 1_000_000 + i
        req = CreateOrder(account="main", order_id=oid, symbol="PF_XBTUSD", side=Side.BUY,
                          order_type=OrderType.LIMIT, quantity=0.001, price=20000.0 + (i % 500), post_only=True)
        t0 = time.perf_counter_ns()
        self.client.send(req)
        while True:
            m = await self.client.recv(5.0)
            if isinstance(m, OrderAck) and m.order_id == oid and m.status is not RequestStatus.FORWARDED:
                break
        took = (time.perf_counter_ns() - t0) / 1e3
        if m.status is not RequestStatus.ACCEPTED:
            raise RuntimeError(f"order {oid} not accepted: {m}")
        return took

    async def close(self) -> None:
        await self.client.close()


class CcxtPath:
    """ccxt ``krakenfutures.create_order`` straight to the simulator."""

    def __init__(self, port: int, key: str, secret: str) -> None:
        import ccxt.async_support as ccxt

        base = f"http://127.0.0.1:{port}"
        self.ex = ccxt.krakenfutures({"apiKey": key, "secret": secret, "enableRateLimit": False})
        self.ex.urls["api"] = {"public": f"{base}/derivatives/api/", "private": f"{base}/derivatives/api/",
                               "charts": f"{base}/api/charts/", "history": f"{base}/api/history/",
                               "feeschedules": f"{base}/api/feeschedules/"}

    async def open(self) -> None:
        await self.ex.load_markets()

    async def one(self, i: int) -> float:
        t0 = time.perf_counter_ns()
        await self.ex.create_order("BTC/USD:USD", "limit", "buy", 0.001, 20000.0 + (i % 500), {"postOnly": True})
        return (time.perf_counter_ns() - t0) / 1e3

    async def close(self) -> None:
        await self.ex.close()


class FloorPath:
    """The same ``sendorder`` as one bare aiohttp POST, signed the same way, on one keep-alive
    connection: what any aiohttp-based client here costs at least."""

    PATH = "/derivatives/api/v3/sendorder"

    def __init__(self, port: int, key: str, secret: str) -> None:
        self.url = f"http://127.0.0.1:{port}{self.PATH}"
        self.key, self.secret = key, secret
        self.nonces = nonce_owner(key)
        self.session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=4, keepalive_timeout=15.0))

    async def one(self, i: int) -> float:
        assert self.session is not None
        t0 = time.perf_counter_ns()
        body = encode_params({"orderType": "post", "symbol": "PF_XBTUSD", "side": "buy", "size": "0.001",
                              "limitPrice": str(20000 + i % 500), "cliOrdId": f"floor.{i}"})
        nonce = self.nonces.next()
        headers = {"APIKey": self.key, "Authent": auth.rest_authent(self.secret, body, nonce, self.PATH),
                   "Nonce": nonce, "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
        async with self.session.post(self.url, data=body.encode(), headers=headers) as resp:
            raw = await resp.read()
        took = (time.perf_counter_ns() - t0) / 1e3
        if orjson.loads(raw).get("sendStatus", {}).get("status") != "placed":
            raise RuntimeError(f"floor order {i} not placed: {raw[:200]!r}")
        return took

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


BenchPath = RouterPath | CcxtPath | FloorPath


async def measure(paths: dict[str, BenchPath], rest: KrakenRest, n: int, warm: int,
                  rounds: int) -> dict[str, list[float]]:
    """``warm`` unmeasured orders per path, then ``n`` measured ones per path in ``rounds``
    interleaved rounds (the order of the paths rotates), so that a shared machine's load
    changes weigh on every path alike. Before each round the simulator's book is emptied
    (``cancelallorders``): its cost per order grows with the orders resting, which made
    whichever path ran later look slower."""
    for p in paths.values():
        await p.open()
    out: dict[str, list[float]] = {name: [] for name in paths}
    try:
        for p in paths.values():
            for i in range(warm):
                await p.one(i)
        names = list(paths)
        per_round = max(1, n // rounds)
        for r in range(rounds):
            (await rest.post("cancelallorders")).raise_for_error()
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                first = warm + r * per_round
                for i in range(first, first + per_round):
                    out[name].append(await paths[name].one(i))
    finally:
        for p in paths.values():
            await p.close()
    return out


async def run_paths(paths: dict[str, BenchPath], base_url: str, key: str, secret: str, n: int, warm: int,
                    rounds: int) -> dict[str, list[float]]:
    rest = KrakenRest(base_url, key, secret)
    try:
        return await measure(paths, rest, n, warm, rounds)
    finally:
        await rest.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=10, help="interleaved rounds the orders are split into")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kgw-bench-"))
    sport, smport, o, p, d, m = (free_port() for _ in range(6))
    key, secret = fresh_credentials()
    env = {"KRAKEN_FUTURES_API_KEY": key, "KRAKEN_FUTURES_API_SECRET": secret, "LOG": "WARNING"}
    sim_cfg = write_config(tmp, f"[sim]\nport = {sport}\nmetrics_port = {smport}\nbook_rate = 0.0\n"
                                f"trade_rate = 0.0\nrate_budget = 1e12\nlog_level = \"WARNING\"\n", "sim.toml")
    router_cfg = write_config(tmp, f"""
[gateway]
rest_url = "http://127.0.0.1:{sport}/derivatives/api/v3"
[bus]
router_orders = "tcp://127.0.0.1:{o}"
router_pub = "tcp://127.0.0.1:{p}"
dropcopy_pub = "tcp://127.0.0.1:{d}"
[accounts.main]
[router]
metrics_port = {m}
log_level = "WARNING"
curve = false
rate_budget = 1e12
dms_refresh = 60.0
dms_timeout = 120
client_timeout = 600.0
[router.users.dev]
accounts = ["main"]
""", "router.toml")
    with KgwProcess("sim", "--config", str(sim_cfg), health_url=f"http://127.0.0.1:{smport}/health", env=env), \
         KgwProcess("router", "--config", str(router_cfg), health_url=f"http://127.0.0.1:{m}/health", env=env):
        warm = max(50, args.orders // 20)
        paths: dict[str, BenchPath] = {"router": RouterPath(f"tcp://127.0.0.1:{o}"),
                                       "ccxt": CcxtPath(sport, key, secret), "floor": FloorPath(sport, key, secret)}
        got = asyncio.run(run_paths(paths, f"http://127.0.0.1:{sport}/derivatives/api/v3", key, secret,
                                    args.orders, warm, args.rounds))
        rt, cc, fl = got["router"], got["ccxt"], got["floor"]
        time.sleep(1.2)  # the router publishes its probe figures once a second
        with urllib.request.urlopen(f"http://127.0.0.1:{m}/health") as r:
            inside = json.loads(r.read())["details"].get("latency", {})
    print(f"orders per path: {len(rt)} (after {warm} warm-up), post-only limits, one at a time, "
          f"paths interleaved in {args.rounds} rounds")
    print(f"{'inside router: read -> REST call handed to aiohttp':<46} n={inside.get('n', 0):>5}  "
          f"p50={inside.get('p50_us', float('nan')):8.1f} us  p99={inside.get('p99_us', float('nan')):8.1f} us"
          "  (last 10k incl. warm-up)")
    print(line("router: CreateOrder -> ACCEPTED (via sim)", rt))
    print(line("ccxt krakenfutures.create_order (same sim)", cc))
    print(line("floor: bare signed aiohttp POST (same sim)", fl))
    for name, base in (("ccxt", cc), ("floor", fl)):
        p50, p99 = pct(rt, 0.5) / pct(base, 0.5), pct(rt, 0.99) / pct(base, 0.99)
        print(f"round trip ratio router/{name}: p50 {p50:.2f}  p99 {p99:.2f}")
    print(f"floor/ccxt: p50 {pct(fl, 0.5) / pct(cc, 0.5):.2f}  (the best ratio any aiohttp client could reach)")


if __name__ == "__main__":
    main()
