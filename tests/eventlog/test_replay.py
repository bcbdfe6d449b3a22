"""``kgw log replay`` republishes a recorded session byte for byte, in order, at the recorded
pace or as fast as possible, so a client can be tested against the past."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from common.bus import BusEvent, Header, Received
from common.eventlog.diskwriter import DurabilityPolicy
from common.eventlog.planner import RotationPolicy
from common.eventlog.writer import LogWriter, identity
from common.messages import encode
from tests.eventlog.harness import BusRecorder, wait_until
from tests.eventlog.publisher_proc import message
from tests.support.processes import REPO, free_port

SYMBOLS = ["PF_XBTUSD", "PF_ETHUSD"]


def recorded_session(d: Path, n: int, span_s: float) -> list[tuple[bytes, bytes]]:
    """Write a log of n real messages received evenly over span_s seconds; what was sent."""
    w = LogWriter(d, identity("w"), RotationPolicy(max_bytes=20_000, compress=True), DurabilityPolicy())
    w.start()
    t0 = time.time_ns()
    seqs: dict[str, int] = {}
    sent = []
    items: list[Received | BusEvent] = []
    for i in range(n):
        topic, msg = message(i, SYMBOLS, "main")
        seqs[topic] = seqs.get(topic, 0) + 1
        msg.source, msg.session, msg.seq, msg.send_time = "feed", "sess1", seqs[topic], t0 + i
        payload = encode(msg)
        t = t0 + int(i * span_s * 1e9 / max(n - 1, 1))
        items.append(
            Received(topic.encode(), payload, Header(type(msg).__name__, "feed", "sess1", seqs[topic]), t, "feed")
        )
        sent.append((topic.encode(), payload))
    w.put(w.ingest(items))
    assert w.stop()
    return sent


def replay(d: Path, *args: str, expect: int) -> list[tuple[bytes, bytes]]:
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "log", "replay", str(d), "--endpoint", endpoint, *args],
        cwd=REPO,
    )
    time.sleep(0.3)
    rec = BusRecorder({"replay": endpoint})
    try:
        wait_until(lambda: len(rec.seen["replay"]) >= expect, 30, f"{expect} replayed messages", 0.01)
        assert proc.wait(30) == 0
        time.sleep(0.2)  # anything extra would show up now
    finally:
        rec.close()
        proc.kill()
    return rec.seen["replay"]


def test_replay_as_fast_as_possible_reproduces_every_message_exactly(tmp_path: Path) -> None:
    sent = recorded_session(tmp_path, 3000, 1.0)
    got = replay(tmp_path, "--speed", "0", expect=len(sent))
    assert got == sent


def test_replay_filters_by_topic(tmp_path: Path) -> None:
    sent = recorded_session(tmp_path, 500, 0.1)
    private = [m for m in sent if m[0].startswith(b"oms.")]
    got = replay(tmp_path, "--speed", "0", "--topic", "oms.", expect=len(private))
    assert got == private and 0 < len(private) < len(sent)


def test_replay_keeps_the_recorded_pace(tmp_path: Path) -> None:
    sent = recorded_session(tmp_path, 200, 1.0)
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "log", "replay", str(tmp_path), "--endpoint", endpoint],
        cwd=REPO,
    )
    rec = BusRecorder({"replay": endpoint})
    try:
        wait_until(lambda: len(rec.seen["replay"]) >= 1, 20, "the first replayed message", 0.002)
        t_first = time.monotonic()
        wait_until(lambda: len(rec.seen["replay"]) >= len(sent), 20, "every replayed message", 0.002)
        took = time.monotonic() - t_first
        assert proc.wait(20) == 0
    finally:
        rec.close()
        proc.kill()
    assert rec.seen["replay"] == sent
    assert took > 0.85, took  # recorded over 1.0 s: replayed over about as long, not at once
