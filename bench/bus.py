"""Benchmark of the bus helpers (common/bus) against raw pyzmq, in the same run. Prints figures;
never pass/fail.

Run from the repo root::

    . .venv/bin/activate
    python bench/bus.py                       # default run, under a minute
    python bench/bus.py --duration 5 --rate 20000

Every case runs its two ends in two separate processes (multiprocessing, spawn) over
tcp://127.0.0.1: the binding end (publisher / ROUTER server) reports its endpoints to this
process, which then starts the connecting end (subscriber / DEALER client). asyncio processes run
on uvloop.

Payloads are MarketByPrice INCREMENTAL messages (one changed bid level) as the feed publishes
them on ``md.kraken-futures.PF_XBTUSD.mbp.``. The raw rows send payloads of the same length: a
16-byte binary prefix (seq, send_time) and padding, so they pay no JSON encode or decode at all.

Cases:

- throughput: the publisher sends as fast as it can for ``--duration`` seconds; the rate is
  measured at the subscriber from its first to its last data message. The subscriber returns
  credits (messages received so far) every ``--credit-every`` messages on a PUSH socket and the
  publisher keeps at most ``--window`` messages in flight, so no high-water mark is ever reached
  and every row must show zero loss, checked by seq on every message.
- latency: the publisher offers ``--rate`` messages/s for ``--latency-duration`` seconds and
  stamps ``send_time`` (time.time_ns) on each; the subscriber takes time.time_ns when the message
  reaches the application loop (for ours: when ``Subscriber.batches()`` yields its batch). Same
  host, same clock. The first ``--warmup`` seconds are not counted.
- round trip: a DEALER sends one request, awaits the echo, ``--roundtrips`` times in a row (one
  in flight), after ``--warmup-roundtrips`` untimed ones.

Rows:

- raw blocking: PUB ``send_multipart`` -> SUB ``recv_multipart`` in a blocking loop.
- raw asyncio naive: PUB two ``send`` calls (SNDMORE) -> zmq.asyncio SUB, one
  ``await recv_multipart()`` per message.
- ours: ``Publisher.publish`` (envelope stamping, per-topic seq, msgspec encode, drop counting,
  heartbeats) -> ``Subscriber.batches()`` (wake-up, NOBLOCK drain, envelope decode, seq/session
  tracking, liveness).
- ours + body decode: the same, and the consumer decodes every payload into a MarketByPrice, as a
  real client does.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import platform
import statistics
import struct
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

import uvloop
import zmq
import zmq.asyncio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.bus import DealerClient, Publisher, Received, RouterServer, Subscriber
from common.bus.sockets import Readable, context
from common.messages import CreateOrder, MarketByPrice, Message, decode, encode
from common.messages.enums import OrderType, Side, UpdateType

TOPIC = "md.kraken-futures.PF_XBTUSD.mbp."
PROBE = "md.kraken-futures.PF_XBTUSD.probe."  # sent until the subscriber answers: slow joiner
END = "md.kraken-futures.PF_XBTUSD.end."  # after the last data message
PREFIX = "md.kraken-futures.PF_XBTUSD."
TOPIC_B, PROBE_B, END_B = TOPIC.encode(), PROBE.encode(), END.encode()

HEAD = struct.Struct("<qq")  # raw payload prefix: seq, send_time (ns)
CREDIT = struct.Struct("<q")  # control frame: messages received so far; READY / DONE below
READY, DONE = 0, -1

HANDSHAKE_TIMEOUT = 10.0  # s: longest wait for the subscriber to see the first probe
PROBE_INTERVAL = 0.01  # s between probes during the handshake
DRAIN_TIMEOUT = 15.0  # s: longest wait, after the last message, for the subscriber to finish
RESULT_GRACE = 30.0  # s added to a case's own duration before this process gives up on it
ASYNC_SLEEP_MIN = 0.002  # s: shorter pacing waits use time.sleep (uvloop timers have 1 ms steps)
YIELD_EVERY = 1024  # messages between yields to the event loop (heartbeats) at full speed
PERCENTILES = (50.0, 90.0, 99.0, 99.9)

Result = dict[str, float]


@dataclass(frozen=True)
class Case:
    """One measured pair of processes.

    name: row label. sender: ``multipart`` | ``sndmore`` | ``ours``. receiver: ``blocking`` |
    ``naive`` | ``ours`` | ``ours+decode`` (pub/sub) or ``raw`` | ``ours`` (round trip).
    rate: offered messages/s (0 = as fast as possible). duration: seconds of sending.
    window: most messages in flight (sent, not yet credited). credit_every: messages between
    credits. warmup: seconds of messages left out of latency figures. roundtrips /
    warmup_roundtrips: timed / untimed round trips.
    """

    name: str
    sender: str
    receiver: str
    rate: float = 0.0
    duration: float = 3.0
    window: int = 10_000
    credit_every: int = 1_000
    warmup: float = 0.5
    roundtrips: int = 0
    warmup_roundtrips: int = 0

    @property
    def deadline(self) -> float:
        """Seconds after which either end gives up, whatever happened."""
        return HANDSHAKE_TIMEOUT + self.duration + DRAIN_TIMEOUT


# ---------------------------------------------------------------------------------------------
# payloads


def sample_update() -> MarketByPrice:
    """A MarketByPrice INCREMENTAL like the feed's: one changed bid level."""
    now = time.time_ns()
    return MarketByPrice(
        exchange="kraken-futures",
        symbol="PF_XBTUSD",
        update_type=UpdateType.INCREMENTAL,
        bids=[(67012.5, 1.2345)],
        exchange_seq=123_456_789,
        exchange_time=now,
        receive_time=now,
    )


