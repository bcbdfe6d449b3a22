"""Shared pieces of the event-log tests: configs, the writer process, publisher processes, an
independent bus recorder, and reading a log back by publisher."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from common.eventlog.reader import resolve
from common.eventlog.records import Kind, Record
from tests.support.processes import REPO, KgwProcess, free_port, toml_value, write_config


@dataclass
class Ports:
    """Loopback endpoints of one test's bus."""

    feed: str = field(default_factory=lambda: f"tcp://127.0.0.1:{free_port()}")
    router: str = field(default_factory=lambda: f"tcp://127.0.0.1:{free_port()}")
    dropcopy: str = field(default_factory=lambda: f"tcp://127.0.0.1:{free_port()}")
    extra: str = field(default_factory=lambda: f"tcp://127.0.0.1:{free_port()}")
    metrics: int = field(default_factory=free_port)

    def publishers(self) -> dict[str, str]:
        return {"feed": self.feed, "router": self.router, "dropcopy": self.dropcopy, "strategy": self.extra}


def eventlog_config(tmp: Path, ports: Ports, directory: Path, **settings: Any) -> Path:
    """A config whose [bus] publishers and one extra [eventlog.publishers] are our ports."""
    lines = [
        "[bus]",
        f"feed_pub = {toml_value(ports.feed)}",
        f"router_pub = {toml_value(ports.router)}",
        f"dropcopy_pub = {toml_value(ports.dropcopy)}",
        "heartbeat_timeout = 2.0",
        "[eventlog]",
        f"metrics_port = {ports.metrics}",
        f"directory = {toml_value(str(directory))}",
        *(f"{k} = {toml_value(v)}" for k, v in settings.items()),
        "[eventlog.publishers]",
        f"strategy = {toml_value(ports.extra)}",
    ]
    return write_config(tmp, "\n".join(lines) + "\n", name=f"eventlog-{ports.metrics}.toml")


def eventlog_process(config: Path, ports: Ports) -> KgwProcess:
    return KgwProcess("eventlog", "--config", str(config), health_url=f"http://127.0.0.1:{ports.metrics}/health")


def health(ports: Ports) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{ports.metrics}/health", timeout=2) as r:
        return dict(json.loads(r.read()))


def wait_until(cond: Any, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def start_publisher(service: str, endpoint: str, out: Path, **opts: Any) -> subprocess.Popen[bytes]:
    """Start tests/eventlog/publisher_proc.py (options as --key value)."""
    args = [sys.executable, "-m", "tests.eventlog.publisher_proc", "--service", service, "--endpoint", endpoint]
    for k, v in opts.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    return subprocess.Popen([*args, "--out", str(out)], cwd=REPO)


def finish(proc: subprocess.Popen[bytes], out: Path, timeout: float = 60.0) -> dict[str, Any]:
    assert proc.wait(timeout) == 0, f"publisher exited with {proc.returncode}"
    return dict(json.loads(out.read_text()))


class BusRecorder:
    """An independent subscriber (plain pyzmq, no code of ours): one SUB socket per publisher,
    everything recorded as (topic, payload) in arrival order, per publisher name."""

    def __init__(self, publishers: dict[str, str]) -> None:
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        self.socks: dict[zmq.Socket[bytes], str] = {}
        self.seen: dict[str, list[tuple[bytes, bytes]]] = defaultdict(list)
        for name, ep in publishers.items():
            s = self.ctx.socket(zmq.SUB)
            s.setsockopt(zmq.RCVHWM, 0)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.SUBSCRIBE, b"")
            s.connect(ep)
            self.socks[s] = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        poller = zmq.Poller()
        for s in self.socks:
            poller.register(s, zmq.POLLIN)
        while not self._stop.is_set():
            for s, _ in poller.poll(50):
                while True:
                    try:
                        topic, payload = s.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self.seen[self.socks[s]].append((topic, payload))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for s in self.socks:
            s.close(0)


def read_log(directory: Path) -> dict[str, list[Record]]:
    """Every good record of each stream, in log order."""
    out: dict[str, list[Record]] = {}
    for stream, segs in resolve([directory]).items():
        out[stream] = [rec for seg in segs for rec in seg.records()]
    return out


def messages_by_publisher(log: dict[str, list[Record]]) -> dict[tuple[str, str], list[tuple[bytes, bytes]]]:
    """(topic, payload) of every MESSAGE, per (publisher, stream), in log order."""
    out: dict[tuple[str, str], list[tuple[bytes, bytes]]] = defaultdict(list)
    for stream, recs in log.items():
        for r in recs:
            if r.kind == Kind.MESSAGE:
                out[(r.publisher, stream)].append((r.topic, r.payload))
    return out


def split_streams(seen: dict[str, list[tuple[bytes, bytes]]]) -> dict[tuple[str, str], list[tuple[bytes, bytes]]]:
    """A recorder's messages per (publisher, stream), as the log splits them."""
    out: dict[tuple[str, str], list[tuple[bytes, bytes]]] = defaultdict(list)
    for name, msgs in seen.items():
        for topic, payload in msgs:
            out[(name, "private" if topic.startswith(b"oms.") else "public")].append((topic, payload))
    return out


def events(log: dict[str, list[Record]], kind: Kind) -> list[dict[str, Any]]:
    return [r.fields or {} for recs in log.values() for r in recs if r.kind == kind]


def kgw_log(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``kgw log ...`` as a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "log", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )
