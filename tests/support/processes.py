"""Start real ``kgw`` processes for tests: temp config, loopback ports, readiness, clean stop.

Usage::

    with KgwProcess("sim", config_path, health_port) as sim:
        ...  # sim is ready (GET /health answered 200)

On exit the process gets SIGTERM and must exit within the 5 s shutdown contract; its output is
kept in ``proc.output()`` for assertions and printed when a test fails.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from types import TracebackType
from typing import Any

from services.tools.envinit import fresh_credentials as fresh_credentials  # re-exported for tests

REPO = Path(__file__).resolve().parents[2]
KGW = [sys.executable, "-m", "services.cli"]


PORT_RANGE = (20_000, 32_767)
"""Where test ports come from: below Linux's ephemeral range (32768-60999 by default), so no
``bind(0)`` and no outgoing connection's source port can take a port between the moment it
is handed out and the moment its service binds it."""

_handed_out: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now, never the same twice in one test run.

    A stack's config takes a dozen ports before any service binds them; ports from
    ``bind(0)`` could repeat within that set, or be taken meanwhile as a connection's source
    port, and a service would then fail to bind, or worse, a health probe would talk to another
    service's socket."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(1000):
        port = random.randint(*PORT_RANGE)
        if port in _handed_out:
            continue
        with socket.socket(family, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {PORT_RANGE} on {host}")


def _get_status(url: str, timeout: float) -> int:
    """HTTP status of a GET of ``url``, read within ``timeout`` seconds in all. urllib's
    timeout is per read, so a peer that trickles bytes (a ZeroMQ socket on a port mixed up
    with a health port) could hold it forever; here the whole exchange has one deadline."""
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + timeout
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as s:
        s.sendall(f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n" not in head and len(head) < 64:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no HTTP status line from {url} within {timeout}s")
            s.settimeout(left)
            chunk = s.recv(64)
            if not chunk:
                break
            head += chunk
    status = head.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or not status[0].startswith(b"HTTP/"):
        raise ConnectionError(f"{url} did not answer HTTP: {head[:32]!r}")
    return int(status[1])


def wait_http_ok(url: str, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url`` until it answers 200; fail early if ``proc`` died."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} was ready")
        try:
            if _get_status(url, 1.0) == 200:
                return
        except Exception as e:  # not up yet
            last = e
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}")


class KgwProcess:
    """One ``kgw <args>`` subprocess with its output captured to a temp file."""

    def __init__(
        self,
        *args: str,
        health_url: str | None = None,
        env: dict[str, str] | None = None,
        ready_timeout: float = 20.0,
    ) -> None:
        self.args = list(args)
        self.health_url = health_url
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.ready_timeout = ready_timeout
        self._out = tempfile.NamedTemporaryFile(prefix="kgw-", suffix=".log", delete=False)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> KgwProcess:
        self.proc = subprocess.Popen(
            [*KGW, *self.args], cwd=REPO, env=self.env, stdout=self._out, stderr=subprocess.STDOUT
        )
        if self.health_url:
            try:
                wait_http_ok(self.health_url, self.ready_timeout, self.proc)
            except Exception:
                self.stop()
                sys.stderr.write(self.output())
                raise
        return self

    def output(self) -> str:
        return Path(self._out.name).read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send a signal (default SIGKILL) without waiting."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, timeout: float = 6.0) -> int | None:
        """SIGTERM, then wait; returns the exit code (SIGKILL and None if it hung)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode

    def __enter__(self) -> KgwProcess:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
        if et is not None:
            sys.stderr.write(f"--- output of kgw {' '.join(self.args)} ---\n{self.output()}\n")


def write_config(directory: Path, text: str, name: str = "kgw.toml") -> Path:
    """Write a TOML config for a test and return its path."""
    path = directory / name
    path.write_text(text)
    return path


def toml_value(v: Any) -> str:
    """Render a Python scalar/list as TOML (enough for test configs)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(type(v))