def payload_size() -> int:
    """Bytes of a stamped sample update, as ``Publisher.publish`` sends it."""
    msg = sample_update()
    msg.source, msg.session, msg.seq, msg.send_time = "bench", "0123456789abcdef", 1_000_000, time.time_ns()
    return len(encode(msg))


def sample_order() -> CreateOrder:
    """The request echoed in the round-trip cases."""
    return CreateOrder(
        account="main",
        order_id=1_000_001,
        request_id="r-1000001",
        symbol="PF_XBTUSD",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=0.01,
        price=67000.5,
    )


# ---------------------------------------------------------------------------------------------
# small helpers shared by every process


def percentile(ordered: list[int], p: float) -> float:
    """Nearest-rank percentile ``p`` (0-100) of an ascending list (nan if empty)."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def latency_figures(samples_ns: list[int], prefix: str) -> Result:
    """p50/p90/p99/p99.9 of ``samples_ns`` in microseconds, keyed ``<prefix>p50`` etc."""
    ordered = sorted(samples_ns)
    out = {f"{prefix}p{p:g}": percentile(ordered, p) / 1000 for p in PERCENTILES}
    out[f"{prefix}samples"] = float(len(ordered))
    return out


def memory_kib() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in KiB, from /proc/self/status."""
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value
    return float(fields["VmRSS"].split()[0]), float(fields["VmHWM"].split()[0])


def bind_any(sock: zmq.Socket[Any]) -> str:
    """Bind ``sock`` to a free loopback port; the endpoint."""
    sock.bind("tcp://127.0.0.1:*")
    return bytes(sock.getsockopt(zmq.LAST_ENDPOINT)).decode()


def tune(sock: zmq.Socket[Any], case: Case) -> None:
    """Linger 0 and high-water marks well above the credit window (never reached)."""
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, case.window * 4)
    sock.setsockopt(zmq.RCVHWM, case.window * 4)


def run_async(coro: Coroutine[Any, Any, Result]) -> Result:
    """Run ``coro`` on uvloop."""
    return uvloop.run(coro)


# ---------------------------------------------------------------------------------------------
# publisher side


@dataclass(frozen=True)
class Wait:
    """What a sending loop must do before going on: sleep ``seconds``, or (``credit``) wait at
    most ``seconds`` for a credit frame; ``seconds == 0`` just yields to the event loop."""

    seconds: float
    credit: bool = False


