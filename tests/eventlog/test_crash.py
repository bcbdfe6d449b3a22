"""kill -9 the writer under load, tear its last record, restart it: everything it had made
durable is intact, the torn tail is dropped cleanly, and the hole while it was down is on
disk as GAP records; ``kgw log verify`` accepts the recovered log."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from common.eventlog.reader import resolve
from common.eventlog.records import Kind, encode_event
from common.eventlog.scanner import TailState
from tests.eventlog.harness import (
    Ports,
    eventlog_config,
    eventlog_process,
    finish,
    health,
    kgw_log,
    start_publisher,
    wait_until,
)


def test_kill_9_under_load_then_restart(tmp_path: Path) -> None:
    ports = Ports()
    logdir = tmp_path / "log"
    cfg = eventlog_config(tmp_path, ports, logdir, flush_ms=5, fsync_ms=50)
    out = tmp_path / "feed.json"
    first = eventlog_process(cfg, ports).start()
    pub = start_publisher("feed", ports.feed, out, count=50_000, rate=20_000, wait_subs=1, linger=0.5)
    try:
        wait_until(lambda: health(ports)["details"]["streams"]["public"]["records_durable"] > 5_000, 20, "durable")
        wait_until(lambda: health(ports)["details"]["streams"]["private"]["records_durable"] > 500, 20, "durable")
        details = health(ports)["details"]
        first.kill()  # SIGKILL, under load
        assert first.proc is not None
        first.proc.wait(5)
        session1 = details["session"]
        durable = {s: details["streams"][s]["records_durable"] for s in ("public", "private")}

        # a crash in the middle of a write: half a record after the last good one
        torn = encode_event(Kind.SILENT, time.time_ns(), {"publisher": "feed", "text": "x" * 200})
        crashed: dict[str, tuple[int, str]] = {}
        for stream, stream_segs in resolve([logdir]).items():
            path = stream_segs[-1].path
            crashed[stream] = (stream_segs[-1].index, path.name)
            with path.open("ab") as f:
                f.write(torn[: len(torn) // 2])
        time.sleep(0.5)  # the publisher goes on: the writer misses these
        with eventlog_process(cfg, ports) as second:
            time.sleep(0.8)
            assert second.stop() == 0, second.output()
    finally:
        first.stop()
    result = finish(pub, out)
    assert result["dropped"] == 0

    segs = resolve([logdir])
    for stream in ("public", "private"):
        index, name = crashed[stream]
        old = next(s for s in segs[stream] if s.index == index)
        assert old.name.compressed  # the new writer compressed it once recovered
        recs = list(old.records())
        assert old.header is not None and old.header.writer_session == session1
        assert old.tail is not None and old.tail.state == TailState.TORN
        assert old.tail.torn_bytes >= len(torn) // 2
        # every record the first writer had made durable is there, checksums good
        in_run1 = sum(len(list(s.records())) for s in segs[stream] if s.index < old.index) + len(recs)
        assert in_run1 >= durable[stream], (stream, in_run1, durable)
        # the next segment says what the new writer found
        nxt = next(s for s in segs[stream] if s.index == old.index + 1)
        start = [r for r in nxt.records() if r.kind == Kind.WRITER_START]
        assert len(start) == 1 and start[0].fields is not None
        prev = start[0].fields["previous"]
        assert prev["segment"] == name and prev["state"] == "TORN"
        assert prev["valid_bytes"] == old.tail.valid_bytes
        assert prev["torn_bytes"] == old.tail.torn_bytes

        # the hole while the writer was down: a GAP per topic, from the last seq it had + 1
        last_seq: dict[bytes, int] = {}
        for r in recs:
            if r.kind == Kind.MESSAGE and r.source == "feed":
                last_seq[r.topic] = r.seq
        gaps = {
            g.fields["topic"].encode(): g.fields
            for g in nxt.records()
            if g.kind == Kind.GAP and g.fields is not None and g.fields["cause"] == "writer_start"
        }
        md_topics = [t for t in last_seq if not t.startswith(b"sys.")]
        assert md_topics
        for topic in md_topics:
            assert topic in gaps, topic
            assert gaps[topic]["expected"] == last_seq[topic] + 1
            assert gaps[topic]["received"] > gaps[topic]["expected"]

    result_verify = kgw_log("verify", str(logdir))
    assert result_verify.returncode == 0, result_verify.stdout + result_verify.stderr
    assert "1 crash recoveries" in result_verify.stdout


@pytest.mark.slow
def test_soak_repeated_kill_9_and_restart(tmp_path: Path) -> None:
    """Five kill -9 / restart cycles under steady load (run with ``pytest -m slow``): every
    crash is recovered, every outage recorded, and the whole log verifies."""
    ports = Ports()
    logdir = tmp_path / "log"
    cfg = eventlog_config(tmp_path, ports, logdir, flush_ms=5, fsync_ms=20, segment_max_mb=2)
    out = tmp_path / "feed.json"
    proc = eventlog_process(cfg, ports).start()
    pub = start_publisher("feed", ports.feed, out, count=400_000, rate=20_000, wait_subs=1, linger=0.5)
    try:
        for cycle in range(5):
            time.sleep(1.5)
            proc.kill()
            assert proc.proc is not None
            proc.proc.wait(5)
            time.sleep(0.3 + 0.1 * cycle)
            proc = eventlog_process(cfg, ports).start()
        time.sleep(1.0)
        assert proc.stop() == 0, proc.output()
    finally:
        proc.stop()
        pub.kill()
        pub.wait(10)
    result = kgw_log("verify", str(logdir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 crash recoveries" in result.stdout
