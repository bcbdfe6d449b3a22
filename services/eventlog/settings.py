"""``[eventlog]``: typed settings of the event-log writer. Every field has a default.

Example::

    [eventlog]
    directory = "var/eventlog"      # <directory>/public and <directory>/private
    segment_max_mb = 256
    rotate_interval_s = 86400       # daily, at UTC midnight
    fsync_ms = 1000

    [eventlog.publishers]           # beyond [bus]: more PUB endpoints to record
    strategy = "tcp://127.0.0.1:9850"
"""

from __future__ import annotations

import msgspec

from common.config import ServiceSettings
from common.eventlog.diskwriter import DurabilityPolicy
from common.eventlog.planner import RotationPolicy


class Settings(ServiceSettings, kw_only=True, forbid_unknown_fields=True):
    """``[eventlog]``.

    metrics_port: ``/metrics`` and ``/health`` port (0 = none).
    directory: log root; relative paths are from the working directory. Public market data
        goes to ``<directory>/public``, private topics (``oms.``) to ``<directory>/private``.
    publishers: extra PUB endpoints to record, name -> endpoint, beyond every ``[bus]``
        publisher (feed, router, dropcopy).
    exclude: names of ``[bus]`` publishers not to record.
    segment_max_mb: rotate a segment once it holds this many MiB (0 = never by size).
    rotate_interval_s: rotate when a record crosses a multiple of this many seconds since the
        epoch (86400 = daily at UTC midnight; 0 = never by time).
    compress: zstd-compress closed segments (in a background thread).
    compression_level: zstd level, 1 (fast) .. 22 (small). 6: about 53 bytes per market-data
        message at ~145 MB/s of one core (3: ~61 bytes at ~270 MB/s); see bench/eventlog_throughput.py.
    flush_ms: most milliseconds a record waits in memory before it is written to the OS.
    flush_records: most records held in memory before they are written.
    fsync_ms: fsync at most this many milliseconds after a write (0 = no time condition).
    fsync_records: fsync once this many records were written since the last (0 = no count
        condition). With both 0, fsync only when a segment is closed.
    queue_batches: bound of the queue to the disk thread, in batches (a batch is what one
        wake-up drained from the bus, at most ``max_batch`` messages per publisher); when full,
        the bus sockets are not read, so their HWM and then the publishers' absorb the burst.
    max_batch: most messages taken from one publisher per wake-up.
    rcvhwm: receive high-water mark per publisher socket, in messages.
    public_file_mode / private_file_mode: permission bits of each stream's files (octal in
        TOML: ``0o640``); directories get the matching search bits.
    """

    metrics_port: int = 9842
    directory: str = "var/eventlog"
    publishers: dict[str, str] = msgspec.field(default_factory=dict)
    exclude: list[str] = msgspec.field(default_factory=list)
    segment_max_mb: float = 256.0
    rotate_interval_s: float = 86_400.0
    compress: bool = True
    compression_level: int = 6
    flush_ms: float = 20.0
    flush_records: int = 65_536
    fsync_ms: float = 1000.0
    fsync_records: int = 0
    queue_batches: int = 4096
    max_batch: int = 4096
    rcvhwm: int = 2_000_000
    public_file_mode: int = 0o640
    private_file_mode: int = 0o600

    def rotation(self) -> RotationPolicy:
        return RotationPolicy(
            max_bytes=int(self.segment_max_mb * 1024 * 1024),
            rotate_interval_ns=int(self.rotate_interval_s * 1e9),
            compress=self.compress,
        )

    def durability(self) -> DurabilityPolicy:
        return DurabilityPolicy(
            flush_ms=self.flush_ms,
            flush_records=self.flush_records,
            fsync_ms=self.fsync_ms,
            fsync_records=self.fsync_records,
            queue_batches=self.queue_batches,
            compression_level=self.compression_level,
        )
