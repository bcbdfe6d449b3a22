"""``kgw log verify``: checksums, segment chain and continuity of a log (reads, never writes).

For each stream, in segment order, it checks that:

- every segment has a good header naming its stream and index, the indices follow on, and
  its first record is a CHECKPOINT equal to the state the previous segment ended with;
- every record's checksum holds; a segment that does not end CLOSED is accepted only if the
  next segment's WRITER_START names it with the same good length and state (a crash the next
  writer recovered from), or it is the last segment (the writer is running or crashed and has
  not restarted yet: a warning);
- every hole in a topic's ``seq`` and every new publisher session is announced by the GAP /
  SESSION records right before the message (:mod:`.continuity`), and every such record is
  matched by a real hole: no silent hole, no false alarm;
- each MESSAGE's payload carries the same ``source``, ``session`` and ``seq`` as its record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from common.bus import Header

from .continuity import Continuity
from .reader import SegmentFile
from .records import Kind, Record
from .scanner import TailState

_header = msgspec.json.Decoder(Header)
_COMPARED = {Kind.GAP: ("topic", "session", "expected", "received"), Kind.SESSION: ("source", "session")}


@dataclass
class StreamReport:
    """What verify found in one stream."""

    stream: str
    segments: int = 0
    records: int = 0
    messages: int = 0
    gaps: int = 0
    missing: int = 0
    sessions: int = 0
    recoveries: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _key(kind: int, fields: dict[str, Any]) -> tuple[Any, ...]:
    return (kind, *(fields.get(f) for f in _COMPARED[Kind(kind)]))


class StreamVerifier:
    """Verifies the segments of one stream fed in order (:meth:`segment`), then :meth:`finish`."""

    MAX_ERRORS = 50

    def __init__(self, stream: str) -> None:
        self.report = StreamReport(stream)
        self.continuity = Continuity()
        self._pending: list[tuple[Any, ...]] = []
        self._prev: SegmentFile | None = None
        self._prev_explained = True
        self._seg_records = 0

    def _error(self, text: str) -> None:
        if len(self.report.errors) < self.MAX_ERRORS:
            self.report.errors.append(text)
        elif len(self.report.errors) == self.MAX_ERRORS:
            self.report.errors.append("... further errors not shown")

    def segment(self, seg: SegmentFile, on_record: Callable[[Record], None] | None = None) -> None:
        """Read and check one segment."""
        r = self.report
        name = seg.path.name
        if self._prev is not None and seg.index != self._prev.index + 1:
            self._error(f"{name}: segment index {seg.index} follows {self._prev.index} (segments missing)")
        first = True
        self._seg_records = 0
        for rec in seg.records():
            r.records += 1
            self._seg_records += 1
            if on_record is not None:
                on_record(rec)
            if first:
                first = False
                if rec.kind != Kind.CHECKPOINT:
                    self._error(f"{name}: first record is {rec.kind_name}, not CHECKPOINT")
                    continue
            self._record(seg, rec)
        if seg.header is not None:
            if seg.header.stream != seg.stream or seg.header.index != seg.index:
                self._error(f"{name}: header says {seg.header.stream} #{seg.header.index}")
        tail = seg.tail
        assert tail is not None
        if tail.state == TailState.BAD_HEADER:
            self._error(f"{name}: {tail.reason}")
        if self._prev is not None and not self._prev_explained:
            prev_tail = self._prev.tail
            assert prev_tail is not None
            self._error(
                f"{self._prev.path.name}: ends {prev_tail.state.value} ({prev_tail.reason or 'no SEGMENT_END'}) "
                "and the next segment does not record a recovery from it"
            )
        self._prev_explained = tail.state == TailState.CLOSED
        self._prev = seg
        r.segments += 1

    def _record(self, seg: SegmentFile, rec: Record) -> None:
        kind = rec.kind
        if kind == Kind.MESSAGE:
            self._message(seg, rec)
        elif kind in (Kind.GAP, Kind.SESSION):
            assert rec.fields is not None
            self._pending.append(_key(kind, rec.fields))
        elif kind == Kind.CHECKPOINT:
            assert rec.fields is not None
            self._checkpoint(seg, rec.fields)
        elif kind == Kind.WRITER_START:
            assert rec.fields is not None
            self._writer_start(seg, rec.fields)
        elif kind == Kind.SEGMENT_END:
            assert rec.fields is not None
            if rec.fields.get("records") != self._seg_records:
                counted = rec.fields.get("records")
                self._error(f"{seg.path.name}: SEGMENT_END counts {counted}, read {self._seg_records}")

    def _message(self, seg: SegmentFile, rec: Record) -> None:
        r = self.report
        r.messages += 1
        try:
            h = _header.decode(rec.payload)
        except msgspec.DecodeError as e:
            self._error(f"{seg.path.name}@{rec.offset}: payload is not a bus message: {e}")
            return
        if (h.session, h.source, h.seq) != (rec.session, rec.source, rec.seq):
            self._error(
                f"{seg.path.name}@{rec.offset}: record says {rec.source}/{rec.session}/{rec.seq}, "
                f"payload {h.source}/{h.session}/{h.seq}"
            )
        events = self.continuity.observe(rec.topic, rec.source, rec.session, rec.seq, rec.publisher)
        expected = [_key(e.kind, e.fields) for e in events or ()]
        if expected != self._pending:
            topic = rec.topic.decode(errors="replace")
            self._error(
                f"{seg.path.name}@{rec.offset}: {topic} seq {rec.seq}: continuity calls for {expected}, "
                f"log has {self._pending}"
            )
        for key in expected:
            if key[0] == Kind.GAP:
                r.gaps += 1
                r.missing += max(key[4] - key[3], 0)
            else:
                r.sessions += 1
        self._pending = []

    def _checkpoint(self, seg: SegmentFile, fields: dict[str, Any]) -> None:
        if self._prev is not None:
            mine = self.continuity.checkpoint()
            if mine != {"sources": fields.get("sources", {}), "topics": fields.get("topics", {})}:
                self._error(f"{seg.path.name}: CHECKPOINT differs from the state the previous segment ended with")
        self.continuity.seed(fields)

    def _writer_start(self, seg: SegmentFile, fields: dict[str, Any]) -> None:
        prev = fields.get("previous") or {}
        p = self._prev
        if p is None:
            return
        tail = p.tail
        assert tail is not None
        if prev.get("index") != p.index:
            self._error(f"{seg.path.name}: WRITER_START names segment #{prev.get('index')}, previous is #{p.index}")
            return
        if prev.get("valid_bytes") != tail.valid_bytes or prev.get("state") != tail.state.value:
            self._error(
                f"{seg.path.name}: WRITER_START saw {p.path.name} as {prev.get('state')} with "
                f"{prev.get('valid_bytes')} good bytes; it is {tail.state.value} with {tail.valid_bytes}"
            )
            return
        if tail.state != TailState.CLOSED:
            self.report.recoveries += 1
            self._prev_explained = True

    def finish(self) -> StreamReport:
        """The report, once every segment was fed."""
        if self._pending:
            self._error(f"log ends with {len(self._pending)} GAP/SESSION records and no message after them")
        p = self._prev
        if p is not None and not self._prev_explained and p.tail is not None:
            self.report.warnings.append(
                f"{p.path.name}: last segment ends {p.tail.state.value}"
                + (f" ({p.tail.reason}, {p.tail.torn_bytes} bytes)" if p.tail.torn_bytes else "")
                + ": its writer is running, or died and has not restarted"
            )
        return self.report
