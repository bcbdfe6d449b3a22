"""The whole gateway as real processes for end-to-end tests, on free loopback ports.

:func:`stack_config` turns the shipped default config (deploy/config/sim.toml) into one where
every port is free and the event log lives in a temp directory; :class:`Stack` starts the five
services one by one (so a test can kill and restart any of them), or :func:`honcho` starts them
the way the README does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from common import config

from .processes import REPO, KgwProcess, free_port, fresh_credentials, wait_http_ok

SERVICES = ("sim", "feed", "router", "dropcopy", "eventlog")
_PORT = re.compile(r"(127\.0\.0\.1:|port = )(98\d\d)\b")


@dataclass
class StackConfig:
    """A test stack's config file, its environment and the loaded config."""

    path: Path
    env: dict[str, str]
    config: config.Config
    eventlog_dir: Path
    ports: dict[int, int] = field(default_factory=dict)

    def health_url(self, service: str) -> str:
        section = self.config.document[service]
        return f"http://127.0.0.1:{section['metrics_port']}/health"


def stack_config(tmp_path: Path, extra: str = "") -> StackConfig:
    """The default config with every 98xx port replaced by a free one, the event log in
    ``tmp_path``, fresh credentials in the environment, and ``extra`` TOML appended."""
    text = (REPO / "deploy" / "config" / "sim.toml").read_text()
    ports: dict[int, int] = {}

    def swap(m: re.Match[str]) -> str:
        old = int(m.group(2))
        if old not in ports:
            ports[old] = free_port()
        return f"{m.group(1)}{ports[old]}"

    text = _PORT.sub(swap, text)
    log_dir = tmp_path / "eventlog"
    text = re.sub(r'(?m)^directory = ".*"', f'directory = "{log_dir}"', text)
    path = tmp_path / "stack.toml"
    path.write_text(text + "\n" + extra)
    key, secret = fresh_credentials()
    env = {
        "KRAKEN_FUTURES_API_KEY": key,
        "KRAKEN_FUTURES_API_SECRET": secret,
        "KGW_CONFIG": str(path),
        "PYTHONUNBUFFERED": "1",
    }
    return StackConfig(path=path, env=env, config=config.load(path), eventlog_dir=log_dir, ports=ports)


class Stack:
    """The five services as separate supervised processes."""

    def __init__(self, cfg: StackConfig) -> None:
        self.cfg = cfg
        self.procs: dict[str, KgwProcess] = {}

    def start(self, service: str) -> KgwProcess:
        proc = KgwProcess(
            service,
            "--config",
            str(self.cfg.path),
            health_url=self.cfg.health_url(service),
            env=self.cfg.env,
            ready_timeout=60,
        )
        self.procs[service] = proc
        return proc.start()

    def start_all(self) -> Stack:
        for s in SERVICES:
            self.start(s)
        return self

    def restart(self, service: str, kill: bool = True) -> KgwProcess:
        """Kill -9 (or SIGTERM) one service and start it again."""
        proc = self.procs[service]
        if kill:
            proc.kill()
            assert proc.proc is not None
            proc.proc.wait(10)
        else:
            proc.stop()
        return self.start(service)

    def stop_all(self) -> dict[str, int | None]:
        return {s: p.stop() for s, p in reversed(list(self.procs.items()))}

    def output(self) -> str:
        return "\n".join(f"--- {s} ---\n{p.output()[-4000:]}" for s, p in self.procs.items())


def honcho(cfg: StackConfig, log_path: Path) -> subprocess.Popen[bytes]:
    """``honcho start`` from the repo's Procfile with the test config (as the README does)."""
    env_file = log_path.parent / "stack.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in cfg.env.items()))
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, **cfg.env, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    out = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "honcho", "-f", str(REPO / "Procfile"), "-e", str(env_file), "start"],
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def wait_ready(cfg: StackConfig, timeout: float = 40.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    for s in SERVICES:
        wait_http_ok(cfg.health_url(s), timeout, proc)