class Credits:
    """The publisher's end of the control channel (a PULL socket bound beside the data socket)."""

    def __init__(self, sock: zmq.Socket[Any]) -> None:
        self.sock = sock
        self.acked = 0
        self.heard = False
        self.done = False

    def poll(self) -> None:
        """Read every control frame waiting, without blocking."""
        while True:
            try:
                (value,) = CREDIT.unpack(self.sock.recv(zmq.NOBLOCK))
            except zmq.Again:
                return
            self.heard = True
            if value == DONE:
                self.done = True
            self.acked = max(self.acked, value)


class Sending:
    """The publisher's schedule as a generator of waits, shared by the sync and async drivers.

    ``steps`` sends probes until the subscriber answers, data for ``case.duration`` seconds at
    ``case.rate`` (0 = flat out) within the credit window, then the end marker, then waits for
    the subscriber's DONE. Every phase is bounded in time.
    """

    def __init__(self, case: Case, credits: Credits, data: Callable[[], None], marker: Callable[[bytes], None]) -> None:
        self.case = case
        self.credits = credits
        self.data = data
        self.marker = marker
        self.sent = 0
        self.elapsed = 0.0
        self.error = ""

    def _until(self, done: Callable[[], bool], timeout: float, probe: bool) -> Iterator[Wait]:
        deadline = time.perf_counter() + timeout
        while not done() and time.perf_counter() < deadline:
            if probe:
                self.marker(PROBE_B)
            yield Wait(PROBE_INTERVAL, credit=True)
            self.credits.poll()

    def steps(self) -> Iterator[Wait]:
        case, credits = self.case, self.credits
        yield from self._until(lambda: credits.heard, HANDSHAKE_TIMEOUT, probe=True)
        if not credits.heard:
            self.error = "subscriber never answered"
            return
        interval = 1.0 / case.rate if case.rate else 0.0
        start = time.perf_counter()
        end = start + case.duration
        while (now := time.perf_counter()) < end:
            if interval and (delay := start + self.sent * interval - now) > 0:
                yield Wait(delay)
                continue
            if self.sent - credits.acked >= case.window:
                yield Wait(min(end - now, 0.1), credit=True)
                credits.poll()
                continue
            self.data()
            self.sent += 1
            if self.sent % YIELD_EVERY == 0:
                credits.poll()
                yield Wait(0.0)
        self.elapsed = time.perf_counter() - start
        self.marker(END_B)
        yield from self._until(lambda: credits.done, DRAIN_TIMEOUT, probe=False)
        if not credits.done:
            self.error = "subscriber did not finish"

    def result(self) -> Result:
        return {"sent": float(self.sent), "send_rate": self.sent / self.elapsed if self.elapsed else 0.0}

    def drive(self) -> None:
        """Run the schedule with blocking waits."""
        for wait in self.steps():
            if wait.credit:
                self.credits.sock.poll(int(wait.seconds * 1000) + 1)
            elif wait.seconds > 0:
                time.sleep(wait.seconds)

    async def drive_async(self) -> None:
        """Run the schedule without blocking the event loop for more than ``ASYNC_SLEEP_MIN``."""
        readable = Readable(self.credits.sock)
        try:
            for wait in self.steps():
                if wait.credit:
                    await readable.wait(wait.seconds)
                elif wait.seconds >= ASYNC_SLEEP_MIN or wait.seconds == 0:
                    await asyncio.sleep(wait.seconds)
                else:  # sub-ms pacing: a blocking sleep shorter than ASYNC_SLEEP_MIN
                    time.sleep(wait.seconds)  # noqa: ASYNC251
        finally:
            readable.close()


def raw_publisher(conn: Connection, case: Case) -> Result:
    """PUB with ``send_multipart`` or two ``send`` calls; blocking driver."""
    ctx = zmq.Context()
    pub, ctrl = ctx.socket(zmq.PUB), ctx.socket(zmq.PULL)
    tune(pub, case)
    tune(ctrl, case)
    conn.send((bind_any(pub), bind_any(ctrl)))
    buf = bytearray(payload_size())
    seq = 0

    def data() -> None:
        nonlocal seq
        seq += 1
        HEAD.pack_into(buf, 0, seq, time.time_ns())
        if case.sender == "multipart":
            pub.send_multipart((TOPIC_B, buf))
        else:
            pub.send(TOPIC_B, zmq.SNDMORE)
            pub.send(buf)

    def marker(topic: bytes) -> None:
        pub.send_multipart((topic, buf))

    sending = Sending(case, Credits(ctrl), data, marker)
    sending.drive()
    ctx.destroy(0)
    return {**sending.result(), "error": float(bool(sending.error))}


