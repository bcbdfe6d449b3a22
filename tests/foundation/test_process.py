"""Process basics through real subprocesses: CLI, JSON logs, /metrics, /health, SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from services.cli import COMMANDS
from tests.support.processes import REPO, free_port, wait_http_ok

SERVICE = textwrap.dedent(
    """
    import asyncio, logging, sys
    from common.runtime import run_service

    async def main(ctx):
        logging.getLogger("demo").info("working", extra={"fields": {"answer": 42}})
        await asyncio.sleep(0.2)
        ctx.set_ready(True, streams=1)
        await ctx.stopping.wait()
        if sys.argv[2] == "slow":
            await asyncio.sleep(60)   # ignores the stop: must be cancelled within the grace period

    sys.exit(run_service("demo", main, metrics_port=int(sys.argv[1])))
    """
)


def start(tmp_path: Path, mode: str) -> tuple[subprocess.Popen[bytes], int]:
    script = tmp_path / "svc.py"
    script.write_text(SERVICE)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port), mode], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    return proc, port


def test_kgw_help_lists_every_subcommand() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "--help"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    for name in (
        "sim",
        "feed",
        "router",
        "dropcopy",
        "eventlog",
        "log",
        "tail",
        "keygen",
        "env-init",
        "book",
        "order",
        "status",
    ):
        assert name in COMMANDS
        assert f"  {name} " in out


@pytest.mark.parametrize("mode", ["clean", "slow"])
def test_service_health_metrics_logs_and_sigterm_within_5s(tmp_path: Path, mode: str) -> None:
    proc, port = start(tmp_path, mode)
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/health", 15, proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as r:
            health = json.loads(r.read())
        assert health["service"] == "demo" and health["ready"] is True and health["details"] == {"streams": 1}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as r:
            assert b"python_info" in r.read()
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
        assert time.monotonic() - t0 < 5.0
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert all({"ts", "level", "service", "logger", "msg"} <= set(line) for line in lines)
    assert any(line["msg"] == "working" and line["answer"] == 42 for line in lines)
    assert lines[-1]["msg"] == "stopped"
    assert proc.returncode == 0


def test_health_is_503_until_ready(tmp_path: Path) -> None:
    proc, port = start(tmp_path, "clean")
    try:
        deadline = time.monotonic() + 10
        codes = set()
        while time.monotonic() < deadline and 200 not in codes:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    codes.add(r.status)
            except urllib.error.HTTPError as e:
                codes.add(e.code)
            except OSError:
                pass
            time.sleep(0.02)
        assert 503 in codes and 200 in codes
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_env_init_writes_fresh_credentials_once(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    run = [sys.executable, "-m", "services.cli", "env-init", "--path", str(env)]
    subprocess.run(run, cwd=REPO, check=True, capture_output=True)
    first = env.read_text()
    values = dict(line.split("=", 1) for line in first.splitlines() if "=" in line and not line.startswith("#"))
    assert len(values["KRAKEN_FUTURES_API_KEY"]) > 20 and len(values["KRAKEN_FUTURES_API_SECRET"]) > 40
    assert env.stat().st_mode & 0o077 == 0
    subprocess.run(run, cwd=REPO, check=True, capture_output=True)
    assert env.read_text() == first  # kept
    subprocess.run([*run, "--force"], cwd=REPO, check=True, capture_output=True)
    assert env.read_text() != first


def test_a_taken_metrics_port_is_waited_for_then_one_clear_error(tmp_path: Path) -> None:
    """A predecessor still closing its port is waited for (BIND_RETRY_S); a port that stays
    taken ends the service with exit code 1 and one error line, not a traceback."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    script = tmp_path / "svc.py"
    script.write_text(SERVICE)
    try:
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, str(script), str(port), "clean"], cwd=REPO, capture_output=True,
                           timeout=30)
        waited = time.monotonic() - t0
    finally:
        holder.close()
    assert r.returncode == 1
    lines = [json.loads(line) for line in r.stdout.decode().splitlines()]
    [error] = [line for line in lines if line["level"] == "ERROR"]
    assert error["msg"] == "cannot start" and f"127.0.0.1:{port}" in error["error"], error
    assert b"Traceback" not in r.stdout + r.stderr
    assert waited >= 4.5  # it retried before giving up


def test_a_port_freed_during_the_retry_is_taken(tmp_path: Path) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    threading.Timer(1.0, holder.close).start()
    script = tmp_path / "svc.py"
    script.write_text(SERVICE)
    proc = subprocess.Popen([sys.executable, str(script), str(port), "clean"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/health", 15, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert proc.returncode == 0
