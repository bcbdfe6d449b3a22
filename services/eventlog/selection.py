"""Which records a tool reads: paths, streams, topic prefixes, types, time range; merged in
receive-time order across streams."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from common.bus import Header
from common.eventlog.reader import SegmentFile, resolve
from common.eventlog.records import Kind, Record
from common.eventlog.segment import STREAMS

_header = msgspec.json.Decoder(Header)


def parse_time(text: str | None) -> int | None:
    """ns since the epoch from an integer (ns) or an ISO 8601 time (UTC unless it says)."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1e9)


def payload_type(payload: bytes) -> str:
    """The ``type`` of a bus payload ("" if it has none)."""
    try:
        return _header.decode(payload).type
    except msgspec.DecodeError:
        return ""


@dataclass
class Selection:
    """paths: log roots, stream directories or segment files. streams: which to read.
    topics: topic prefixes (empty = all). types: message types (empty = all; events are kept
    only when no type is asked). since / until: receive-time bounds in ns (until exclusive).
    events: include non-MESSAGE records."""

    paths: list[Path]
    streams: tuple[str, ...] = STREAMS
    topics: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    since: int | None = None
    until: int | None = None
    events: bool = True

    def segments(self) -> dict[str, list[SegmentFile]]:
        return resolve(self.paths, self.streams)

    def wants(self, rec: Record) -> bool:
        if self.since is not None and rec.time_ns < self.since:
            return False
        if self.until is not None and rec.time_ns >= self.until:
            return False
        if rec.kind != Kind.MESSAGE:
            if not self.events or self.types:
                return False
            if self.topics and rec.fields is not None and "topic" in rec.fields:
                return any(str(rec.fields["topic"]).startswith(t) for t in self.topics)
            return not self.topics
        if self.topics and not any(rec.topic.startswith(t.encode()) for t in self.topics):
            return False
        return not self.types or payload_type(rec.payload) in self.types


def _stream_records(stream: str, segs: list[SegmentFile], sel: Selection) -> Iterator[tuple[int, str, Record]]:
    for seg in segs:
        for rec in seg.records():
            if sel.wants(rec):
                yield rec.time_ns, stream, rec


def select(sel: Selection, on_segment: Callable[[SegmentFile], None] | None = None) -> Iterator[tuple[str, Record]]:
    """(stream, record) for every selected record, merged by receive time across streams
    (within a stream, log order is kept)."""
    by_stream = sel.segments()
    if on_segment is not None:
        for segs in by_stream.values():
            for seg in segs:
                on_segment(seg)
    its = [_stream_records(s, segs, sel) for s, segs in by_stream.items()]
    for _, stream, rec in heapq.merge(*its, key=lambda x: x[0]):
        yield stream, rec