async def ours_publisher(conn: Connection, case: Case) -> Result:
    """``Publisher.publish`` of a MarketByPrice re-stamped each time; async driver."""
    pub = Publisher("bench", "tcp://127.0.0.1:*")
    await pub.start()
    ctrl = pub.sock.context.socket(zmq.PULL)
    tune(ctrl, case)
    conn.send((bytes(pub.sock.getsockopt(zmq.LAST_ENDPOINT)).decode(), bind_any(ctrl)))
    update = sample_update()

    def data() -> None:
        update.exchange_seq += 1
        pub.publish(TOPIC, update)

    def marker(topic: bytes) -> None:
        pub.publish(topic.decode(), sample_update())

    sending = Sending(case, Credits(ctrl), data, marker)
    await sending.drive_async()
    ctrl.close(0)
    await pub.close()
    return {**sending.result(), "dropped": float(pub.dropped), "error": float(bool(sending.error))}


def publisher_main(conn: Connection, case: Case) -> None:
    """Process entry of the publishing end."""
    result = raw_publisher(conn, case) if case.sender != "ours" else run_async(ours_publisher(conn, case))
    conn.send(result)


# ---------------------------------------------------------------------------------------------
# subscriber side


class Tally:
    """What the subscriber counts per data message: seq continuity, latency, credits.

    ``add`` is called once per message by every receiver, so each row pays the same bookkeeping.
    """

    def __init__(self, case: Case, ctrl: zmq.Socket[Any]) -> None:
        self.case = case
        self.ctrl = ctrl
        self.count = 0
        self.expected = 1
        self.missing = 0
        self.disorder = 0
        self.first_ns = 0
        self.last_ns = 0
        self.next_credit = case.credit_every
        self.skip = int(case.rate * case.warmup) if case.rate else -1
        self.latencies: list[int] = []
        self.started = False
        self.cpu0 = 0.0

    def signal(self, value: int) -> None:
        """Send a control frame (blocking at most 1 s: control frames are rare)."""
        try:
            self.ctrl.send(CREDIT.pack(value))
        except zmq.Again:
            pass

    def ready(self) -> None:
        """A probe arrived: tell the publisher to start (once per probe until data flows)."""
        if not self.count:
            self.started = True
            self.cpu0 = time.process_time()
            self.signal(READY)

    def add(self, seq: int, send_ns: int, now_ns: int) -> None:
        if seq != self.expected:
            if seq > self.expected:
                self.missing += seq - self.expected
            else:
                self.disorder += 1
        self.expected = seq + 1
        self.count += 1
        if self.count == 1:
            self.first_ns = now_ns
        self.last_ns = now_ns
        if self.skip >= 0 and seq > self.skip:
            self.latencies.append(now_ns - send_ns)
        if self.count >= self.next_credit:
            self.next_credit += self.case.credit_every
            self.signal(self.count)

    def result(self, rss_start: tuple[float, float]) -> Result:
        self.signal(DONE)
        span = (self.last_ns - self.first_ns) / 1e9
        cpu = time.process_time() - self.cpu0
        rss, peak = memory_kib()
        out = {
            "received": float(self.count),
            "missing": float(self.missing),
            "disorder": float(self.disorder),
            "rate": (self.count - 1) / span if span > 0 else 0.0,
            "cpu_us": cpu / self.count * 1e6 if self.count else math.nan,
            "rss_start_kib": rss_start[0],
            "rss_kib": rss,
            "rss_peak_kib": peak,
        }
        if self.skip >= 0:
            out.update(latency_figures(self.latencies, ""))
        return out


def control_socket(ctx: zmq.Context[Any], endpoint: str, case: Case) -> zmq.Socket[Any]:
    """The subscriber's PUSH end of the control channel."""
    sock = ctx.socket(zmq.PUSH)
    tune(sock, case)
    sock.setsockopt(zmq.SNDTIMEO, 1000)
    sock.connect(endpoint)
    return sock


