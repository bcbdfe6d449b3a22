"""The test harness's own guarantees: ports never handed out twice, and a readiness probe that
cannot hang on a socket that is not HTTP (a port mixed up with a ZeroMQ endpoint once held a
stack's start-up until the suite's timeout)."""

from __future__ import annotations

import threading
import time

import pytest
import zmq

from tests.support.processes import PORT_RANGE, free_port, wait_http_ok


def test_free_ports_are_unique_and_outside_the_ephemeral_range() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(PORT_RANGE[0] <= p <= PORT_RANGE[1] < 32768 for p in ports)


def test_readiness_probe_gives_up_on_a_trickling_zeromq_peer() -> None:
    ctx = zmq.Context.instance()
    pub = ctx.socket(zmq.PUB)
    port = free_port()
    pub.bind(f"tcp://127.0.0.1:{port}")
    done = threading.Event()

    def publish() -> None:  # a few bytes every 0.2 s: each read succeeds, no status line comes
        while not done.is_set():
            pub.send_multipart([b"sys.x.heartbeat.", b"{}"])
            time.sleep(0.2)

    t = threading.Thread(target=publish)
    t.start()
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            wait_http_ok(f"http://127.0.0.1:{port}/health", timeout=2.0)
    finally:
        done.set()
        t.join()
        pub.close(0)
    assert time.monotonic() - started < 10
