"""The event-log writer core, without asyncio: recovery, routing, planning, the disk thread.

    writer = LogWriter(directory, identity, rotation, durability)
    writer.start()                          # recover each stream, open new segments
    writer.put(writer.ingest(items))        # per batch of bus items (Received / BusEvent)
    writer.put(writer.tick(now_ns))         # now and then: rotation by time
    writer.stop()                           # SEGMENT_END, fsync, close

Messages on private topics (``oms.``: orders, fills, positions, funds, requests, acks) go to
the ``private`` stream, everything else to ``public``, each in its own directory so that
access can differ. Publisher-level events (SILENT, ALIVE) go to both; MALFORMED follows its
topic. GAP and RESTART events of the bus subscriber are not copied: the writer computes them
itself (:mod:`.continuity`), seeded from the log, so holes while it was down are recorded too.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from common.bus import BusEvent, EventKind, Received
from common.topics import PRIVATE_ROOT

from .diskwriter import DiskWriter, DurabilityPolicy, WriterStats
from .planner import Identity, Op, RotationPolicy, StreamPlanner
from .records import Kind
from .recovery import recover_stream

log = logging.getLogger("kgw.eventlog.writer")

PUBLIC = "public"
PRIVATE = "private"
_PRIVATE_PREFIX = PRIVATE_ROOT.encode()

_EVENT_KINDS = {
    EventKind.SILENT: Kind.SILENT,
    EventKind.ALIVE: Kind.ALIVE,
    EventKind.MALFORMED: Kind.MALFORMED,
}


def identity(session: str) -> Identity:
    """This process as a writer."""
    return Identity(writer_session=session, host=socket.gethostname(), pid=os.getpid())


class LogWriter:
    """Writes bus items to a log directory (``<directory>/public``, ``<directory>/private``).

    file_modes: permission bits of each stream's files (directories get search bits added).
    """

    def __init__(
        self,
        directory: Path,
        ident: Identity,
        rotation: RotationPolicy,
        durability: DurabilityPolicy,
        file_modes: dict[str, int] | None = None,
    ) -> None:
        self.directory = directory
        self.identity = ident
        self.file_modes = {PUBLIC: 0o640, PRIVATE: 0o600, **(file_modes or {})}
        self.stats = WriterStats()
        self.disk = DiskWriter(directory, durability, self.file_modes.__getitem__, self.stats)
        self.rotation = rotation
        self.public = StreamPlanner(PUBLIC, ident, rotation)
        self.private = StreamPlanner(PRIVATE, ident, rotation)
        self.planners = (self.public, self.private)
        self.recovered: dict[str, dict[str, Any]] = {}
        self.ingested = 0

    def start(self, now_ns: int | None = None) -> None:
        """Recover every stream, open new segments, start the disk thread. Blocking (reads the
        last segment of each stream): call before serving."""
        now_ns = now_ns or time.time_ns()
        self.directory.mkdir(parents=True, exist_ok=True)
        to_compress: list[Path] = []
        ops: list[Op] = []
        for planner in self.planners:
            self.stats.stream(planner.stream)
            rec = recover_stream(self.directory / planner.stream)
            planner.next_index = rec.next_index
            planner.continuity = rec.continuity
            self.recovered[planner.stream] = rec.previous
            if self.rotation.compress:
                to_compress += rec.to_compress
            start = {
                "writer_session": self.identity.writer_session,
                "host": self.identity.host,
                "pid": self.identity.pid,
                "started_ns": now_ns,
                "previous": rec.previous or None,
            }
            ops += planner.start(now_ns, start)
        self.disk.start()
        self.disk.put(ops)
        for path in to_compress:
            self.disk.compress_later(path)

    def ingest(self, items: Iterable[Received | BusEvent]) -> list[Op]:
        """Plan the records of a batch of bus items; the operations for :meth:`put`."""
        public, private = self.public.message, self.private.message
        n = 0
        for item in items:
            if type(item) is Received:
                h = item.header
                topic = item.topic
                (private if topic.startswith(_PRIVATE_PREFIX) else public)(
                    topic, item.payload, h.source, h.session, h.seq, item.receive_time, item.publisher
                )
                n += 1
            elif isinstance(item, BusEvent):
                self._event(item)
        self.ingested += n
        return self.public.take() + self.private.take()

    def _event(self, ev: BusEvent) -> None:
        kind = _EVENT_KINDS.get(ev.kind)
        if kind is None:
            return  # GAP / RESTART: computed by our own continuity tracking
        fields: dict[str, Any] = {"publisher": ev.publisher}
        if ev.topic:
            fields["topic"] = ev.topic
        if ev.text:
            fields["text"] = ev.text
        if kind == Kind.MALFORMED:
            target = [self.private if ev.topic.startswith(PRIVATE_ROOT) else self.public]
        else:
            target = list(self.planners)
        for planner in target:
            planner.event(kind, ev.time, fields)

    def tick(self, now_ns: int | None = None) -> list[Op]:
        """Rotation by time for streams with no traffic."""
        now_ns = now_ns or time.time_ns()
        ops: list[Op] = []
        for planner in self.planners:
            planner.tick(now_ns)
            ops += planner.take()
        return ops

    def put(self, ops: list[Op]) -> None:
        """Hand operations to the disk thread (``queue.Full`` when it is behind)."""
        if ops:
            self.disk.put(ops)

    def stop(self, timeout: float = 4.0) -> bool:
        """Close every segment and stop the disk thread; False if it did not finish in time."""
        now_ns = time.time_ns()
        ops: list[Op] = []
        for planner in self.planners:
            ops += planner.close(now_ns)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.disk.put(ops)
                break
            except queue.Full:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            except OSError:
                break
        return self.disk.stop(max(deadline - time.monotonic(), 0.1))