def raw_sub_socket(ctx: zmq.Context[Any], endpoint: str, case: Case) -> zmq.Socket[Any]:
    sock = ctx.socket(zmq.SUB)
    tune(sock, case)
    sock.setsockopt(zmq.SUBSCRIBE, PREFIX.encode())
    sock.connect(endpoint)
    return sock


def on_raw(tally: Tally, frames: list[bytes]) -> bool:
    """Account one raw message; False once the end marker arrived."""
    topic = frames[0]
    if topic == TOPIC_B:
        seq, send_ns = HEAD.unpack_from(frames[1])
        tally.add(seq, send_ns, time.time_ns())
    elif topic == PROBE_B:
        tally.ready()
    elif topic == END_B:
        return False
    return True


def blocking_subscriber(endpoints: tuple[str, str], case: Case) -> Result:
    """SUB ``recv_multipart`` in a blocking loop (RCVTIMEO bounds each wait)."""
    ctx = zmq.Context()
    sub = raw_sub_socket(ctx, endpoints[0], case)
    sub.setsockopt(zmq.RCVTIMEO, 100)
    tally = Tally(case, control_socket(ctx, endpoints[1], case))
    rss = memory_kib()
    deadline = time.monotonic() + case.deadline
    while time.monotonic() < deadline:
        try:
            frames = sub.recv_multipart()
        except zmq.Again:
            continue
        if not on_raw(tally, frames):
            break
    out = tally.result(rss)
    ctx.destroy(0)
    return out


async def naive_subscriber(endpoints: tuple[str, str], case: Case) -> Result:
    """zmq.asyncio SUB, one ``await recv_multipart()`` per message."""
    actx = zmq.asyncio.Context()
    sub = cast(zmq.asyncio.Socket, raw_sub_socket(actx, endpoints[0], case))
    tally = Tally(case, control_socket(actx, endpoints[1], case))
    rss = memory_kib()

    async def loop() -> None:
        while on_raw(tally, await sub.recv_multipart()):
            pass

    try:
        async with asyncio.timeout(case.deadline):
            await loop()
    except TimeoutError:
        pass
    out = tally.result(rss)
    actx.destroy(0)
    return out


async def ours_subscriber(endpoints: tuple[str, str], case: Case) -> Result:
    """``Subscriber.batches()``; with ``ours+decode`` every payload is also decoded."""
    sub = Subscriber({"bench": endpoints[0]}, [PREFIX], heartbeat_timeout=3.0)
    tally = Tally(case, control_socket(context(), endpoints[1], case))
    full_decode = case.receiver == "ours+decode"
    events: dict[str, float] = {}
    rss = memory_kib()
    await sub.start()

    async def loop() -> None:
        async for batch in sub.batches():
            now = time.time_ns()
            for item in batch:
                if not isinstance(item, Received):
                    events[item.kind.value] = events.get(item.kind.value, 0.0) + 1
                elif item.topic == TOPIC_B:
                    if full_decode:
                        decode(item.payload, MarketByPrice)
                    tally.add(item.header.seq, item.header.send_time, now)
                elif item.topic == PROBE_B:
                    tally.ready()
                elif item.topic == END_B:
                    return

    try:
        async with asyncio.timeout(case.deadline):
            await loop()
    except TimeoutError:
        pass
    out = tally.result(rss)
    await sub.close()
    return {**out, **{f"event_{k}": v for k, v in events.items()}}


def subscriber_main(conn: Connection, endpoints: tuple[str, str], case: Case) -> None:
    """Process entry of the subscribing end."""
    if case.receiver == "blocking":
        result = blocking_subscriber(endpoints, case)
    elif case.receiver == "naive":
        result = run_async(naive_subscriber(endpoints, case))
    else:
        result = run_async(ours_subscriber(endpoints, case))
    conn.send(result)


# ---------------------------------------------------------------------------------------------
# ROUTER / DEALER round trip

STOP_ID = "stop"  # request_id (ours) / payload (raw) that ends the server after its echo


