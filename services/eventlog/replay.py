"""``kgw log replay``: republish recorded messages onto a PUB endpoint, byte for byte.

Frames are exactly what was recorded (``[topic, payload]``, with the original ``source``,
``session`` and ``seq``), so any subscriber sees the past session as it happened. Pace: the
recorded gaps between receive times divided by ``speed`` (0 = as fast as possible). Sends
block when a subscriber is slow (no silent drop: the socket's HWM back-pressures the replay).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import zmq

from common.bus.sockets import make_socket
from common.eventlog.records import Record


class Replayer:
    """An XPUB bound to ``endpoint`` that sends recorded messages.

    sndhwm: send high-water mark in messages; linger_s: seconds :meth:`close` waits for
    queued messages to reach subscribers."""

    def __init__(self, endpoint: str, *, sndhwm: int = 100_000, linger_s: float = 10.0) -> None:
        self.sock = make_socket(zmq.XPUB, sndhwm=sndhwm)
        self.sock.setsockopt(zmq.XPUB_VERBOSE, 1)
        self.sock.bind(endpoint)
        self.linger_s = linger_s
        self.sent = 0

    def wait_subscribers(self, count: int, timeout: float) -> int:
        """Wait until ``count`` subscriptions arrived (or ``timeout`` s); how many did."""
        seen = 0
        deadline = time.monotonic() + timeout
        while seen < count:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000) + 1):
                break
            frame = self.sock.recv()
            if frame[:1] == b"\x01":
                seen += 1
        return seen

    def send(self, records: Iterable[Record], speed: float = 0.0) -> int:
        """Send MESSAGE records in order; other kinds are skipped. Returns how many were sent."""
        sock = self.sock
        first_rec = 0
        t0 = 0.0
        n = 0
        for rec in records:
            if not rec.is_message:
                continue
            if speed > 0:
                if not first_rec:
                    first_rec = rec.time_ns
                    t0 = time.monotonic()
                else:
                    wait = (rec.time_ns - first_rec) / 1e9 / speed - (time.monotonic() - t0)
                    if wait > 0.0005:
                        time.sleep(wait)
            sock.send(rec.topic, zmq.SNDMORE)
            sock.send(rec.payload)
            n += 1
        self.sent += n
        return n

    def close(self) -> None:
        self.sock.setsockopt(zmq.LINGER, int(self.linger_s * 1000))
        self.sock.close()
