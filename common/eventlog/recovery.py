"""What a starting writer finds on disk, per stream: where the log ends and in what state.

The last segment is read to its end: its CHECKPOINT plus the records after it give the
continuity state (last seq of every topic, session of every source); its tail says whether the
previous writer closed it or died (and then how many bytes of a torn record follow the last
good one). Nothing is rewritten: the new writer continues in a new segment and names what it
found in its WRITER_START record, which ``kgw log verify`` checks against the old segment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .compression import remove_temporaries
from .continuity import Continuity
from .reader import SegmentFile, stream_segments
from .records import Kind
from .scanner import TailState

log = logging.getLogger("kgw.eventlog.recovery")


@dataclass
class Recovered:
    """next_index: index for the new segment. continuity: state at the end of the log.
    previous: WRITER_START fields describing the last segment (empty dict: a new log).
    to_compress: closed segments still uncompressed."""

    next_index: int = 1
    continuity: Continuity = field(default_factory=Continuity)
    previous: dict[str, Any] = field(default_factory=dict)
    to_compress: list[Path] = field(default_factory=list)


def fold(seg: SegmentFile, continuity: Continuity) -> dict[str, Any]:
    """Read a whole segment into ``continuity``; the facts about how it ended."""
    last_time = 0
    last_writer = ""
    for rec in seg.records():
        last_time = rec.time_ns
        if rec.kind == Kind.MESSAGE:
            continuity.advance(rec.source, rec.topic, rec.session, rec.seq)
        elif rec.kind == Kind.CHECKPOINT and rec.fields is not None:
            continuity.seed(rec.fields)
        elif rec.kind == Kind.SESSION and rec.fields is not None:
            continuity.sources[rec.fields["source"]] = rec.fields["session"]
    if seg.header is not None:
        last_writer = seg.header.writer_session
    tail = seg.tail
    assert tail is not None
    return {
        "segment": seg.path.name,
        "index": seg.index,
        "writer_session": last_writer,
        "state": tail.state.value,
        "valid_bytes": tail.valid_bytes,
        "torn_bytes": tail.torn_bytes,
        "records": tail.records,
        "last_time_ns": last_time,
        "reason": tail.reason,
    }


def recover_stream(directory: Path) -> Recovered:
    """Inspect one stream directory (which may not exist yet)."""
    out = Recovered()
    if not directory.is_dir():
        return out
    for p in remove_temporaries(directory):
        log.warning("removed an interrupted compression", extra={"fields": {"path": str(p)}})
    segments = stream_segments(directory)
    for seg in segments:
        twin = seg.path.with_name(seg.name.plain)
        if seg.name.compressed and twin.exists():
            twin.unlink()  # its compressed copy was renamed into place before a crash
    if not segments:
        return out
    last = segments[-1]
    out.next_index = last.index + 1
    out.previous = fold(last, out.continuity)
    for earlier in reversed(segments[:-1]):
        if out.previous["state"] != TailState.BAD_HEADER.value:
            break
        # the writer died creating the last segment: the state is in the one before
        fold(earlier, out.continuity)
        out.previous["state_from"] = earlier.path.name
        break
    if out.previous["state"] != TailState.CLOSED.value:
        log.warning("previous writer did not close its segment", extra={"fields": out.previous})
    out.to_compress = [s.path for s in segments if not s.name.compressed]
    return out