async def raw_server(conn: Connection, case: Case) -> Result:
    """zmq.asyncio ROUTER echoing every frame set with ``await send_multipart``."""
    actx = zmq.asyncio.Context()
    sock = actx.socket(zmq.ROUTER)
    tune(sock, case)
    conn.send((bind_any(sock), ""))
    try:
        async with asyncio.timeout(case.deadline):
            while True:
                frames = await sock.recv_multipart()
                await sock.send_multipart(frames)
                if frames[-1] == STOP_ID.encode():
                    break
    except TimeoutError:
        pass
    actx.destroy(0)
    return {}


async def ours_server(conn: Connection, case: Case) -> Result:
    """``RouterServer`` whose handler replies with the decoded request (re-stamped)."""
    stop = asyncio.Event()
    server: RouterServer

    def echo(peer: bytes, msg: Message) -> None:
        server.reply(peer, msg)
        if getattr(msg, "request_id", "") == STOP_ID:
            stop.set()

    server = RouterServer("bench", "tcp://127.0.0.1:*", echo)
    await server.start()
    conn.send((bytes(server.sock.getsockopt(zmq.LAST_ENDPOINT)).decode(), ""))
    try:
        async with asyncio.timeout(case.deadline):
            await stop.wait()
    except TimeoutError:
        pass
    await asyncio.sleep(0.1)  # let the last reply leave before linger-0 close
    await server.close()
    return {}


async def round_trips(case: Case, ask: Callable[[bool], Coroutine[Any, Any, None]]) -> Result:
    """Time ``case.roundtrips`` calls of ``ask(last=False)`` after the warm-up ones, then one
    ``ask(last=True)`` that stops the server."""
    samples: list[int] = []
    async with asyncio.timeout(case.deadline):
        for i in range(case.warmup_roundtrips + case.roundtrips):
            t0 = time.perf_counter_ns()
            await ask(False)
            if i >= case.warmup_roundtrips:
                samples.append(time.perf_counter_ns() - t0)
        await ask(True)
    return latency_figures(samples, "")


async def raw_client(endpoint: str, case: Case) -> Result:
    """zmq.asyncio DEALER: ``await send`` the encoded request, ``await recv`` the echo."""
    actx = zmq.asyncio.Context()
    sock = actx.socket(zmq.DEALER)
    tune(sock, case)
    sock.connect(endpoint)
    payload = encode(sample_order())

    async def ask(last: bool) -> None:
        await sock.send(STOP_ID.encode() if last else payload)
        await sock.recv()

    try:
        return await round_trips(case, ask)
    finally:
        actx.destroy(0)


async def ours_client(endpoint: str, case: Case) -> Result:
    """``DealerClient.send`` a CreateOrder, ``await recv`` the decoded echo."""
    client = DealerClient(endpoint)
    await client.start()
    order, stop = sample_order(), sample_order()
    stop.request_id = STOP_ID

    async def ask(last: bool) -> None:
        client.send(stop if last else order)
        await client.recv(timeout=case.deadline)

    try:
        return await round_trips(case, ask)
    finally:
        await client.close()


def server_main(conn: Connection, case: Case) -> None:
    """Process entry of the ROUTER end."""
    conn.send(run_async(raw_server(conn, case) if case.sender == "raw" else ours_server(conn, case)))


def client_main(conn: Connection, endpoints: tuple[str, str], case: Case) -> None:
    """Process entry of the DEALER end."""
    endpoint = endpoints[0]
    conn.send(run_async(raw_client(endpoint, case) if case.receiver == "raw" else ours_client(endpoint, case)))


# ---------------------------------------------------------------------------------------------
# orchestration and report


