"""``kgw log cat`` and ``kgw log stats`` on a log of known content, run as real commands."""

from __future__ import annotations

import json
import time
from pathlib import Path

from common.bus import BusEvent, EventKind, Header, Received
from common.eventlog.diskwriter import DurabilityPolicy
from common.eventlog.planner import RotationPolicy
from common.eventlog.writer import LogWriter, identity
from tests.eventlog.harness import kgw_log

T0 = 1_795_000_000_000_000_000
S = 10**9


def known_log(d: Path) -> None:
    """30 TopOfBook on md.x.A.tob. (one a second from T0), a hole before the 21st, 10
    OrderUpdate on oms.x.main.order., and a SILENT event."""
    w = LogWriter(d, identity("w"), RotationPolicy(max_bytes=2000, compress=True), DurabilityPolicy())
    w.start()
    items: list[Received | BusEvent] = []
    for i in range(30):
        seq = i + 1 if i < 20 else i + 6  # 5 missing
        body = b'{"type":"TopOfBook","source":"feed","session":"s","seq":%d,"bid_price":%d}' % (seq, 100 + i)
        items.append(Received(b"md.x.A.tob.", body, Header("TopOfBook", "feed", "s", seq), T0 + i * S, "feed"))
    for i in range(10):
        body = b'{"type":"OrderUpdate","source":"dropcopy","session":"d","seq":%d}' % (i + 1)
        items.append(
            Received(b"oms.x.main.order.", body, Header("OrderUpdate", "dropcopy", "d", i + 1), T0 + i * S, "dropcopy")
        )
    items.append(BusEvent(EventKind.SILENT, "router", text="no message for 3s", time=T0 + 31 * S))
    w.put(w.ingest(items))
    time.sleep(0.2)
    assert w.stop()


def lines(*args: str) -> list[dict[str, object]]:
    r = kgw_log("cat", *args)
    assert r.returncode == 0, r.stderr
    return [json.loads(x) for x in r.stdout.splitlines()]


def test_cat_filters_and_embeds_payloads(tmp_path: Path) -> None:
    known_log(tmp_path)
    d = str(tmp_path)
    tob = lines(d, "--type", "TopOfBook")
    assert [m["seq"] for m in tob] == [*range(1, 21), *range(26, 36)]
    assert all(isinstance(m["payload"], dict) and m["payload"]["type"] == "TopOfBook" for m in tob)
    private = lines(d, "--stream", "private", "--no-events")
    assert [m["topic"] for m in private] == ["oms.x.main.order."] * 10
    window = lines(d, "--topic", "md.x.A.", "--since", str(T0 + 5 * S), "--until", str(T0 + 8 * S), "--no-events")
    assert [m["payload"]["bid_price"] for m in window] == [105, 106, 107]  # type: ignore[index]
    iso = lines(d, "--topic", "md.", "--since", "2026-11-18T07:33:25Z", "--limit", "2")
    assert len(iso) == 2
    merged = lines(d, "--no-events")
    times = [int(m["time"]) for m in merged]  # type: ignore[call-overload]
    assert times == sorted(times) and len(merged) == 40
    kinds = {m["kind"] for m in lines(d)}
    assert {"MESSAGE", "GAP", "SESSION", "SILENT", "CHECKPOINT", "WRITER_START", "SEGMENT_END"} <= kinds


def test_stats_counts_types_topics_and_gaps(tmp_path: Path) -> None:
    known_log(tmp_path)
    r = kgw_log("stats", str(tmp_path), "--progress")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["messages"] == 40
    assert s["messages_by_type"]["TopOfBook"]["count"] == 30
    assert s["messages_by_type"]["OrderUpdate"]["count"] == 10
    assert s["messages_by_topic"] == {"md.x.A.tob.": 30, "oms.x.main.order.": 10}
    assert s["gaps"] == 1 and s["missing_messages"] == 5 and s["gap_causes"] == {"bus": 1}
    assert s["span_s"] == 29.0 and s["rate_per_s"] == round(40 / 29, 1)
    assert "reading" in r.stderr  # the progress bar, asked for
