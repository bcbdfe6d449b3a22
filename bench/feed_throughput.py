"""Feed-handler throughput and added latency, side by side with cryptofeed, on the same stream.

    python bench/feed_throughput.py [--symbols 300] [--deltas 600000] [--paced-rate 10000]
                                    [--paced-seconds 10] [--skip-cryptofeed]

What it does, in one run:

1. Writes two synthetic Kraken Futures sessions in the simulator's recording format (the same
   format the feed's record mode writes): ``--symbols`` PF_ contracts, a 25-level snapshot each,
   then ``--deltas`` contiguous per-product book deltas (valid, never crossed). The throughput
   session is replayed as fast as the client reads it; the paced one at ``--paced-rate``
   messages per second.
2. Starts ``kgw sim`` in replay mode for each session, then, one after the other:
   - ``kgw feed`` (book feed only) and a ZeroMQ SUB here counting the Kraken deltas its
     MarketByPrice INCREMENTAL messages carry (one INCREMENTAL coalesces every delta of its
     symbol since the previous one's ``exchange_seq``): Kraken messages/s at the subscriber,
     and added latency = time the subscriber has it minus ``receive_time`` (when the feed took
     the frame off the WebSocket), same host clock, one sample per Kraken delta;
   - cryptofeed's KrakenFutures feed pointed at the same simulator with its ZeroMQ book backend
     (``BookZMQ``), latency = subscriber time minus cryptofeed's ``receipt_timestamp``.
3. Prints both, their ratio, and the feed process's RSS with ``--symbols`` books loaded; for
   the paced run also a clock that the feed does not set: per delta, subscriber time minus
   the time the session had it due, less the run's minimum. It counts what ``receive_time``
   cannot: time a frame waited inside the feed behind frames read with it (``receive_time``
   is when the feed took the frame; before batching that was after every frame ahead of it
   had been handled). It also counts the simulator's own send jitter (it sleeps ~1 ms and
   writes what came due), so only compare it between runs of this bench.
   ``msg/cpu-s`` divides the messages by the CPU time the handler process used (start-up,
   instruments and snapshots included): its capacity on one core, which stays meaningful when
   other work shares the machine; ``msg/s`` is wall-clock at the subscriber.

Not a pass/fail test: figures for the README. Everything runs on this host: the simulator, the
feed and this subscriber share its cores, so absolute figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec
import orjson
import zmq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.processes import KgwProcess, free_port  # noqa: E402

LEVELS = 25
TICK = 0.5


def names(n: int) -> list[str]:
    """``n`` PF_ symbols with letter-only bases (cryptofeed's symbol parser needs letters)."""
    out = []
    for i in range(n):
        a, b, c = i // 676, (i // 26) % 26, i % 26
        out.append(f"PF_Q{chr(65 + a)}{chr(65 + b)}{chr(65 + c)}USD")
    return out


Schedule = dict[tuple[str, int], float]
"""(symbol, Kraken seq) -> the delta's time in the session (the simulator sends it then)."""


def write_session(path: Path, symbols: list[str], deltas: int, rate: float, seed: int = 7) -> Schedule:
    """A valid session: instruments, snapshots, then ``deltas`` deltas spaced 1/rate s apart;
    returns when each delta is due."""
    schedule: Schedule = {}
    rng = random.Random(seed)
    t0 = time.time()
    instruments = {
        "result": "success",
        "instruments": [
            {
                # lower case, as Kraken answered in 2021: cryptofeed looks product ids up
                # lower-cased, the feed matches any case
                "symbol": s.lower(),
                "type": "flexible_futures",
                "tickSize": TICK,
                "contractSize": 1,
                "tradeable": True,
                "contractValueTradePrecision": 3,
                "maxPositionSize": 1000000.0,
                "marginLevels": [{"numNonContractUnits": 0, "initialMargin": 0.02, "maintenanceMargin": 0.01}],
            }
            for s in symbols
        ],
    }
    books: dict[str, tuple[dict[float, float], dict[float, float], list[int]]] = {}
    with path.open("w") as f:
        f.write(f"http://sim/derivatives/api/v3/instruments -> {t0:.6f}: {orjson.dumps(instruments).decode()}\n")
        for s in symbols:
            bids = {1000.0 - TICK * i: float(rng.randint(1, 50)) for i in range(LEVELS)}
            asks = {1000.5 + TICK * i: float(rng.randint(1, 50)) for i in range(LEVELS)}
            books[s] = (bids, asks, [1])
            snap = {
                "feed": "book_snapshot",
                "product_id": s,
                "timestamp": int(t0 * 1000),
                "seq": 1,
                "tickSize": None,
                "bids": [{"price": p, "qty": q} for p, q in bids.items()],
                "asks": [{"price": p, "qty": q} for p, q in asks.items()],
            }
            f.write(f"{t0:.6f}: {orjson.dumps(snap).decode()}\n")
        for i in range(deltas):
            s = symbols[i % len(symbols)]
            bids, asks, seq = books[s]
            is_bid = rng.random() < 0.5
            side = bids if is_bid else asks
            # bids stay below 1000.5 and asks above 1000, so the book never crosses
            price = (1000.0 - TICK * rng.randint(0, 40)) if is_bid else (1000.5 + TICK * rng.randint(0, 40))
            if price in side and len(side) > 5 and rng.random() < 0.4:
                qty = 0.0
                del side[price]
            else:
                qty = float(rng.randint(1, 50))
                side[price] = qty
            seq[0] += 1
            ts = t0 + (i + 1) / rate
            schedule[(s, seq[0])] = round(ts, 6)
            msg = {
                "feed": "book",
                "product_id": s,
                "side": "buy" if is_bid else "sell",
                "seq": seq[0],
                "price": price,
                "qty": qty,
                "timestamp": int(ts * 1000),
            }
            f.write(f"{ts:.6f}: {orjson.dumps(msg).decode()}\n")
    return schedule


@dataclass
class Result:
    name: str
    messages: int
    seconds: float
    latencies_us: list[float]
    cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0

    @property
    def per_cpu_second(self) -> float:
        """Messages per second of CPU the handler process used: its capacity on one core,
        independent of what else this (shared) machine was doing."""
        return self.messages / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_us:
            return float("nan")
        xs = sorted(self.latencies_us)
        return xs[min(len(xs) - 1, int(q * len(xs)))]


class _Probe(msgspec.Struct):
    update_type: str = ""
    receive_time: int = 0
    exchange_seq: int = 0


_probe = msgspec.json.Decoder(_Probe)


def drain(sock: zmq.Socket[bytes], parse: object, expected: int, quiet: float, timeout: float) -> Result:
    """Receive until ``expected`` messages or ``quiet`` s of silence after the first one."""
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    count = 0
    first = last = 0.0
    lat: list[float] = []
    deadline = time.monotonic() + timeout
    assert callable(parse)
    while time.monotonic() < deadline and count < expected:
        if not poller.poll(int(quiet * 1000)):
            if count:
                break
            continue
        while True:
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            now = time.time_ns()
            got = parse(frames, now)
            if got is None:
                continue
            latency, n = got
            if not count:
                first = time.monotonic()
            count += n
            last = time.monotonic()
            lat.extend([latency] * n)
    return Result("", count, last - first, lat)


class OursParser:
    """(latency us, Kraken deltas carried) of each INCREMENTAL: the advance of its topic's
    ``exchange_seq`` over the previous MarketByPrice (every bench delta is a valid one).

    With ``schedule``, also ``wire_us``: per delta, subscriber time minus the time the session
    had it due (clock offset of the replay included: see :func:`wire_latency`)."""

    def __init__(self, schedule: Schedule | None = None) -> None:
        self.last_seq: dict[bytes, int] = {}
        self.schedule = schedule
        self.wire_us: list[float] = []

    def __call__(self, frames: list[bytes], now: int) -> tuple[float, int] | None:
        if len(frames) != 2 or b".mbp." not in frames[0]:
            return None
        p = _probe.decode(frames[1])
        prev = self.last_seq.get(frames[0])
        self.last_seq[frames[0]] = p.exchange_seq
        if p.update_type != "INCREMENTAL":
            return None
        first = p.exchange_seq if prev is None else prev + 1
        if self.schedule is not None:
            symbol = frames[0].split(b".")[2].decode()
            t = now / 1e3
            self.wire_us.extend(t - self.schedule[(symbol, q)] * 1e6 for q in range(first, p.exchange_seq + 1))
        return (now - p.receive_time) / 1000.0, p.exchange_seq - first + 1


def wire_latency(wire_us: list[float]) -> tuple[float, float, float]:
    """p50 / p90 / p99 of subscriber time minus due time, less the run's minimum (the replay
    starts at an unknown offset; the minimum is the best case of sim + feed + bus). Unlike
    ``receive_time`` it also counts time a frame waited inside the feed behind frames that
    arrived with it, and the simulator's own send jitter (same for every contender)."""
    xs = sorted(wire_us)
    n = len(xs)
    return xs[n // 2] - xs[0], xs[min(n - 1, n * 9 // 10)] - xs[0], xs[min(n - 1, n * 99 // 100)] - xs[0]


def parse_cryptofeed(frames: list[bytes], now: int) -> tuple[float, int] | None:
    raw = frames[0]
    if b'"delta"' not in raw:
        return None
    data = orjson.loads(raw.split(b" ", 1)[1])
    return (now / 1e9 - float(data["receipt_timestamp"])) * 1e6, 1


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


class Sim:
    """``kgw sim`` replaying one session file."""

    def __init__(self, workdir: Path, session: Path, speed: float) -> None:
        self.port = free_port()
        self.metrics = free_port()
        self.workdir = workdir
        cfg = workdir / f"sim-{self.port}.toml"
        cfg.write_text(
            f'[sim]\nport = {self.port}\nmetrics_port = {self.metrics}\nreplay_file = "{session}"\n'
            f"replay_speed = {speed}\nlog_level = \"WARNING\"\n"
        )
        self.proc = KgwProcess(
            "sim", "--config", str(cfg), health_url=f"http://127.0.0.1:{self.metrics}/health", ready_timeout=120
        )

    def __enter__(self) -> Sim:
        self.proc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.stop()


def run_ours(
    sim: Sim, workdir: Path, expected: int, timeout: float, ipc: bool = False, schedule: Schedule | None = None
) -> tuple[Result, tuple[float, float], list[float]]:
    pub, snap, metrics = free_port(), free_port(), free_port()
    endpoint = f"ipc://{workdir}/feed-{pub}.pub" if ipc else f"tcp://127.0.0.1:{pub}"
    cfg = workdir / f"feed-{pub}.toml"
    cfg.write_text(
        f'[gateway]\nrest_url = "http://127.0.0.1:{sim.port}/derivatives/api/v3"\n'
        f'ws_url = "ws://127.0.0.1:{sim.port}/ws/v1"\n'
        f'[bus]\nfeed_pub = "{endpoint}"\nfeed_snapshot = "tcp://127.0.0.1:{snap}"\n'
        f'[feed]\nmetrics_port = {metrics}\nfeeds = ["book"]\nlog_level = "WARNING"\n'
        "[feed.silence_timeouts]\nbook = 0.0\nticker = 0.0\ntrade = 0.0\n"
        "[feed.stream]\nsilence_timeout = 0.0\n"
    )
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.setsockopt(zmq.RECONNECT_IVL, 5)
    sock.setsockopt(zmq.SUBSCRIBE, b"md.")
    sock.connect(endpoint)
    feed = KgwProcess("feed", "--config", str(cfg))  # no health wait: the replay starts at once
    feed.start()
    try:
        assert feed.proc is not None
        parser = OursParser(schedule)
        result = drain(sock, parser, expected, quiet=2.0, timeout=timeout)
        mem = rss_mb(feed.proc.pid)
        result.cpu_seconds = cpu_seconds(feed.proc.pid)
    finally:
        feed.stop()
        sock.close(0)
    result.name = "kgw feed"
    return result, mem, parser.wire_us


CRYPTOFEED_CHILD = r"""
import sys
from cryptofeed import FeedHandler
from cryptofeed.backends.zmq import BookZMQ
from cryptofeed import connection
from cryptofeed.connection import RestEndpoint, Routes, WebsocketEndpoint
from cryptofeed.defines import L2_BOOK
from cryptofeed.exchanges import KrakenFutures

sim_port, zmq_port = int(sys.argv[1]), int(sys.argv[2])

# cryptofeed insists on wss://; the simulator serves both sides plain ws:// on loopback (no
# TLS for either contender), so let the address through unchanged
_init = connection.WSAsyncConn.__init__
def _plain_ws(self, address, *args, **kwargs):
    _init(self, "wss://" + address.removeprefix("ws://"), *args, **kwargs)
    self.address = address
connection.WSAsyncConn.__init__ = _plain_ws

class SimKrakenFutures(KrakenFutures):
    websocket_endpoints = [WebsocketEndpoint(f"ws://127.0.0.1:{sim_port}/ws/v1")]
    rest_endpoints = [RestEndpoint(f"http://127.0.0.1:{sim_port}",
                                   routes=Routes("/derivatives/api/v3/instruments"))]

fh = FeedHandler(config={"log": {"disabled": True}})
symbols = SimKrakenFutures.symbols()
fh.add_feed(SimKrakenFutures(symbols=symbols, channels=[L2_BOOK],
                             callbacks={L2_BOOK: BookZMQ(port=zmq_port, snapshot_interval=10**9)}))
fh.run()
"""


def run_cryptofeed(sim: Sim, workdir: Path, expected: int, timeout: float) -> Result:
    port = free_port()
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    sock = ctx.socket(zmq.SUB)  # cryptofeed's PUB connects, so the subscriber binds
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.bind(f"tcp://127.0.0.1:{port}")
    script = workdir / "cryptofeed_child.py"
    script.write_text(CRYPTOFEED_CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), str(sim.port), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        result = drain(sock, parse_cryptofeed, expected, quiet=3.0, timeout=timeout)
        result.cpu_seconds = cpu_seconds(child.pid)
    finally:
        child.terminate()
        try:
            _, err = child.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            _, err = child.communicate()
        sock.close(0)
    if result.messages == 0:
        print("cryptofeed produced nothing; its stderr:\n" + err.decode(errors="replace")[-3000:])
    result.name = "cryptofeed+ZMQ"
    return result


def show(title: str, rows: list[Result], expected: int) -> None:
    print(f"\n{title}")
    print(
        f"{'':16} {'received':>9} {'of':>9} {'msg/s':>9} {'msg/cpu-s':>10} {'p50 us':>9} {'p90 us':>9}"
        f" {'p99 us':>9} {'p99.9 us':>9}"
    )
    for r in rows:
        print(
            f"{r.name:16} {r.messages:9d} {expected:9d} {r.rate:9.0f} {r.per_cpu_second:10.0f} {r.pct(0.5):9.1f}"
            f" {r.pct(0.9):9.1f} {r.pct(0.99):9.1f} {r.pct(0.999):9.1f}"
        )
    if len(rows) == 2 and rows[1].rate:
        print(
            f"ratio kgw feed / cryptofeed: {rows[0].rate / rows[1].rate:.1f}x msg/s, "
            f"{rows[0].per_cpu_second / max(rows[1].per_cpu_second, 1e-9):.1f}x msg per CPU-second"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--symbols", type=int, default=300)
    ap.add_argument("--deltas", type=int, default=600_000)
    ap.add_argument("--paced-rate", type=float, default=10_000.0)
    ap.add_argument("--paced-seconds", type=float, default=10.0)
    ap.add_argument("--skip-cryptofeed", action="store_true")
    ap.add_argument("--ipc", action="store_true", help="feed PUB on ipc:// instead of tcp:// loopback")
    args = ap.parse_args()
    os.chdir(REPO)
    symbols = names(args.symbols)
    with tempfile.TemporaryDirectory(prefix="feed-bench-") as tmp:
        work = Path(tmp)
        fast, paced = work / "fast.txt", work / "paced.txt"
        n_paced = int(args.paced_rate * args.paced_seconds)
        t = time.monotonic()
        write_session(fast, symbols, args.deltas, rate=1e6)
        schedule = write_session(paced, symbols, n_paced, rate=args.paced_rate)
        print(
            f"sessions: {args.symbols} symbols x {LEVELS} levels/side; {args.deltas} deltas as fast as possible; "
            f"{n_paced} deltas at {args.paced_rate:.0f}/s (written in {time.monotonic() - t:.1f}s)"
        )
        with Sim(work, fast, 0.0) as sim:
            ours, (rss, hwm), _ = run_ours(sim, work, args.deltas, timeout=180, ipc=args.ipc)
            rows = [ours]
            if not args.skip_cryptofeed:
                rows.append(run_cryptofeed(sim, work, args.deltas, timeout=300))
        show("as fast as possible (book deltas; latency includes queueing under overload)", rows, args.deltas)
        print(f"kgw feed RSS with {args.symbols} books: {rss:.0f} MB (peak {hwm:.0f} MB)")
        with Sim(work, paced, 1.0) as sim:
            ours, _, wire = run_ours(
                sim, work, n_paced, timeout=args.paced_seconds + 60, ipc=args.ipc, schedule=schedule
            )
            rows = [ours]
            if not args.skip_cryptofeed:
                rows.append(run_cryptofeed(sim, work, n_paced, timeout=args.paced_seconds + 120))
        title = f"paced at {args.paced_rate:.0f} msg/s (added latency: frame received -> subscriber has it)"
        show(title, rows, n_paced)
        if rows[0].latencies_us:
            print(f"kgw feed mean added latency {statistics.fmean(rows[0].latencies_us):.1f} us")
        if wire:
            p50, p90, p99 = wire_latency(wire)
            print(
                "kgw feed due in session -> subscriber, less its minimum: "
                f"p50 / p90 / p99 {p50:.0f} / {p90:.0f} / {p99:.0f} us"
            )


if __name__ == "__main__":
    main()
