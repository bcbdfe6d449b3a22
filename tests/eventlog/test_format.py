"""The segment format with plain calls: records, header, torn tails, continuity, rotation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.eventlog.continuity import CAUSE_BUS, CAUSE_WRITER_START, Continuity
from common.eventlog.planner import Identity, Op, OpKind, RotationPolicy, StreamPlanner
from common.eventlog.records import FRAME, Kind, decode_body, encode_event, encode_message, message_key
from common.eventlog.scanner import Scanner, TailState
from common.eventlog.segment import (
    MAGIC,
    SegmentHeader,
    decode_header,
    encode_header,
    parse_name,
    segment_name,
)

T0 = 1_795_000_000_000_000_000
ID = Identity("w1", "host", 42)


def payload(source: str, session: str, seq: int) -> bytes:
    return b'{"type":"TopOfBook","source":"%s","session":"%s","seq":%d}' % (source.encode(), session.encode(), seq)


def planned(planner: StreamPlanner, n: int, start_seq: int = 1, topic: bytes = b"md.x.A.tob.") -> list[Op]:
    for i in range(n):
        seq = start_seq + i
        planner.message(topic, payload("feed", "s1", seq), "feed", "s1", seq, T0 + i, "feed")
    return planner.take()


def segment_bytes(n: int = 20) -> tuple[bytes, list[int]]:
    """One closed segment of n messages, and the offsets where its records end."""
    p = StreamPlanner("public", ID, RotationPolicy(max_bytes=0, rotate_interval_ns=0))
    ops = p.start(T0, {"writer_session": "w1"}) + planned(p, n) + p.close(T0 + n)
    blob = b"".join(op.data for op in ops)
    ends = []
    sc = Scanner()
    recs = sc.feed(blob)
    for r in recs:
        (length, _) = FRAME.unpack_from(blob, r.offset)
        ends.append(r.offset + FRAME.size + length)
    return blob, ends


def test_message_record_round_trip() -> None:
    key = message_key("sess", "feed", "feed-ep", b"md.x.A.tob.")
    framed = encode_message(T0, 7, key, b'{"a":1}')
    length, _ = FRAME.unpack_from(framed, 0)
    rec = decode_body(0, framed[FRAME.size :])
    assert length == len(framed) - FRAME.size
    assert (rec.kind, rec.time_ns, rec.seq, rec.session, rec.source, rec.publisher) == (
        Kind.MESSAGE,
        T0,
        7,
        "sess",
        "feed",
        "feed-ep",
    )
    assert (rec.topic, rec.payload) == (b"md.x.A.tob.", b'{"a":1}')


def test_event_record_round_trip_and_kind_names() -> None:
    framed = encode_event(Kind.GAP, T0, {"topic": "t.", "expected": 3, "received": 9})
    rec = decode_body(0, framed[FRAME.size :])
    assert rec.kind_name == "GAP" and rec.fields == {"topic": "t.", "expected": 3, "received": 9}
    with pytest.raises(ValueError):
        encode_event(Kind.MESSAGE, T0, {})


def test_header_round_trip_and_rejections() -> None:
    h = SegmentHeader(stream="public", index=3, writer_session="w", host="h", pid=1, created_ns=T0)
    raw = encode_header(h)
    back, size = decode_header(raw + b"rest")
    assert size == len(raw) and back.index == 3 and back.created.endswith("Z") and raw.startswith(MAGIC)
    sc = Scanner()
    sc.feed(b"NOTALOG!" + raw[8:])
    assert sc.finish().state == TailState.BAD_HEADER
    bad_version = raw[:8] + b"\x09\x00" + raw[10:]
    sc = Scanner()
    sc.feed(bad_version)
    tail = sc.finish()
    assert tail.state == TailState.BAD_HEADER and "version 9" in tail.reason


def test_names_sort_in_log_order() -> None:
    n = segment_name("private", 12, T0)
    assert parse_name(n.name) == n and parse_name(n.name + ".zst") is not None
    assert parse_name("private-00000012-x.kgwlog") is None
    assert segment_name("public", 9, T0).name < segment_name("public", 10, T0 - 10**12).name


def test_every_cut_keeps_exactly_the_complete_records() -> None:
    blob, ends = segment_bytes(12)
    header_end = decode_header(blob)[1]
    for cut in range(header_end, len(blob) + 1):
        sc = Scanner()
        got = sc.feed(blob[:cut])
        tail = sc.finish()
        complete = [e for e in ends if e <= cut]
        assert len(got) == len(complete), cut
        assert tail.valid_bytes == (complete[-1] if complete else header_end)
        assert tail.torn_bytes == cut - tail.valid_bytes
        if cut == len(blob):
            assert tail.state == TailState.CLOSED
        elif tail.torn_bytes:
            assert tail.state == TailState.TORN
        else:
            assert tail.state == TailState.OPEN


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=40))
def test_chunking_does_not_change_what_is_read(sizes: list[int]) -> None:
    blob, _ = segment_bytes(15)
    whole = Scanner()
    expected = whole.feed(blob)
    sc = Scanner()
    got = []
    pos = 0
    i = 0
    while pos < len(blob):
        step = sizes[i % len(sizes)]
        got += sc.feed(blob[pos : pos + step])
        pos += step
        i += 1
    assert got == expected and sc.finish() == whole.finish()


def test_a_flipped_byte_stops_reading_at_that_record() -> None:
    blob, ends = segment_bytes(10)
    at = ends[4] + FRAME.size + 3  # inside the 6th record's body
    broken = blob[:at] + bytes([blob[at] ^ 0xFF]) + blob[at + 1 :]
    sc = Scanner()
    got = sc.feed(broken)
    tail = sc.finish()
    assert len(got) == 5 and tail.state == TailState.TORN
    assert tail.valid_bytes == ends[4] and "checksum mismatch" in tail.reason


def test_zeroed_tail_is_torn_not_an_endless_loop() -> None:
    blob, ends = segment_bytes(3)
    open_part = blob[: ends[-2]]  # without SEGMENT_END
    sc = Scanner()
    sc.feed(open_part + b"\0" * 4096)
    tail = sc.finish()
    assert tail.state == TailState.TORN and tail.valid_bytes == ends[-2] and "implausible" in tail.reason


def test_continuity_events() -> None:
    c = Continuity()
    t = b"md.x.A.tob."
    first = c.observe(t, "feed", "s1", 1, "feed")
    assert first is not None and [e.kind for e in first] == [Kind.SESSION]
    assert c.observe(t, "feed", "s1", 2, "feed") is None
    gap = c.observe(t, "feed", "s1", 5, "feed")
    assert gap is not None and gap[0].fields["expected"] == 3 and gap[0].fields["received"] == 5
    assert gap[0].fields["cause"] == CAUSE_BUS
    restart = c.observe(t, "feed", "s2", 1, "feed")
    assert restart is not None and [e.kind for e in restart] == [Kind.SESSION]
    assert restart[0].fields["old_session"] == "s1"
    # another source may use the same topic with its own seq
    other = c.observe(t, "strategy", "z", 1, "strat")
    assert other is not None and [e.kind for e in other] == [Kind.SESSION]
    assert c.observe(t, "feed", "s2", 2, "feed") is None
    # a writer restart: what follows on is fine, what jumps is a writer_start gap
    c.restart()
    assert c.observe(t, "feed", "s2", 3, "feed") is None
    assert c.observe(b"md.x.B.tob.", "feed", "s2", 4, "feed") is not None
    c2 = Continuity()
    c2.seed(c.checkpoint())
    jump = c2.observe(t, "feed", "s2", 10, "feed")
    assert jump is not None and jump[0].fields["cause"] == CAUSE_WRITER_START and jump[0].fields["expected"] == 4


def records_of(ops: list[Op]) -> list[list[int]]:
    """Kinds of the records of each segment the ops write."""
    segs: list[list[int]] = []
    for op in ops:
        if op.kind is OpKind.OPEN:
            segs.append([])
            sc = Scanner()
            segs[-1] += [r.kind for r in sc.feed(op.data)]
            pending = sc
        else:
            data = op.data
            segs[-1] += [r.kind for r in pending.feed(data)]
    return segs


def test_rotation_by_size_starts_each_segment_with_a_checkpoint() -> None:
    p = StreamPlanner("public", ID, RotationPolicy(max_bytes=2000, rotate_interval_ns=0))
    ops = p.start(T0, {}) + planned(p, 100) + p.close(T0 + 100)
    opens = [op for op in ops if op.kind is OpKind.OPEN]
    closes = [op for op in ops if op.kind is OpKind.CLOSE]
    assert len(opens) == len(closes) > 5
    segs = records_of(ops)
    assert all(s[0] == Kind.CHECKPOINT and s[-1] == Kind.SEGMENT_END for s in segs)
    assert segs[0][1] == Kind.WRITER_START and all(Kind.WRITER_START not in s for s in segs[1:])
    assert sum(s.count(Kind.MESSAGE) for s in segs) == 100
    # a segment exceeds the limit by at most one record
    sizes: list[int] = []
    for op in ops:
        if op.kind is OpKind.OPEN:
            sizes.append(0)
        sizes[-1] += len(op.data)
    record = len(ops[1].data) // ops[1].records
    assert all(size <= 2000 + 2 * record for size in sizes)


def test_rotation_by_time_at_the_interval_boundary() -> None:
    day = 86_400 * 10**9
    start = (T0 // day) * day + day - 10  # 10 ns before UTC midnight
    p = StreamPlanner("public", ID, RotationPolicy(max_bytes=0, rotate_interval_ns=day))
    ops = p.start(start, {})
    p.message(b"t.", payload("f", "s", 1), "f", "s", 1, start + 5, "f")
    p.message(b"t.", payload("f", "s", 2), "f", "s", 2, start + 15, "f")  # after midnight
    ops += p.take()
    assert [op.kind for op in ops].count(OpKind.OPEN) == 2
    end = next(op for op in ops if op.kind is OpKind.CLOSE)
    assert b'"reason":"time"' in end.data
    p.tick(start + day + 20)
    assert [op.kind for op in p.take()] == [OpKind.CLOSE, OpKind.OPEN]
