"""The writer core in-process on real files: restart recovery, compression, and verify
catching what it must (silent holes, corruption, missing segments)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from common.bus import BusEvent, EventKind, Header, Received
from common.eventlog.diskwriter import DurabilityPolicy
from common.eventlog.planner import RotationPolicy
from common.eventlog.reader import SegmentFile, resolve
from common.eventlog.records import FRAME, Kind
from common.eventlog.scanner import TailState
from common.eventlog.verify import StreamReport, StreamVerifier
from common.eventlog.writer import LogWriter, identity


def item(topic: bytes, seq: int, session: str = "s1", source: str = "feed") -> Received:
    body = b'{"type":"TopOfBook","source":"%s","session":"%s","seq":%d}' % (source.encode(), session.encode(), seq)
    return Received(topic, body, Header("TopOfBook", source, session, seq, 0), time.time_ns(), source)


def traffic(first: int, last: int, session: str = "s1") -> list[Received | BusEvent]:
    out: list[Received | BusEvent] = []
    for seq in range(first, last + 1):
        out.append(item(b"md.x.A.tob.", seq, session))
        out.append(item(b"oms.x.main.order.", seq, session))
    return out


def writer(d: Path, session: str, max_bytes: int = 0, compress: bool = False) -> LogWriter:
    w = LogWriter(
        d,
        identity(session),
        RotationPolicy(max_bytes=max_bytes, rotate_interval_ns=0, compress=compress),
        DurabilityPolicy(flush_ms=1, fsync_ms=10),
    )
    w.start()
    return w


def verify(d: Path) -> dict[str, StreamReport]:
    out = {}
    for stream, segs in resolve([d]).items():
        v = StreamVerifier(stream)
        for seg in segs:
            v.segment(seg)
        out[stream] = v.finish()
    return out


def test_restart_records_the_hole_and_verify_accepts_it(tmp_path: Path) -> None:
    w = writer(tmp_path, "w1", max_bytes=3000)
    w.put(w.ingest(traffic(1, 100)))
    assert w.stop()
    w = writer(tmp_path, "w2")
    w.put(w.ingest(traffic(151, 160)))
    w.put(w.ingest([BusEvent(EventKind.SILENT, "feed", text="quiet")]))
    assert w.stop()
    reports = verify(tmp_path)
    for stream in ("public", "private"):
        r = reports[stream]
        assert r.ok, r.errors
        assert r.messages == 110 and r.gaps == 1 and r.missing == 50 and r.segments > 2
    segs = resolve([tmp_path])["public"]
    gaps = [r.fields for s in segs for r in s.records() if r.kind == Kind.GAP]
    assert gaps == [
        {
            "topic": "md.x.A.tob.",
            "source": "feed",
            "session": "s1",
            "publisher": "feed",
            "expected": 101,
            "received": 151,
            "cause": "writer_start",
        }
    ]
    silent = [r for s in segs for r in s.records() if r.kind == Kind.SILENT]
    assert len(silent) == 1


def test_torn_tail_is_kept_on_disk_but_not_read_and_the_new_writer_says_so(tmp_path: Path) -> None:
    w = writer(tmp_path, "w1")
    w.put(w.ingest(traffic(1, 50)))
    assert w.stop()
    seg = resolve([tmp_path])["public"][-1]
    recs = list(seg.records())
    # cut in the middle of the 10th record from the end: SEGMENT_END and 9 more are lost
    cut = recs[-10].offset + FRAME.size + 5
    data = seg.path.read_bytes()
    seg.path.write_bytes(data[:cut])
    w = writer(tmp_path, "w2")
    assert w.recovered["public"]["state"] == "TORN"
    assert w.recovered["public"]["valid_bytes"] == recs[-10].offset
    w.put(w.ingest(traffic(51, 55)))
    assert w.stop()
    assert seg.path.stat().st_size == cut  # nothing rewritten
    r = verify(tmp_path)["public"]
    assert r.ok and r.recoveries == 1 and r.gaps == 1
    # 9 lost messages (41..49 were in the torn part; 50 too): the new writer's gap says from where
    gap = next(rec for s in resolve([tmp_path])["public"] for rec in s.records() if rec.kind == Kind.GAP)
    assert gap.fields is not None and gap.fields["expected"] == recs[-11].seq + 1 and gap.fields["received"] == 51


def test_verify_catches_a_silently_removed_message(tmp_path: Path) -> None:
    w = writer(tmp_path, "w1")
    w.put(w.ingest(traffic(1, 30)))
    assert w.stop()
    seg = resolve([tmp_path])["public"][-1]
    recs = list(seg.records())
    victim = next(r for r in recs if r.kind == Kind.MESSAGE and r.seq == 12)
    data = seg.path.read_bytes()
    end = victim.offset + FRAME.size + FRAME.unpack_from(data, victim.offset)[0]
    seg.path.write_bytes(data[: victim.offset] + data[end:])
    r = verify(tmp_path)["public"]
    assert not r.ok
    assert any("seq 13: continuity calls for" in e for e in r.errors), r.errors


def test_verify_catches_corruption_and_missing_segments(tmp_path: Path) -> None:
    w = writer(tmp_path, "w1", max_bytes=2000)
    w.put(w.ingest(traffic(1, 80)))
    assert w.stop()
    segs = resolve([tmp_path])["public"]
    assert len(segs) >= 4
    mid = segs[1].path
    data = bytearray(mid.read_bytes())
    data[len(data) // 2] ^= 0x55
    mid.write_bytes(bytes(data))
    segs[2].path.unlink()
    errors = verify(tmp_path)["public"].errors
    assert any("ends TORN" in e for e in errors), errors
    assert any("segments missing" in e for e in errors), errors


def test_closed_segments_are_compressed_and_read_the_same(tmp_path: Path) -> None:
    w = writer(tmp_path, "w1", max_bytes=4000, compress=True)
    w.put(w.ingest(traffic(1, 100)))
    time.sleep(0.2)
    assert w.stop()
    w = writer(tmp_path, "w2", compress=True)  # compresses what the last run left plain
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not all(s.name.compressed for s in resolve([tmp_path])["public"][:-1]):
        time.sleep(0.02)
    assert w.stop()
    segs = resolve([tmp_path])["public"]
    assert all(s.name.compressed for s in segs[:-1]), [s.path.name for s in segs]
    assert not list((tmp_path / "public").glob("*.tmp"))
    assert verify(tmp_path)["public"].ok
    plain = SegmentFile(segs[-1].path, segs[-1].name)
    list(plain.records())
    assert plain.tail is not None and plain.tail.state == TailState.CLOSED


def test_interrupted_compression_leftovers_are_cleaned(tmp_path: Path) -> None:
    w = writer(tmp_path, "w1", max_bytes=3000)
    w.put(w.ingest(traffic(1, 40)))
    assert w.stop()
    first = resolve([tmp_path])["public"][0].path
    (first.parent / (first.name + ".zst.tmp")).write_bytes(b"partial")
    w = writer(tmp_path, "w2")
    assert w.stop()
    assert not list((tmp_path / "public").glob("*.tmp"))
    assert verify(tmp_path)["public"].ok


def test_a_damaged_compressed_segment_reads_up_to_the_damage(tmp_path: Path) -> None:
    w = writer(tmp_path, "w1")
    w.put(w.ingest(traffic(1, 3000)))
    assert w.stop()
    seg = resolve([tmp_path])["public"][0]
    whole = list(seg.records())
    from common.eventlog.compression import compress_segment

    packed = compress_segment(seg.path)
    assert packed is not None
    data = packed.read_bytes()
    packed.write_bytes(data[: len(data) // 2])  # cut in the middle of the zstd frame
    damaged = resolve([tmp_path])["public"][0]
    got = list(damaged.records())
    assert damaged.tail is not None and damaged.tail.state == TailState.TORN
    assert 0 < len(got) < len(whole) and got == whole[: len(got)]


def test_a_failing_disk_is_reported_not_ignored(tmp_path: Path) -> None:
    w = writer(tmp_path, "w1", max_bytes=2000)
    w.put(w.ingest(traffic(1, 5)))
    time.sleep(0.1)
    (tmp_path / "public").rename(tmp_path / "moved")
    (tmp_path / "public").write_text("not a directory")  # the next segment cannot be created
    w.put(w.ingest(traffic(6, 60)))
    deadline = time.monotonic() + 5
    while not w.stats.error and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "public" in w.stats.error
    with pytest.raises(OSError, match="disk writer failed"):
        w.put(w.ingest(traffic(61, 62)))
    w.stop()