def run_pair(
    binder: Callable[[Connection, Case], None],
    connector: Callable[[Connection, tuple[str, str], Case], None],
    case: Case,
) -> tuple[Result, Result]:
    """Start ``binder`` in a process, then ``connector`` with the endpoints it bound; return
    (binder result, connector result). Both processes are gone when this returns."""
    mp = multiprocessing.get_context("spawn")
    b_here, b_there = mp.Pipe()
    c_here, c_there = mp.Pipe()
    b_proc = mp.Process(target=binder, args=(b_there, case), daemon=True)
    b_proc.start()
    procs = [b_proc]
    timeout = case.deadline + RESULT_GRACE
    try:
        if not b_here.poll(timeout):
            raise RuntimeError(f"{case.name}: no endpoints")
        endpoints = b_here.recv()
        c_proc = mp.Process(target=connector, args=(c_there, endpoints, case), daemon=True)
        c_proc.start()
        procs.append(c_proc)
        results = []
        for here in (c_here, b_here):
            if not here.poll(timeout):
                raise RuntimeError(f"{case.name}: no result")
            results.append(here.recv())
        return results[1], results[0]
    finally:
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.terminate()
                p.join(5)


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def ratio(ours: float | None, other: float | None) -> str:
    if not ours or not other or math.isnan(ours) or math.isnan(other):
        return "-"
    return f"{ours / other:.2f}x"


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    for r in [header, ["-" * w for w in widths], *rows]:
        print(
            "  "
            + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        )


ROWS = (
    ("raw blocking", "multipart", "blocking", "PUB send_multipart -> SUB recv_multipart, blocking; no JSON"),
    ("raw asyncio naive", "sndmore", "naive", "PUB send+SNDMORE -> await recv_multipart per msg; no JSON"),
    ("ours", "ours", "ours", "Publisher.publish (stamp+encode) -> Subscriber.batches (header decode, seq)"),
    ("ours + body decode", "ours", "ours+decode", "as ours, + decode(payload, MarketByPrice) per msg"),
)
RR_ROWS = (
    ("raw zmq.asyncio", "raw", "bytes echo, no JSON"),
    ("ours RouterServer/DealerClient", "ours", "encode+validate+decode both ways, reply stamping"),
)
SECTIONS = ("throughput", "latency", "roundtrip")


def median_result(runs: list[Result]) -> Result:
    """Per-figure median of repeated runs (each figure on its own)."""
    keys = {k for r in runs for k in r}
    return {k: statistics.median(r[k] for r in runs if k in r) for k in keys}


def measure(
    cases: list[Case],
    binder: Callable[[Connection, Case], None],
    connector: Callable[[Connection, tuple[str, str], Case], None],
    repeat: int,
) -> dict[str, tuple[Result, Result]]:
    """Run every case ``repeat`` times, interleaved (so drifting load hits every row alike);
    per case the median (binder result, connector result)."""
    runs: dict[str, list[tuple[Result, Result]]] = {c.name: [] for c in cases}
    for _ in range(repeat):
        for case in cases:
            runs[case.name].append(run_pair(binder, connector, case))
    return {n: (median_result([b for b, _ in r]), median_result([c for _, c in r])) for n, r in runs.items()}


def throughput_section(args: argparse.Namespace, base: Case) -> dict[str, Result]:
    cases = [replace(base, name=n, sender=s, receiver=r, duration=args.duration) for n, s, r, _ in ROWS]
    got = measure(cases, publisher_main, subscriber_main, args.repeat)
    rows = []
    for name, _, _, what in ROWS:
        pub, sub = got[name]
        lost = sub["missing"] + pub.get("dropped", 0.0) + (pub["sent"] - sub["received"])
        rows.append(
            [
                name,
                fmt(sub["rate"]),
                fmt(pub["send_rate"]),
                fmt(sub["received"]),
                fmt(lost),
                fmt(sub["cpu_us"], 2),
                fmt(sub["rss_start_kib"] / 1024, 1),
                fmt(sub["rss_peak_kib"] / 1024, 1),
                what,
            ]
        )
    print_table(
        f"1. Throughput, {args.duration:g} s flat out per row, credit window {args.window:,} msgs; "
        "msg/s measured at the subscriber, lost checked by seq",
        ["row", "msg/s", "sent/s", "received", "lost", "sub CPU us/msg", "sub RSS MiB", "peak MiB", "includes"],
        rows,
    )
    return {name: sub for name, (_, sub) in got.items()}


