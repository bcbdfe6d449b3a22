"""Incremental segment parser (pure; no I/O): feed it bytes, get records and how it ended.

    scanner = Scanner()
    for chunk in chunks:
        for record in scanner.feed(chunk):
            ...
    tail = scanner.finish()     # clean end, still open, or torn (and where)

It never trusts a record whose checksum fails: parsing stops there and every byte from that
offset on counts as the torn tail (a crash can leave a partial last record; length-prefixed
records cannot be resynchronised past a bad one without guessing).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from enum import StrEnum

from .records import FRAME, MAX_BODY, MIN_BODY, Kind, Record, RecordError, decode_body
from .segment import HeaderError, SegmentHeader, decode_header, header_size


class TailState(StrEnum):
    """How a segment ends.

    CLOSED: a SEGMENT_END record and nothing after it (closed by its writer).
    OPEN: records end on a record boundary without SEGMENT_END (being written, or the writer
        died between two writes).
    TORN: bytes after the last good record that do not form a good record (the writer died in
        the middle of a write, or the disk lost data): ``torn_bytes`` from ``valid_bytes`` on.
    BAD_HEADER: the header itself is missing or corrupt.
    """

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    TORN = "TORN"
    BAD_HEADER = "BAD_HEADER"


@dataclass(slots=True)
class Tail:
    """The end of a scanned segment: state, bytes of good records (header included), bytes
    after them, how many records were good, and why parsing stopped (if it did early)."""

    state: TailState
    valid_bytes: int
    torn_bytes: int
    records: int
    reason: str = ""


class Scanner:
    """Parse one segment from consecutive chunks of its uncompressed bytes."""

    def __init__(self) -> None:
        self.header: SegmentHeader | None = None
        self.records = 0
        self._buf = bytearray()
        self._base = 0  # offset in the segment of self._buf[0]
        self._stopped = ""
        self._bad_header = ""
        self._closed = False
        self._after_close = 0

    @property
    def valid_bytes(self) -> int:
        """Bytes of the header and good records so far."""
        return self._base

    def feed(self, data: bytes | memoryview) -> list[Record]:
        """Parse what ``data`` completes; returns the good records in order."""
        out: list[Record] = []
        if self._stopped or self._bad_header:
            self._buf += data
            return out
        buf = self._buf
        buf += data
        pos = 0
        if self.header is None:
            try:
                size = header_size(buf)
                if size is None:
                    return out
                self.header, size = decode_header(buf)
            except HeaderError as e:
                self._bad_header = str(e)
                return out
            pos = size
        end = len(buf)
        unpack = FRAME.unpack_from
        fsize = FRAME.size
        crc32 = zlib.crc32
        while end - pos >= fsize:
            body_len, crc = unpack(buf, pos)
            if body_len < MIN_BODY or body_len > MAX_BODY:
                self._stopped = f"implausible record length {body_len} at offset {self._base + pos}"
                break
            stop = pos + fsize + body_len
            if stop > end:
                break
            body = bytes(buf[pos + fsize : stop])
            if crc32(body) != crc:
                self._stopped = f"checksum mismatch at offset {self._base + pos}"
                break
            if self._closed:
                self._stopped = f"record after SEGMENT_END at offset {self._base + pos}"
                break
            try:
                rec = decode_body(self._base + pos, body)
            except RecordError as e:
                self._stopped = f"{e} at offset {self._base + pos}"
                break
            if rec.kind == Kind.SEGMENT_END:
                self._closed = True
            out.append(rec)
            pos = stop
        self.records += len(out)
        if pos:
            del buf[:pos]
            self._base += pos
        return out

    def finish(self) -> Tail:
        """How the segment ended, once every byte was fed."""
        if self._bad_header or self.header is None:
            reason = self._bad_header or f"truncated header ({len(self._buf)} bytes)"
            return Tail(TailState.BAD_HEADER, 0, self._base + len(self._buf), 0, reason)
        rest = len(self._buf)
        if rest:
            reason = self._stopped or f"incomplete record of {rest} bytes at offset {self._base}"
            return Tail(TailState.TORN, self._base, rest, self.records, reason)
        state = TailState.CLOSED if self._closed else TailState.OPEN
        return Tail(state, self._base, 0, self.records)
