"""How many book messages per second per WebSocket client can ``kgw sim`` deliver?

Method (printed with the figures):

1. Start a real ``kgw sim`` subprocess on loopback with ``book_rate`` far above what it can
   generate (default 5 000 000/s), so the market generator runs flat out; each step is capped
   at ``max_step_messages`` and the achieved rate is the simulator's ceiling.
2. In a separate process, open N aiohttp WebSocket clients (uvloop), subscribe each to ``book``
   for every instrument, wait ``--warmup`` seconds, then count ``book`` messages for
   ``--seconds``. Every message is parsed with orjson and its per-product ``seq`` checked for
   gaps, as a real consumer would.
3. Report messages/s per client and in total, and the simulator's own sent-message counter
   (``sim_ws_messages_sent_total{feed="book"}`` from /metrics) over the same window.

The receiver shares the machine with the simulator, so on small machines the figure is a lower
bound of the simulator's ceiling (the script prints the CPU count). This is a benchmark: it
prints figures and never fails on a threshold.

Usage: python bench/sim_ceiling.py [--clients 1,4] [--seconds 5] [--rate 5000000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import re
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.processes import KgwProcess, free_port, fresh_credentials, write_config  # noqa: E402

SYMBOLS = ["PI_XBTUSD", "PF_XBTUSD", "PF_ETHUSD", "FI_XBTUSD_261225"]


def book_sent(metrics_url: str) -> float:
    with urllib.request.urlopen(metrics_url, timeout=5) as r:
        text = r.read().decode()
    m = re.search(r'^sim_ws_messages_sent_total\{feed="book"\} ([0-9.e+]+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def receiver(ws_url: str, clients: int, warmup: float, seconds: float,
             out: mp.Queue) -> None:
    import aiohttp
    import orjson
    import uvloop

    async def one(session: aiohttp.ClientSession, start: asyncio.Event, stop: asyncio.Event,
                  counts: list[int], gaps: list[int], idx: int) -> None:
        async with session.ws_connect(ws_url, max_msg_size=0, compress=0) as ws:
            await ws.send_str(orjson.dumps({"event": "subscribe", "feed": "book",
                                            "product_ids": SYMBOLS}).decode())
            seqs: dict[str, int] = {}
            while not stop.is_set():
                msg = await ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                d = orjson.loads(msg.data)
                feed = None if "event" in d else d.get("feed")
                if feed == "book":
                    pid = d["product_id"]
                    if seqs.get(pid, d["seq"] - 1) + 1 != d["seq"]:
                        gaps[idx] += 1
                    seqs[pid] = d["seq"]
                    if start.is_set():
                        counts[idx] += 1
                elif feed == "book_snapshot":
                    seqs[d["product_id"]] = d["seq"]

    async def main() -> None:
        start, stop = asyncio.Event(), asyncio.Event()
        counts, gaps = [0] * clients, [0] * clients
        async with aiohttp.ClientSession() as session:
            tasks = [asyncio.create_task(one(session, start, stop, counts, gaps, i))
                     for i in range(clients)]
            await asyncio.sleep(warmup)
            out.put(("start", time.time()))
            start.set()
            t0 = time.perf_counter()
            await asyncio.sleep(seconds)
            stop.set()
            elapsed = time.perf_counter() - t0
            out.put(("done", time.time(), elapsed, list(counts), list(gaps)))
            for t in tasks:
                t.cancel()
            for r in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(r, Exception):
                    print(f"receiver failed: {r!r}", file=sys.stderr)

    uvloop.run(main())


def run(clients_list: list[int], seconds: float, warmup: float, rate: float) -> None:
    port, mport = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_config(Path(tmp), f"""
[sim]
port = {port}
metrics_port = {mport}
book_rate = {rate}
trade_rate = 10.0
log_level = "WARNING"
""")
        key, secret = fresh_credentials()
        env = {"KRAKEN_FUTURES_API_KEY": key, "KRAKEN_FUTURES_API_SECRET": secret}
        metrics_url = f"http://127.0.0.1:{mport}/metrics"
        print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
              f"sim book_rate={rate:.0f}/s (saturating), 4 symbols, receivers: aiohttp+uvloop "
              f"in one separate process, orjson-parsed, seq-checked; window {seconds}s "
              f"after {warmup}s warm-up")
        with KgwProcess("sim", "--config", str(cfg), health_url=f"http://127.0.0.1:{mport}/health",
                        env=env):
            ws_url = f"ws://127.0.0.1:{port}/ws/v1"
            ctx = mp.get_context("spawn")
            for n in clients_list:
                q = ctx.Queue()
                p = ctx.Process(target=receiver, args=(ws_url, n, warmup, seconds, q))
                p.start()
                _, _ = q.get(timeout=warmup + 30)
                sent0, t0 = book_sent(metrics_url), time.perf_counter()
                done = q.get(timeout=seconds + 30)
                sent1, t1 = book_sent(metrics_url), time.perf_counter()
                p.join(timeout=10)
                _, _, elapsed, counts, gaps = done
                per = [c / elapsed for c in counts]
                sent_rate = (sent1 - sent0) / (t1 - t0)
                print(f"{n:>2} client(s): per client {min(per):,.0f}-{max(per):,.0f} book msg/s "
                      f"(mean {sum(per) / n:,.0f}), total received {sum(per):,.0f}/s, "
                      f"sim wrote {sent_rate:,.0f}/s, seq gaps {sum(gaps)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--clients", default="1,4", help="comma-separated client counts")
    ap.add_argument("--seconds", type=float, default=5.0, help="measurement window, seconds")
    ap.add_argument("--warmup", type=float, default=1.5, help="warm-up, seconds")
    ap.add_argument("--rate", type=float, default=5_000_000, help="sim book_rate, msg/s")
    a = ap.parse_args()
    run([int(x) for x in a.clients.split(",")], a.seconds, a.warmup, a.rate)


if __name__ == "__main__":
    main()
