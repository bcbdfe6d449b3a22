"""Reading segments from disk: plain or zstd-compressed files, one stream or a whole log.

    for seg in open_log(path):                # a log root, a stream directory or segment files
        for record in seg.records():
            ...
        seg.tail                               # how it ended (after records() is exhausted)

Uses :class:`~common.eventlog.scanner.Scanner`, so a torn or corrupt tail is detected by
checksum and reported in ``tail``, never raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from .records import Record
from .scanner import Scanner, Tail, TailState
from .segment import STREAMS, SegmentHeader, SegmentName, list_segments, parse_name

CHUNK = 1 << 20
"""Bytes read from disk at a time."""


@dataclass
class SegmentFile:
    """One segment on disk; :meth:`records` reads it once."""

    path: Path
    name: SegmentName
    header: SegmentHeader | None = None
    tail: Tail | None = None
    on_progress: Callable[[int], None] | None = field(default=None, repr=False)
    """Called with the number of file bytes read, after each chunk (for progress bars)."""

    @property
    def stream(self) -> str:
        return self.name.stream

    @property
    def index(self) -> int:
        return self.name.index

    def records(self) -> Iterator[Record]:
        """Every good record in order; afterwards ``header`` and ``tail`` are set."""
        scanner = Scanner()
        broken = ""
        with self.path.open("rb") as raw:
            dobj = zstandard.ZstdDecompressor().decompressobj() if self.name.compressed else None
            while True:
                chunk = raw.read(CHUNK)
                if not chunk:
                    break
                if self.on_progress is not None:
                    self.on_progress(len(chunk))
                if dobj is not None:
                    try:
                        chunk = dobj.decompress(chunk)
                    except zstandard.ZstdError as e:
                        broken = f"compressed data unreadable after {scanner.valid_bytes} good bytes: {e}"
                        break
                recs = scanner.feed(chunk)
                if self.header is None:
                    self.header = scanner.header
                yield from recs
            if dobj is not None and not broken and not dobj.eof:
                broken = f"compressed data ends early (after {scanner.valid_bytes} good bytes)"
        self.header = scanner.header
        tail = scanner.finish()
        if broken:
            tail = Tail(TailState.TORN, tail.valid_bytes, tail.torn_bytes, tail.records, broken)
        self.tail = tail


def _segment_file(path: Path) -> SegmentFile:
    name = parse_name(path.name)
    if name is None:
        raise ValueError(f"{path}: not a segment file name (<stream>-<index>-<stamp>Z.kgwlog[.zst])")
    return SegmentFile(path, name)


def stream_segments(directory: Path) -> list[SegmentFile]:
    """The segments of one stream directory, in order."""
    return [SegmentFile(p, n) for n, p in list_segments(directory)]


def resolve(paths: Iterable[Path], streams: Iterable[str] = STREAMS) -> dict[str, list[SegmentFile]]:
    """Segments by stream for what the user named: a log root (``<root>/<stream>/``), a
    stream directory, or segment files. Only ``streams`` are kept."""
    wanted = set(streams)
    out: dict[str, dict[int, SegmentFile]] = {}
    for p in paths:
        if p.is_file():
            found = [_segment_file(p)]
        elif p.is_dir() and any((p / s).is_dir() for s in STREAMS):
            found = [seg for s in STREAMS for seg in stream_segments(p / s)]
        elif p.is_dir():
            found = stream_segments(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or directory")
        for seg in found:
            if seg.stream in wanted:
                out.setdefault(seg.stream, {})[seg.index] = seg
    return {s: [segs[i] for i in sorted(segs)] for s, segs in sorted(out.items())}
