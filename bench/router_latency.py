"""Order-entry latency through ``kgw router`` vs ccxt, against the same simulator.

Prints, in one run:

1. inside the router: request read from the ROUTER socket -> signed REST call handed to the
   HTTP client (p50 / p99, from the router's own probe, ``/health`` details ``latency``);
2. client CreateOrder -> OrderAck ACCEPTED through router + simulator (p50 / p99);
3. ccxt ``krakenfutures.create_order`` -> answer, straight to the same simulator (p50 / p99).

Orders are post-only limits far from the market (they rest; nothing fills), sent one at a
time. The simulator's and the router's rate budgets are raised so the budget does not pace
the run. Usage::

    .venv/bin/python bench/router_latency.py [--orders 2000]
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

from common.bus import DealerClient  # noqa: E402
from common.messages import CreateOrder, OrderAck, OrderType, RequestStatus, Side  # noqa: E402
from tests.support.processes import KgwProcess, free_port, fresh_credentials, write_config  # noqa: E402


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * q))]


def line(name: str, xs: list[float]) -> str:
    return (f"{name:<46} n={len(xs):>5}  p50={pct(xs, 0.5):8.1f} us  p99={pct(xs, 0.99):8.1f} us  "
            f"mean={statistics.fmean(xs):8.1f} us")


async def via_router(endpoint: str, n: int, first_id: int) -> list[float]:
    client = DealerClient(endpoint)
    await client.start()
    out: list[float] = []
    try:
        for i in range(n):
            oid = first_id + i
            req = CreateOrder(account="main", order_id=oid, symbol="PF_XBTUSD", side=Side.BUY,
                              order_type=OrderType.LIMIT, quantity=0.001, price=20000.0 + (i % 500), post_only=True)
            t0 = time.perf_counter_ns()
            client.send(req)
            while True:
                m = await client.recv(5.0)
                if isinstance(m, OrderAck) and m.order_id == oid and m.status is not RequestStatus.FORWARDED:
                    break
            out.append((time.perf_counter_ns() - t0) / 1e3)
            if m.status is not RequestStatus.ACCEPTED:
                raise RuntimeError(f"order {oid} not accepted: {m}")
    finally:
        await client.close()
    return out


async def via_ccxt(port: int, key: str, secret: str, n: int) -> list[float]:
    import ccxt.async_support as ccxt

    base = f"http://127.0.0.1:{port}"
    ex = ccxt.krakenfutures({"apiKey": key, "secret": secret, "enableRateLimit": False})
    ex.urls["api"] = {"public": f"{base}/derivatives/api/", "private": f"{base}/derivatives/api/",
                      "charts": f"{base}/api/charts/", "history": f"{base}/api/history/",
                      "feeschedules": f"{base}/api/feeschedules/"}
    out: list[float] = []
    try:
        await ex.load_markets()
        for i in range(n):
            t0 = time.perf_counter_ns()
            await ex.create_order("BTC/USD:USD", "limit", "buy", 0.001, 20000.0 + (i % 500), {"postOnly": True})
            out.append((time.perf_counter_ns() - t0) / 1e3)
    finally:
        await ex.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=2000)
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
        asyncio.run(via_router(f"tcp://127.0.0.1:{o}", warm, 1))
        asyncio.run(via_ccxt(sport, key, secret, warm))
        rt = asyncio.run(via_router(f"tcp://127.0.0.1:{o}", args.orders, 1_000_000))
        cc = asyncio.run(via_ccxt(sport, key, secret, args.orders))
        time.sleep(1.2)  # the router publishes its probe figures once a second
        with urllib.request.urlopen(f"http://127.0.0.1:{m}/health") as r:
            inside = json.loads(r.read())["details"].get("latency", {})
    print(f"orders per path: {args.orders} (after {warm} warm-up), post-only limits, one at a time")
    print(f"{'inside router: read -> REST call handed to aiohttp':<46} n={inside.get('n', 0):>5}  "
          f"p50={inside.get('p50_us', float('nan')):8.1f} us  p99={inside.get('p99_us', float('nan')):8.1f} us"
          "  (last 10k incl. warm-up)")
    print(line("router: CreateOrder -> ACCEPTED (via sim)", rt))
    print(line("ccxt krakenfutures.create_order (same sim)", cc))
    p50, p99 = pct(rt, 0.5) / pct(cc, 0.5), pct(rt, 0.99) / pct(cc, 0.99)
    print(f"round trip ratio router/ccxt: p50 {p50:.2f}  p99 {p99:.2f}")


if __name__ == "__main__":
    main()
