"""What to write where, for one stream (pure; no I/O): records, rotation, segment names.

The planner turns messages and events into bytes and file operations (:class:`Op`) that a disk
thread carries out blindly. It owns every decision that shapes the log, so the format can be
tested with plain calls:

- continuity: GAP / SESSION records in front of the messages that call for them;
- rotation: a new segment once the current one reaches ``max_bytes`` (so a segment exceeds it
  by at most one record), or when a record's time crosses a multiple of ``rotate_interval_ns``
  since the Unix epoch (86400 s: UTC midnight);
- each segment starts with the header and a CHECKPOINT (the continuity state so far); the
  first segment of a writer run adds WRITER_START; a closed segment ends with SEGMENT_END.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .continuity import Continuity
from .records import FRAME, MESSAGE_HEAD, Kind, encode_event, message_key
from .segment import SegmentHeader, SegmentName, encode_header, segment_name

_head = MESSAGE_HEAD.pack
_frame = FRAME.pack
_crc32 = zlib.crc32


class OpKind(Enum):
    OPEN = 1
    """Create ``name`` in the stream's directory and write ``data`` (header + first records)."""
    APPEND = 2
    """Append ``data`` (``records`` records, the oldest received at ``first_time_ns``)."""
    CLOSE = 3
    """Append ``data`` (SEGMENT_END), fsync, close; then compress if ``compress``."""


@dataclass(slots=True)
class Op:
    kind: OpKind
    stream: str
    data: bytes
    records: int = 0
    first_time_ns: int = 0
    name: str = ""
    compress: bool = False


@dataclass(slots=True)
class Identity:
    """Who writes: stamped in every segment header and in WRITER_START."""

    writer_session: str
    host: str
    pid: int


@dataclass(slots=True)
class RotationPolicy:
    """max_bytes: rotate once a segment holds this many bytes (0 = never by size).
    rotate_interval_ns: rotate when a record crosses a multiple of this many ns since the
    epoch (0 = never by time). compress: ask for zstd compression of closed segments."""

    max_bytes: int = 256 * 1024 * 1024
    rotate_interval_ns: int = 86_400 * 10**9
    compress: bool = True


@dataclass(slots=True)
class _Segment:
    name: SegmentName
    bytes: int = 0
    records: int = 0
    rotate_at: int = 0


