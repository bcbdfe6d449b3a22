"""Record mode: raw Kraken frames with their receive time, in the layout the simulator's replay
mode reads (``common/kraken/recording.py``)::

    ws://127.0.0.1:9800/ws/v1 <-> 1626994927.139662                    connection opened
    ws://127.0.0.1:9800/ws/v1 <- 1626994927.582819: {"event":"subscribe",...}   sent
    1626994927.583642: {"event":"info","version":1}                     received
    http://127.0.0.1:9800/derivatives/api/v3/instruments -> 1626994927.137682: {...}

One file per feed-handler run (every connection interleaved; the replay filters frames by what
each client subscribes to). Frames are written byte for byte; a frame holding a raw newline
(never valid inside a JSON string, insignificant outside one) has it replaced by a space so the
one-frame-per-line layout holds. Writes go to a 1 MiB buffer flushed every
``record_flush_interval`` seconds, so the receive path never waits on the disk.
"""

from __future__ import annotations

import time
from pathlib import Path

BUFFER = 1 << 20
"""Bytes buffered before the file is written (besides the periodic flush)."""


def _ts(time_ns: int) -> bytes:
    return b"%d.%06d" % divmod(time_ns // 1000, 1_000_000)


def _line(data: bytes) -> bytes:
    return data.replace(b"\n", b" ") if b"\n" in data else data


class Recorder:
    """Appends frames to ``<directory>/feed-<UTC start time>.txt``; a FrameTap for every stream."""

    def __init__(self, directory: str | Path) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.path = d / time.strftime("feed-%Y%m%dT%H%M%SZ.txt", time.gmtime())
        n = 1
        while self.path.exists():
            n += 1
            self.path = d / time.strftime(f"feed-%Y%m%dT%H%M%SZ-{n}.txt", time.gmtime())
        self._f = self.path.open("ab", buffering=BUFFER)
        self.frames = 0

    def connected(self, url: str, time_ns: int) -> None:
        self._f.write(b"%s <-> %s\n" % (url.encode(), _ts(time_ns)))

    def sent(self, url: str, time_ns: int, data: bytes) -> None:
        self._f.write(b"%s <- %s: %s\n" % (url.encode(), _ts(time_ns), _line(data)))

    def received(self, time_ns: int, data: bytes) -> None:
        self.frames += 1
        self._f.write(b"%s: %s\n" % (_ts(time_ns), _line(data)))

    def rest(self, url: str, time_ns: int, body: bytes) -> None:
        """A REST answer (the instruments download), so a replay serves the same symbols."""
        self._f.write(b"%s -> %s: %s\n" % (url.encode(), _ts(time_ns), _line(body)))

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()
