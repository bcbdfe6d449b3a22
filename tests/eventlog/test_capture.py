"""End to end: real publishers (our Publisher, in their own processes) with holes and a
restart, a real ``kgw eventlog``, and an independent subscriber on the same sockets. The log
must hold exactly what the subscriber saw, in order, with every hole and restart recorded,
and ``kgw log verify`` must pass."""

from __future__ import annotations

import json
import re
import stat
from collections import defaultdict
from pathlib import Path
from typing import Any

from common.eventlog.records import Kind
from tests.eventlog.harness import (
    BusRecorder,
    Ports,
    eventlog_config,
    eventlog_process,
    events,
    finish,
    kgw_log,
    messages_by_publisher,
    read_log,
    split_streams,
    start_publisher,
)
from tests.eventlog.publisher_proc import message

SYMBOLS = ["PF_XBTUSD", "PF_ETHUSD"]


def expected_gaps(count: int, skipped: set[int], session: str) -> set[tuple[str, str, int, int]]:
    """(topic, session, expected, received) of the holes publisher_proc leaves by skipping:
    on each topic, a run of skipped seqs is one hole, from its first seq to the next sent."""
    seq: dict[str, int] = defaultdict(int)
    hole: dict[str, int] = {}
    gaps = set()
    for i in range(count):
        t = message(i, SYMBOLS, "main")[0]
        seq[t] += 1
        if i in skipped:
            hole.setdefault(t, seq[t])
        elif t in hole:
            gaps.add((t, session, hole.pop(t), seq[t]))
    return gaps


def until_done(msgs: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Drop what a session sent after its "done" marker (heartbeats racing the close)."""
    done: set[str] = set()
    out = []
    for topic, payload in msgs:
        body: dict[str, Any] = json.loads(payload)
        if body["session"] in done:
            continue
        out.append((topic, payload))
        if body["type"] == "GatewayStatus" and body.get("text") == "done":
            done.add(body["session"])
    return out


def test_log_holds_what_a_subscriber_saw_with_gaps_and_restarts(tmp_path: Path) -> None:
    ports = Ports()
    logdir = tmp_path / "log"
    cfg = eventlog_config(tmp_path, ports, logdir, segment_max_mb=0.05, flush_ms=5, fsync_ms=50)
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with eventlog_process(cfg, ports) as writer:
        recorder = BusRecorder(ports.publishers())
        common: dict[str, Any] = {"wait_subs": 2, "symbols": ",".join(SYMBOLS)}
        plan: dict[str, dict[str, Any]] = {
            "feed": {"count": 3000, "rate": 10000, "gap_at": "500,1500,1501"},
            "router": {"count": 800, "rate": 4000, "gap_at": "300"},
            "dropcopy": {"count": 800, "rate": 4000},
            "strategy": {"count": 300, "rate": 2000},
        }
        procs = {
            name: start_publisher(name, ports.publishers()[name], tmp_path / f"{name}-1.json", **common, **opts)
            for name, opts in plan.items()
        }
        for name, proc in procs.items():
            runs[name].append(finish(proc, tmp_path / f"{name}-1.json"))
        # the feed restarts on the same endpoint: a new session, and a hole in it too
        again = {"count": 1000, "rate": 10000, "gap_at": "10"}
        proc = start_publisher("feed", ports.feed, tmp_path / "feed-2.json", **common, **again)
        runs["feed"].append(finish(proc, tmp_path / "feed-2.json"))
        plan["feed-2"] = again
        recorder.close()
        assert writer.stop() == 0, writer.output()

    for name, rs in runs.items():
        for r in rs:
            assert r["subs"] == 2 and r["dropped"] == 0, (name, r)

    log = read_log(logdir)
    in_log = messages_by_publisher(log)
    seen = split_streams(recorder.seen)
    assert set(in_log) == set(seen)
    for key, msgs in seen.items():
        assert until_done(in_log[key]) == until_done(msgs), key
        assert len(msgs) > 10

    # private topics only in the private stream, and nothing private in the public one
    assert all(r.topic.startswith(b"oms.") for r in log["private"] if r.kind == Kind.MESSAGE)
    assert not any(r.topic.startswith(b"oms.") for r in log["public"] if r.kind == Kind.MESSAGE)

    # every hole is recorded where it happened, as a bus gap
    gaps = {(g["topic"], g["session"], g["expected"], g["received"]) for g in events(log, Kind.GAP)}
    want = set()
    for service, run_key in (("feed", "feed"), ("router", "router"), ("feed", "feed-2")):
        run = runs[service][1 if run_key == "feed-2" else 0]
        skipped = {int(x) for x in str(plan[run_key].get("gap_at", "")).split(",") if x}
        want |= expected_gaps(int(plan[run_key]["count"]), skipped, run["session"])
    assert len(want) == 5 and gaps == want
    assert all(g["cause"] == "bus" for g in events(log, Kind.GAP))

    # the feed restart is recorded with both sessions
    sessions = {(s["source"], s["session"], s["old_session"]) for s in events(log, Kind.SESSION)}
    assert ("feed", runs["feed"][1]["session"], runs["feed"][0]["session"]) in sessions

    # small segments: the log rotated, and closed segments were compressed
    names = [p.name for p in (logdir / "public").iterdir()]
    assert sum(n.endswith(".zst") for n in names) >= 1, names

    # access differs: private files are owner-only
    assert stat.S_IMODE((logdir / "private").stat().st_mode) == 0o700
    for p in (logdir / "private").iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600

    result = kgw_log("verify", str(logdir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "public: OK" in result.stdout and "private: OK" in result.stdout
    assert sum(int(n) for n in re.findall(r"(\d+) gaps", result.stdout)) == 5
