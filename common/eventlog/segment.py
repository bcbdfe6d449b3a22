"""Segment header and file names (pure; no I/O).

A segment file is ``header | record*``. The header is::

    magic "KGWEVLOG" (8 bytes) | u16 version | u16 flags (0) | u32 json_len | u32 crc32(json) | json

where ``json`` is a UTF-8 JSON object (:class:`SegmentHeader`). Segments live in
``<directory>/<stream>/`` and are named ``<stream>-<index:08d>-<YYYYMMDDTHHMMSS>Z.kgwlog``
(``.kgwlog.zst`` once compressed): ``index`` counts up by one per segment of a stream, across
writer restarts, so sorting by index is the order of the log.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec

MAGIC = b"KGWEVLOG"
FORMAT_VERSION = 1
PREFIX = struct.Struct("<8sHHII")
"""magic, version, flags, json_len, crc32(json)."""
MAX_HEADER_JSON = 1024 * 1024

SUFFIX = ".kgwlog"
COMPRESSED_SUFFIX = ".kgwlog.zst"
STREAMS = ("public", "private")
"""``private``: topics under ``oms.`` (orders, fills, positions, funds, requests, acks);
``public``: everything else (market data, service status, heartbeats)."""

_NAME = re.compile(r"^(?P<stream>[a-z]+)-(?P<index>\d{8,})-(?P<stamp>\d{8}T\d{6})Z\.kgwlog(?P<zst>\.zst)?$")


class SegmentHeader(msgspec.Struct, kw_only=True):
    """The self-describing JSON header of a segment.

    format: always ``kgw-eventlog``. version: format version (this is 1).
    stream: ``public`` or ``private``. index: the segment's number in its stream.
    writer_session: id of the writer process run that created it. host / pid: where.
    created_ns: creation time (ns since the Unix epoch, UTC); created: the same, ISO 8601.
    """

    format: str = "kgw-eventlog"
    version: int = FORMAT_VERSION
    stream: str
    index: int
    writer_session: str
    host: str
    pid: int
    created_ns: int
    created: str = ""


class HeaderError(ValueError):
    """The bytes are not a segment header this reader understands."""


_header_decoder = msgspec.json.Decoder(SegmentHeader)


def iso(ns: int) -> str:
    """ISO 8601 UTC with microseconds for a time in ns."""
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_header(header: SegmentHeader) -> bytes:
    """The header bytes that open a segment."""
    if not header.created:
        header.created = iso(header.created_ns)
    body = msgspec.json.encode(header)
    return PREFIX.pack(MAGIC, FORMAT_VERSION, 0, len(body), zlib.crc32(body)) + body


def header_size(buf: bytes | bytearray | memoryview) -> int | None:
    """Total size of the header at the start of ``buf``, or None if more bytes are needed."""
    if len(buf) < PREFIX.size:
        return None
    magic, version, _flags, json_len, _crc = PREFIX.unpack_from(buf, 0)
    if magic != MAGIC:
        raise HeaderError(f"not an event-log segment (magic {bytes(magic)!r})")
    if version != FORMAT_VERSION:
        raise HeaderError(f"format version {version} is not supported (this reader knows {FORMAT_VERSION})")
    if json_len > MAX_HEADER_JSON:
        raise HeaderError(f"header of {json_len} bytes is implausible")
    total = PREFIX.size + json_len
    return total if len(buf) >= total else None


def decode_header(buf: bytes | bytearray | memoryview) -> tuple[SegmentHeader, int]:
    """The header at the start of ``buf`` and its size; :class:`HeaderError` if it is not one."""
    total = header_size(buf)
    if total is None:
        raise HeaderError(f"truncated header ({len(buf)} bytes)")
    *_, crc = PREFIX.unpack_from(buf, 0)
    body = bytes(buf[PREFIX.size : total])
    if zlib.crc32(body) != crc:
        raise HeaderError("header checksum mismatch")
    try:
        return _header_decoder.decode(body), total
    except msgspec.DecodeError as e:
        raise HeaderError(f"header JSON: {e}") from None


@dataclass(frozen=True, slots=True)
class SegmentName:
    """What a segment's file name says."""

    stream: str
    index: int
    stamp: str
    compressed: bool

    @property
    def plain(self) -> str:
        return f"{self.stream}-{self.index:08d}-{self.stamp}Z{SUFFIX}"

    @property
    def name(self) -> str:
        return self.plain + (".zst" if self.compressed else "")


def segment_name(stream: str, index: int, created_ns: int) -> SegmentName:
    """The name of a new (uncompressed) segment."""
    stamp = datetime.fromtimestamp(created_ns / 1e9, UTC).strftime("%Y%m%dT%H%M%S")
    return SegmentName(stream, index, stamp, False)


def parse_name(name: str) -> SegmentName | None:
    """What a file name says, or None if it is not a segment's."""
    m = _NAME.match(name)
    if m is None:
        return None
    return SegmentName(m["stream"], int(m["index"]), m["stamp"], m["zst"] is not None)


def list_segments(directory: Path) -> list[tuple[SegmentName, Path]]:
    """Segments in one stream directory, in log order. When both a plain and a compressed
    copy exist (a compression was interrupted after its rename), the compressed one wins."""
    found: dict[int, tuple[SegmentName, Path]] = {}
    if not directory.is_dir():
        return []
    for p in directory.iterdir():
        n = parse_name(p.name)
        if n is None:
            continue
        prev = found.get(n.index)
        if prev is None or n.compressed:
            found[n.index] = (n, p)
    return [found[i] for i in sorted(found)]
