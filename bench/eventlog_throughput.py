"""Event-log writer throughput and size on disk, for a market-data-heavy mix. Prints figures;
never pass/fail.

Run from the repo root::

    . .venv/bin/activate
    python bench/eventlog_throughput.py                        # both parts, about a minute
    python bench/eventlog_throughput.py --part core --messages 3000000
    python bench/eventlog_throughput.py --part bus --rate 300000 --seconds 10

The mix (per message, over 20 symbols): 55% MarketByPrice INCREMENTAL (1-3 changed levels),
30% TopOfBook, 8% TradeSummary, 4% Statistics, 3% private OrderUpdate. Payloads are real
messages encoded by common.messages with prices on a random walk, real nanosecond times and
per-topic seqs; ``--distinct`` of them are generated up front and cycled with their seq and
send_time patched in (the cycle is far longer than zstd's window, so compression sees no
artificial repeats).

Parts:

- core: the writer core alone (LogWriter: continuity, records, CRC, disk thread, write, fsync
  every second) fed with batches of 4096 received messages, as the bus subscriber hands them;
  timed from the first batch until every record is written and fsynced.
- bus: the real thing: ``kgw eventlog`` as its own process and a publisher process sending the
  mix on a PUB socket (XPUB with NODROP: a full HWM is a counted drop, never silent) at
  ``--rate`` messages/s (0 = as fast as it can) for ``--seconds``. The writer's rate is messages
  / (time from the first send until /health reports them all written). Loss is checked in the
  log itself: every message present, no GAP record.

Size: bytes per message of the segments as written, and compressed with zstd at the levels
given (the writer compresses closed segments at ``compression_level``, default 6). With
``--compress-mb N`` the bus part runs with compression on, as in production, rotating every
N MiB so that segments are compressed during the run, and reports the compressed files' size.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import zmq
import zstandard

from common import topics
from common.bus import Header, Received
from common.eventlog.diskwriter import DurabilityPolicy
from common.eventlog.planner import RotationPolicy
from common.eventlog.reader import resolve
from common.eventlog.records import Kind
from common.eventlog.writer import LogWriter, identity
from common.messages import (
    MarketByPrice,
    Message,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    Statistics,
    TopOfBook,
    Trade,
    TradeSummary,
    UpdateType,
    encode,
)
from services.eventlog.service import tune_gc

X = "kraken-futures"
SEQ_MARK = 987654321987654
TIME_MARK = 1234567890123456789
REPO = Path(__file__).resolve().parents[1]


def make_mix(n: int, seed: int = 7) -> list[tuple[bytes, tuple[bytes, bytes, bytes], str]]:
    """n distinct messages: (topic, payload split around seq and send_time, type)."""
    rnd = random.Random(seed)
    symbols = [f"PF_{c}USD" for c in ("XBT", "ETH", "SOL", "XRP", "ADA", "DOT", "LTC", "BCH", "LINK", "AVAX")]
    symbols += [f"PI_{c}USD" for c in ("XBT", "ETH", "SOL", "XRP", "ADA", "DOT", "LTC", "BCH", "LINK", "AVAX")]
    mid = {s: 100.0 * (i + 1) for i, s in enumerate(symbols)}
    t = time.time_ns()
    out = []
    for i in range(n):
        s = rnd.choice(symbols)
        mid[s] = round(max(mid[s] + rnd.gauss(0, 0.05) * mid[s] / 100, 1.0), 1)
        px = mid[s]
        t += rnd.randint(200, 5000)
        r = rnd.random()
        msg: Message
        if r < 0.55:
            kind = "mbp"
            levels = [
                (round(px - rnd.randint(0, 20) * 0.5, 1), round(rnd.random() * 5, 4)) for _ in range(rnd.randint(1, 3))
            ]
            side = rnd.random() < 0.5
            msg = MarketByPrice(
                exchange=X,
                symbol=s,
                update_type=UpdateType.INCREMENTAL,
                bids=levels if side else [],
                asks=[] if side else levels,
                exchange_seq=i,
                exchange_time=t - 900_000,
            )
        elif r < 0.85:
            kind = "tob"
            msg = TopOfBook(
                exchange=X,
                symbol=s,
                bid_price=px,
                bid_quantity=round(rnd.random() * 5, 4),
                ask_price=round(px + 0.5, 1),
                ask_quantity=round(rnd.random() * 5, 4),
                exchange_seq=i,
                exchange_time=t - 900_000,
            )
        elif r < 0.93:
            kind = "trade"
            msg = TradeSummary(
                exchange=X,
                symbol=s,
                exchange_time=t - 900_000,
                trades=[
                    Trade(
                        side=Side.BUY if rnd.random() < 0.5 else Side.SELL,
                        price=px,
                        quantity=round(rnd.random(), 4),
                        trade_id=f"{rnd.getrandbits(64):016x}",
                        exchange_time=t - 900_000,
                    )
                ],
            )
        elif r < 0.97:
            kind = "stats"
            msg = Statistics(
                exchange=X,
                symbol=s,
                index_price=px,
                settlement_price=round(px + 0.1, 1),
                last_price=px,
                funding_rate=round(rnd.gauss(0, 1e-5), 9),
                open_interest=round(rnd.random() * 1e6, 1),
                volume=round(rnd.random() * 1e5, 2),
                exchange_time=t - 900_000,
            )
        else:
            kind = "order"
            msg = OrderUpdate(
                account="main",
                exchange=X,
                symbol=s,
                order_id=i + 1,
                exchange_order_id=f"{rnd.getrandbits(128):032x}",
                side=Side.BUY,
                order_type=OrderType.LIMIT,
                status=OrderStatus.WORKING,
                quantity=1.0,
                remaining_quantity=1.0,
                price=px,
            )
        topic = topics.oms(X, "main", kind) if kind == "order" else topics.md(X, s, kind)
        msg.source, msg.session, msg.seq, msg.send_time, msg.receive_time = (
            "feed",
            "0123456789abcdef",
            SEQ_MARK,
            TIME_MARK,
            t,
        )
        raw = encode(msg)
        a, rest = raw.split(str(SEQ_MARK).encode())
        b, c = rest.split(str(TIME_MARK).encode())
        out.append((topic.encode(), (a, b, c), type(msg).__name__))
    return out


class Stream:
    """Cycles the mix with correct per-topic seqs and current send times."""

    def __init__(self, mix: list[tuple[bytes, tuple[bytes, bytes, bytes], str]]) -> None:
        self.mix = mix
        self.seq: dict[bytes, int] = {}
        self.i = 0

    def next(self) -> tuple[bytes, bytes, int]:
        topic, (a, b, c), _ = self.mix[self.i % len(self.mix)]
        self.i += 1
        seq = self.seq.get(topic, 0) + 1
        self.seq[topic] = seq
        return topic, b"%s%d%s%d%s" % (a, seq, b, time.time_ns(), c), seq


def sizes(logdir: Path, messages: int, levels: list[int]) -> dict[str, float]:
    """Bytes per message: files as the writer left them, uncompressed segments, and the
    segments compressed with zstd at each level."""
    files = [s.path for segs in resolve([logdir]).values() for s in segs]
    plain = []
    for f in files:
        data = f.read_bytes()
        plain.append(zstandard.ZstdDecompressor().decompress(data) if f.name.endswith(".zst") else data)
    out = {
        "on disk": sum(f.stat().st_size for f in files) / messages,
        "raw": sum(len(d) for d in plain) / messages,
    }
    for level in levels:
        cctx = zstandard.ZstdCompressor(level=level)
        out[f"zstd-{level}"] = sum(len(cctx.compress(d)) for d in plain) / messages
    return out


def bench_core(mix: list, messages: int, levels: list[int]) -> None:
    d = Path(tempfile.mkdtemp(prefix="kgw-eventlog-bench-"))
    try:
        stream = Stream(mix)
        batches = []
        for start in range(0, messages, 4096):
            batch = []
            for _ in range(min(4096, messages - start)):
                topic, payload, seq = stream.next()
                batch.append(
                    Received(topic, payload, Header("", "feed", "0123456789abcdef", seq), time.time_ns(), "feed")
                )
            batches.append(batch)
        w = LogWriter(d, identity("bench"), RotationPolicy(compress=False), DurabilityPolicy(fsync_ms=1000))
        w.start()
        tune_gc()  # as kgw eventlog does
        t0 = time.perf_counter()
        for batch in batches:
            ops = w.ingest(batch)
            while True:
                try:
                    w.put(ops)
                    break
                except queue.Full:
                    time.sleep(0.0005)
        t_planned = time.perf_counter() - t0
        assert w.stop(60)
        elapsed = time.perf_counter() - t0
        written = sum(s.records_written for s in w.stats.streams.values())
        print(
            f"core: {messages:,} messages in {elapsed:.2f} s = {messages / elapsed:,.0f} msg/s written and fsynced "
            f"(planning alone {messages / t_planned:,.0f} msg/s); records written {written:,}"
        )
        count_and_size(d, messages, levels)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def count_and_size(d: Path, messages: int, levels: list[int]) -> None:
    n = gaps = payload = 0
    for segs in resolve([d]).values():
        for seg in segs:
            for rec in seg.records():
                if rec.kind == Kind.MESSAGE:
                    n += 1
                    payload += len(rec.payload)
                elif rec.kind == Kind.GAP:
                    gaps += 1
    loss = messages - n
    verdict = "zero loss" if loss == 0 and gaps == 0 else "LOSS"
    print(f"  in the log: {n:,} messages, {gaps} GAP records, loss {loss} ({verdict})")
    sz = sizes(d, n, levels)
    print(
        f"  bytes/message: payload {payload / n:.1f}; segments uncompressed {sz['raw']:.1f}; "
        f"files as the writer left them {sz['on disk']:.1f}; "
        + "; ".join(f"{k} {v:.1f}" for k, v in sz.items() if k.startswith("zstd"))
    )


def publisher(endpoint: str, mix_size: int, messages: int, rate: float, result: mp.Queue) -> None:
    mix = make_mix(mix_size)
    stream = Stream(mix)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.SNDHWM, 1_000_000)
    sock.setsockopt(zmq.XPUB_NODROP, 1)
    sock.setsockopt(zmq.LINGER, 10_000)
    sock.bind(endpoint)
    sock.recv()  # wait for the writer's subscription
    time.sleep(0.2)
    pre = [stream.next() for _ in range(min(messages, 200_000))]
    dropped = 0
    t0 = time.perf_counter()
    result.put(("start", time.time()))
    for i in range(messages):
        topic, payload, _ = pre[i] if i < len(pre) else stream.next()
        try:
            sock.send(topic, zmq.SNDMORE | zmq.NOBLOCK)
            sock.send(payload, zmq.NOBLOCK)
        except zmq.Again:
            dropped += 1
        if rate and i % 1000 == 999:
            ahead = (i + 1) / rate - (time.perf_counter() - t0)
            if ahead > 0:
                time.sleep(ahead)
    elapsed = time.perf_counter() - t0
    result.put(("done", {"sent": messages - dropped, "dropped": dropped, "seconds": elapsed}))
    sock.close()
    ctx.term()


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
        return json.loads(r.read())


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_bus(mix_size: int, messages: int, rate: float, levels: list[int], compress_mb: int = 0) -> None:
    d = Path(tempfile.mkdtemp(prefix="kgw-eventlog-bench-"))
    ep = f"tcp://127.0.0.1:{free_port()}"
    port = free_port()
    cfg = d / "bench.toml"
    cfg.write_text(
        f'[bus]\nfeed_pub = "{ep}"\nrouter_pub = "tcp://127.0.0.1:{free_port()}"\n'
        f'dropcopy_pub = "tcp://127.0.0.1:{free_port()}"\nheartbeat_timeout = 30.0\n'
        f'[eventlog]\nmetrics_port = {port}\ndirectory = "{d / "log"}"\nlog_level = "WARNING"\n'
        + (f"compress = true\nsegment_max_mb = {compress_mb}\n" if compress_mb else "compress = false\n")
    )
    ctx = mp.get_context("spawn")
    result: mp.Queue = ctx.Queue()
    pub = ctx.Process(target=publisher, args=(ep, mix_size, messages, rate, result))
    pub.start()
    writer = subprocess.Popen([sys.executable, "-m", "services.cli", "eventlog", "--config", str(cfg)], cwd=REPO)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health(port)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        kind, t_start = result.get(timeout=120)
        assert kind == "start"
        done = None
        last_written, last_change = 0, time.time()
        while True:
            h = health(port)["details"]
            written = sum(s["records_written"] for s in h["streams"].values())
            if written >= messages:
                t_end = time.time()
                break
            if done is None:
                try:
                    done = result.get_nowait()[1]
                except queue.Empty:
                    pass
            if written != last_written:
                last_written, last_change = written, time.time()
            elif time.time() - last_change > 5:
                t_end = last_change
                print(f"  writer made no progress for 5 s at {written:,} records: {h}")
                break
            time.sleep(0.02)
        if done is None:
            done = result.get(timeout=60)[1]
        pub_rate = messages / done["seconds"]
        print(
            f"bus: publisher offered {messages:,} messages at {'max' if not rate else f'{rate:,.0f}/s'}: "
            f"sent in {done['seconds']:.2f} s ({pub_rate:,.0f} msg/s), dropped at its HWM {done['dropped']:,}"
        )
        took = t_end - t_start
        print(
            f"  kgw eventlog: all written {took:.2f} s after the first send = {messages / took:,.0f} msg/s sustained; "
            f"finished {took - done['seconds']:.2f} s after the publisher"
        )
    finally:
        writer.terminate()
        writer.wait(10)
        pub.join(10)
    count_and_size(d / "log", messages, levels)
    shutil.rmtree(d, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=["core", "bus", "both"], default="both")
    p.add_argument("--messages", type=int, default=2_000_000, help="messages for the core part")
    p.add_argument("--rate", type=float, default=0.0, help="bus part: offered msg/s (0 = as fast as possible)")
    p.add_argument("--seconds", type=float, default=8.0, help="bus part: how long to offer --rate (with --rate)")
    p.add_argument("--bus-messages", type=int, default=2_000_000, help="bus part without --rate: messages to send")
    p.add_argument("--distinct", type=int, default=200_000, help="distinct messages generated up front")
    p.add_argument("--levels", default="1,3,6,9", help="zstd levels to report sizes for")
    p.add_argument(
        "--compress-mb",
        type=int,
        default=0,
        help="bus part: compress as in production (level 6, background), rotating every this many MiB",
    )
    a = p.parse_args()
    levels = [int(x) for x in a.levels.split(",") if x]
    print(f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}")
    if a.part in ("core", "both"):
        t = time.perf_counter()
        mix = make_mix(a.distinct)
        print(f"generated {a.distinct:,} distinct messages in {time.perf_counter() - t:.1f} s")
        bench_core(mix, a.messages, levels)
    if a.part in ("bus", "both"):
        n = int(a.rate * a.seconds) if a.rate else a.bus_messages
        bench_bus(a.distinct, n, a.rate, levels, a.compress_mb)


if __name__ == "__main__":
    main()