def latency_section(args: argparse.Namespace, base: Case) -> dict[str, Result]:
    cases = [
        replace(base, name=n, sender=s, receiver=r, rate=args.rate, duration=args.latency_duration)
        for n, s, r, _ in ROWS[:3]
    ]
    got = measure(cases, publisher_main, subscriber_main, args.repeat)
    print_table(
        f"2. Latency send_time -> application, {args.rate:,.0f} msg/s offered for {args.latency_duration:g} s "
        f"(first {args.warmup:g} s left out), microseconds",
        ["row", "p50", "p90", "p99", "p99.9", "samples", "lost", "sub RSS MiB"],
        [
            [
                name,
                *(fmt(r[f"p{p:g}"], 1) for p in PERCENTILES),
                fmt(r["samples"]),
                fmt(r["missing"]),
                fmt(r["rss_kib"] / 1024, 1),
            ]
            for name, (_, r) in got.items()
        ],
    )
    return {name: sub for name, (_, sub) in got.items()}


def roundtrip_section(args: argparse.Namespace, base: Case) -> dict[str, Result]:
    cases = [
        replace(
            base,
            name=n,
            sender=k,
            receiver=k,
            duration=0.0,
            roundtrips=args.roundtrips,
            warmup_roundtrips=args.warmup_roundtrips,
        )
        for n, k, _ in RR_ROWS
    ]
    got = measure(cases, server_main, client_main, args.repeat)
    print_table(
        f"3. ROUTER/DEALER round trip, one in flight, {args.roundtrips:,} timed, microseconds",
        ["row", "p50", "p90", "p99", "p99.9", "includes"],
        [[n, *(fmt(got[n][1][f"p{p:g}"], 1) for p in PERCENTILES), what] for n, _, what in RR_ROWS],
    )
    return {name: client for name, (_, client) in got.items()}


def ratios_section(tput: dict[str, Result], lat: dict[str, Result], rr: dict[str, Result]) -> None:
    rows = []
    if tput:
        ours, naive, block = (tput[n]["rate"] for n in ("ours", "raw asyncio naive", "raw blocking"))
        rows.append(["throughput msg/s", ratio(ours, naive), ratio(ours, block)])
    for p in ("p50", "p99") if lat else ():
        ours, naive, block = (lat[n][p] for n in ("ours", "raw asyncio naive", "raw blocking"))
        rows.append([f"latency {p}", ratio(ours, naive), ratio(ours, block)])
    for p in ("p50", "p99") if rr else ():
        rows.append([f"round trip {p} (vs raw zmq.asyncio)", ratio(rr[RR_ROWS[1][0]][p], rr[RR_ROWS[0][0]][p]), "-"])
    print_table(
        "4. Ratios, ours / other (throughput: higher is better; latency: lower is better)",
        ["figure", "ours vs raw asyncio naive", "ours vs raw blocking"],
        rows,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of sending per throughput row")
    parser.add_argument("--latency-duration", type=float, default=3.0, help="seconds of sending per latency row")
    parser.add_argument("--rate", type=float, default=10_000, help="offered messages/s in the latency rows")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds left out of latency figures")
    parser.add_argument("--roundtrips", type=int, default=3_000, help="timed ROUTER/DEALER round trips per row")
    parser.add_argument("--warmup-roundtrips", type=int, default=300, help="untimed round trips first")
    parser.add_argument("--window", type=int, default=10_000, help="most messages in flight (credit window)")
    parser.add_argument("--credit-every", type=int, default=1_000, help="messages between credits")
    parser.add_argument("--repeat", type=int, default=1, help="runs per row, interleaved; figures are medians")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="what to measure")
    args = parser.parse_args(argv)
    base = Case("", "", "", window=args.window, credit_every=args.credit_every, warmup=args.warmup)
    started = time.perf_counter()
    print(
        f"bus benchmark: python {platform.python_version()}, pyzmq {zmq.__version__}, libzmq {zmq.zmq_version()}, "
        f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}; payload {payload_size()} B; tcp://127.0.0.1; "
        f"repeat {args.repeat}"
    )
    tput = throughput_section(args, base) if "throughput" in args.sections else {}
    lat = latency_section(args, base) if "latency" in args.sections else {}
    rr = roundtrip_section(args, base) if "roundtrip" in args.sections else {}
    ratios_section(tput, lat, rr)
    print(f"\ntotal {time.perf_counter() - started:.1f} s, load now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
