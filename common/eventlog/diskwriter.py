"""The disk thread: carries out planned operations, batching writes and fsyncs by policy.

The event loop hands lists of :class:`~common.eventlog.planner.Op` to :meth:`DiskWriter.put`
(never blocking: it raises ``queue.Full`` and the caller waits, so a slow disk holds back the
bus sockets instead of growing memory without bound). This thread:

- keeps appended bytes in memory until ``flush_records`` records are pending or the oldest is
  ``flush_ms`` old, then writes them with one ``write`` per stream;
- fsyncs a stream's file when ``fsync_records`` records were written since the last fsync or
  the oldest unsynced write is ``fsync_ms`` old (0 turns either condition off; both 0: fsync
  only when a segment is closed);
- on CLOSE writes SEGMENT_END, fsyncs, closes and hands the file to the compression thread.

:class:`WriterStats` counts what was written and what is durable (fsynced): the service shows
them in ``/metrics`` and ``/health``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .compression import compress_segment, fsync_dir
from .planner import Op, OpKind

log = logging.getLogger("kgw.eventlog.disk")

COMPRESSION_NICE = 10
"""Niceness added to the compression thread (Linux: per thread)."""


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), COMPRESSION_NICE)


@dataclass(slots=True)
class DurabilityPolicy:
    """flush_ms / flush_records: most time (ms) a record waits in memory before ``write`` and
    most records held before ``write``. fsync_ms / fsync_records: most time (ms) since the
    oldest unsynced write / most records written before ``fsync`` (0 = no such condition).
    queue_batches: bound of the hand-off queue, in batches (one batch per event-loop wake-up).
    compression_level: zstd level for closed segments (1-22); the compression thread runs at
    nice +COMPRESSION_NICE so it only takes CPU the writer does not need."""

    flush_ms: float = 20.0
    flush_records: int = 65_536
    fsync_ms: float = 1000.0
    fsync_records: int = 0
    queue_batches: int = 4096
    compression_level: int = 6


@dataclass
class StreamStats:
    """Counters of one stream, written by the disk thread, read by anyone."""

    records_written: int = 0
    records_durable: int = 0
    bytes_written: int = 0
    segments_opened: int = 0
    segments_closed: int = 0
    segment: str = ""


@dataclass
class WriterStats:
    """What the disk thread did. ``write_lag_ns``: at the last write, how long the oldest
    record of that write had waited since it was received. ``fsync_seconds``: total time in
    fsync; ``fsyncs``: how many."""

    streams: dict[str, StreamStats] = field(default_factory=dict)
    writes: int = 0
    fsyncs: int = 0
    fsync_seconds: float = 0.0
    write_lag_ns: int = 0
    segments_compressed: int = 0
    compression_failures: int = 0
    error: str = ""

    def stream(self, name: str) -> StreamStats:
        s = self.streams.get(name)
        if s is None:
            s = self.streams[name] = StreamStats()
        return s


class _File:
    __slots__ = ("fd", "path", "pending", "pending_records", "unsynced_records", "unsynced_since")

    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path
        self.pending: list[bytes] = []
        self.pending_records = 0
        self.unsynced_records = 0
        self.unsynced_since = 0.0


_STOP = object()


class DiskWriter:
    """Owns the open segment files of every stream; runs in its own thread.

    directory: the log root (streams are subdirectories). file_mode(stream): permission bits
    of that stream's files (its directory gets the same plus search bits).
    """

    def __init__(
        self,
        directory: Path,
        policy: DurabilityPolicy,
        file_mode: Callable[[str], int],
        stats: WriterStats | None = None,
    ) -> None:
        self.directory = directory
        self.policy = policy
        self.file_mode = file_mode
        self.stats = stats or WriterStats()
        self._queue: queue.Queue[list[Op] | object] = queue.Queue(maxsize=max(policy.queue_batches, 1))
        self._files: dict[str, _File] = {}
        self._pending_records = 0
        self._oldest_pending = 0.0
        self._oldest_first_ns = 0
        self._stop_compress = threading.Event()
        self._compressor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="eventlog-zstd", initializer=_lower_priority
        )
        self._compressions: list[Future[Path | None]] = []
        self._thread = threading.Thread(target=self._run, name="eventlog-disk", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def depth(self) -> int:
        """Batches waiting in the hand-off queue."""
        return self._queue.qsize()

    def put(self, ops: list[Op]) -> None:
        """Hand over operations without blocking; ``queue.Full`` when the bound is reached."""
        if self.stats.error:
            raise OSError(f"disk writer failed: {self.stats.error}")
        self._queue.put_nowait(ops)

    def stop(self, timeout: float = 4.0) -> bool:
        """Write everything handed over, fsync, close; False if that took over ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while self._thread.is_alive():
            try:
                self._queue.put(_STOP, timeout=0.05)
                break
            except queue.Full:
                if time.monotonic() > deadline:
                    return False
        self._thread.join(max(deadline - time.monotonic(), 0.0))
        self._stop_compress.set()
        self._compressor.shutdown(wait=True, cancel_futures=True)
        return not self._thread.is_alive()

    def compress_later(self, path: Path) -> None:
        """Queue a closed segment for compression."""
        fut = self._compressor.submit(compress_segment, path, self.policy.compression_level, self._stop_compress)
        fut.add_done_callback(self._compressed)

    def _compressed(self, fut: Future[Path | None]) -> None:
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            self.stats.compression_failures += 1
            log.error("compression failed", exc_info=exc)
        elif fut.result() is not None:
            self.stats.segments_compressed += 1

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as e:  # a full or failing disk: stop taking data, say why
            self.stats.error = f"{type(e).__name__}: {e}"
            log.exception("disk writer failed")
            self._drain_queue()

    def _drain_queue(self) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()

    def _timeout(self) -> float | None:
        p = self.policy
        now = time.monotonic()
        deadlines = []
        if self._pending_records:
            deadlines.append(self._oldest_pending + p.flush_ms / 1000)
        if p.fsync_ms > 0:
            for f in self._files.values():
                if f.unsynced_records:
                    deadlines.append(f.unsynced_since + p.fsync_ms / 1000)
        if not deadlines:
            return None
        return max(min(deadlines) - now, 0.0)

    def _loop(self) -> None:
        q = self._queue
        while True:
            try:
                item = q.get(timeout=self._timeout())
            except queue.Empty:
                item = None
            while item is not None:
                if item is _STOP:
                    self._shutdown()
                    return
                assert isinstance(item, list)
                for op in item:
                    self._apply(op)
                if self._pending_records >= self.policy.flush_records:
                    break
                try:
                    item = q.get_nowait()
                except queue.Empty:
                    item = None
            self._maybe_flush()
            self._maybe_fsync()

    def _apply(self, op: Op) -> None:
        if op.kind is OpKind.APPEND:
            f = self._files[op.stream]
            f.pending.append(op.data)
            f.pending_records += op.records
            if not self._pending_records:
                self._oldest_pending = time.monotonic()
                self._oldest_first_ns = op.first_time_ns
            self._pending_records += op.records
        elif op.kind is OpKind.OPEN:
            self._open(op)
        else:
            self._close(op)

    def _open(self, op: Op) -> None:
        mode = self.file_mode(op.stream)
        directory = self.directory / op.stream
        directory.mkdir(parents=True, exist_ok=True, mode=mode | ((mode & 0o444) >> 2))
        path = directory / op.name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, mode)
        f = self._files[op.stream] = _File(fd, path)
        self._write_all(fd, op.data)
        os.fsync(fd)
        fsync_dir(directory)
        st = self.stats.stream(op.stream)
        st.segments_opened += 1
        st.segment = op.name
        st.records_written += op.records
        st.records_durable = st.records_written
        st.bytes_written += len(op.data)
        f.unsynced_records = 0

    def _close(self, op: Op) -> None:
        f = self._files.pop(op.stream)
        f.pending.append(op.data)
        f.pending_records += op.records
        self._pending_records += op.records
        self._write(op.stream, f)
        self._fsync(op.stream, f)
        os.close(f.fd)
        self.stats.stream(op.stream).segments_closed += 1
        if op.compress:
            self.compress_later(f.path)

    def _write_all(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]

    def _write(self, stream: str, f: _File) -> None:
        if not f.pending:
            return
        data = f.pending[0] if len(f.pending) == 1 else b"".join(f.pending)
        self._write_all(f.fd, data)
        st = self.stats.stream(stream)
        st.records_written += f.pending_records
        st.bytes_written += len(data)
        self._pending_records -= f.pending_records
        if not f.unsynced_records:
            f.unsynced_since = time.monotonic()
        f.unsynced_records += f.pending_records
        f.pending = []
        f.pending_records = 0
        self.stats.writes += 1

    def _maybe_flush(self) -> None:
        if not self._pending_records:
            return
        p = self.policy
        now = time.monotonic()
        if self._pending_records >= p.flush_records or now - self._oldest_pending >= p.flush_ms / 1000:
            self._flush_all()

    def _flush_all(self) -> None:
        first_ns = self._oldest_first_ns
        for stream, f in self._files.items():
            self._write(stream, f)
        self._pending_records = 0
        if first_ns:
            self.stats.write_lag_ns = max(time.time_ns() - first_ns, 0)

    def _fsync(self, stream: str, f: _File) -> None:
        t0 = time.monotonic()
        os.fsync(f.fd)
        self.stats.fsyncs += 1
        self.stats.fsync_seconds += time.monotonic() - t0
        st = self.stats.stream(stream)
        st.records_durable = st.records_written
        f.unsynced_records = 0

    def _maybe_fsync(self) -> None:
        p = self.policy
        now = time.monotonic()
        for stream, f in self._files.items():
            if not f.unsynced_records:
                continue
            if (p.fsync_records and f.unsynced_records >= p.fsync_records) or (
                p.fsync_ms > 0 and now - f.unsynced_since >= p.fsync_ms / 1000
            ):
                self._fsync(stream, f)

    def _shutdown(self) -> None:
        self._flush_all()
        for stream, f in list(self._files.items()):
            self._fsync(stream, f)
            os.close(f.fd)
        self._files.clear()