@dataclass(slots=True)
class StreamPlanner:
    """Plans the segments of one stream; call :meth:`start` first."""

    stream: str
    identity: Identity
    policy: RotationPolicy
    next_index: int = 1
    continuity: Continuity = field(default_factory=Continuity)
    _seg: _Segment | None = None
    _parts: list[bytes] = field(default_factory=list)
    _n: int = 0
    _first: int = 0
    _ops: list[Op] = field(default_factory=list)
    _keys: dict[tuple[bytes, str, str, str], bytes] = field(default_factory=dict)
    _limit: int = 0

    def __post_init__(self) -> None:
        self._limit = self.policy.max_bytes or 1 << 62

    @property
    def segment(self) -> str:
        """File name of the open segment ("" before start)."""
        return self._seg.name.name if self._seg else ""

    def start(self, now_ns: int, writer_start: dict[str, Any]) -> list[Op]:
        """Open the first segment of this writer run; ``writer_start`` are the WRITER_START
        fields (what the writer recovered from the previous run)."""
        self.continuity.restart()
        self._open(now_ns, writer_start)
        return self.take()

    def _open(self, now_ns: int, writer_start: dict[str, Any] | None) -> None:
        name = segment_name(self.stream, self.next_index, now_ns)
        header = SegmentHeader(
            stream=self.stream,
            index=self.next_index,
            writer_session=self.identity.writer_session,
            host=self.identity.host,
            pid=self.identity.pid,
            created_ns=now_ns,
        )
        data = [encode_header(header), encode_event(Kind.CHECKPOINT, now_ns, self.continuity.checkpoint())]
        if writer_start is not None:
            data.append(encode_event(Kind.WRITER_START, now_ns, writer_start))
        blob = b"".join(data)
        interval = self.policy.rotate_interval_ns
        rotate_at = (now_ns // interval + 1) * interval if interval > 0 else 1 << 63
        self._seg = _Segment(name, len(blob), len(data) - 1, rotate_at)
        self.next_index += 1
        self._ops.append(Op(OpKind.OPEN, self.stream, blob, len(data) - 1, now_ns, name.name))

    def _flush(self) -> None:
        if self._n:
            self._ops.append(Op(OpKind.APPEND, self.stream, b"".join(self._parts), self._n, self._first))
            self._parts = []
            self._n = 0

    def _close(self, now_ns: int, reason: str) -> None:
        seg = self._seg
        assert seg is not None, "start() first"
        self._flush()
        end = encode_event(
            Kind.SEGMENT_END,
            now_ns,
            {"reason": reason, "records": seg.records + 1, "next_index": self.next_index},
        )
        self._ops.append(Op(OpKind.CLOSE, self.stream, end, 1, now_ns, seg.name.name, self.policy.compress))
        self._seg = None

    def rotate(self, now_ns: int, reason: str) -> None:
        """Close the open segment and open the next."""
        self._close(now_ns, reason)
        self._open(now_ns, None)

    def _room(self, time_ns: int) -> _Segment:
        seg = self._seg
        assert seg is not None, "start() first"
        if time_ns >= seg.rotate_at:
            self.rotate(time_ns, "time")
        elif seg.bytes >= self._limit:
            self.rotate(time_ns, "size")
        else:
            return seg
        assert self._seg is not None
        return self._seg

    def _put(self, seg: _Segment, data: bytes, time_ns: int) -> None:
        if not self._n:
            self._first = time_ns
        self._parts.append(data)
        self._n += 1
        seg.bytes += len(data)
        seg.records += 1

    def message(
        self, topic: bytes, payload: bytes, source: str, session: str, seq: int, receive_time: int, publisher: str
    ) -> None:
        """Add a bus message (and the GAP / SESSION records it calls for). The hot path:
        kept to one call into continuity and no copy of the payload but the record's own."""
        seg = self._seg
        assert seg is not None, "start() first"
        if receive_time >= seg.rotate_at or seg.bytes >= self._limit:
            seg = self._room(receive_time)
        events = self.continuity.observe(topic, source, session, seq, publisher)
        if events is not None:
            for ev in events:
                self._put(seg, encode_event(ev.kind, receive_time, ev.fields), receive_time)
        k = (topic, session, source, publisher)
        key = self._keys.get(k)
        if key is None:
            if len(self._keys) > 100_000:
                self._keys.clear()
            key = self._keys[k] = message_key(session, source, publisher, topic)
        body = _head(Kind.MESSAGE, receive_time, seq) + key + payload
        parts = self._parts
        parts.append(_frame(len(body), _crc32(body)))
        parts.append(body)
        if not self._n:
            self._first = receive_time
        self._n += 1
        seg.bytes += len(body) + FRAME.size
        seg.records += 1

    def event(self, kind: Kind, time_ns: int, fields: dict[str, Any]) -> None:
        """Add an event record (SILENT, ALIVE, MALFORMED...)."""
        self._put(self._room(time_ns), encode_event(kind, time_ns, fields), time_ns)

    def tick(self, now_ns: int) -> None:
        """Rotate by time even when no record arrives."""
        seg = self._seg
        if seg is not None and now_ns >= seg.rotate_at:
            self.rotate(now_ns, "time")

    def close(self, now_ns: int, reason: str = "shutdown") -> list[Op]:
        """Close the open segment (writer stopping)."""
        if self._seg is not None:
            self._close(now_ns, reason)
        return self.take()

    def take(self) -> list[Op]:
        """The operations planned since the last call, pending records included."""
        self._flush()
        ops, self._ops = self._ops, []
        return ops
