"""Fixtures of the router tests: a real ``kgw sim`` subprocess on free loopback ports with
fresh credentials, and helpers to drive its admin API."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import KgwProcess, free_port, fresh_credentials, write_config


@dataclass
class Sim:
    """A running simulator: REST base URL, admin root, and the default account's keys."""

    port: int
    key: str
    secret: str
    other_key: str
    other_secret: str
    proc: KgwProcess

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/derivatives/api/v3"

    def admin(self, path: str, body: dict[str, Any] | None = None, method: str = "POST") -> dict[str, Any]:
        """Call ``/_sim/<path>`` (POST with a JSON body by default); the decoded JSON answer."""
        url = f"http://127.0.0.1:{self.port}/_sim/{path}"
        data = json.dumps(body or {}).encode() if method == "POST" else None
        req = urllib.request.Request(url, data=data, method=method)
        with urllib.request.urlopen(req, timeout=5) as r:
            out = json.loads(r.read())
        assert isinstance(out, dict)
        return out


def start_sim(tmp: Path, extra: str = "") -> Sim:
    port, mport = free_port(), free_port()
    key, secret = fresh_credentials()
    okey, osecret = fresh_credentials()
    cfg = write_config(tmp, f"""[sim]
port = {port}
metrics_port = {mport}
book_rate = 0.0
trade_rate = 0.0
{extra}
[sim.accounts.other]
api_key_env = "SIM_OTHER_KEY"
api_secret_env = "SIM_OTHER_SECRET"
""", "sim.toml")
    env = {"KRAKEN_FUTURES_API_KEY": key, "KRAKEN_FUTURES_API_SECRET": secret,
           "SIM_OTHER_KEY": okey, "SIM_OTHER_SECRET": osecret}
    proc = KgwProcess("sim", "--config", str(cfg), health_url=f"http://127.0.0.1:{mport}/health", env=env)
    proc.start()
    return Sim(port, key, secret, okey, osecret, proc)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    s = start_sim(tmp_path_factory.mktemp("sim"))
    try:
        yield s
    finally:
        s.proc.stop()


@pytest.fixture(autouse=True)
def _no_inherited_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set the credentials they mean to use; nothing leaks in from the shell."""
    for var in ("KRAKEN_FUTURES_API_KEY", "KRAKEN_FUTURES_API_SECRET"):
        if var in os.environ:
            monkeypatch.delenv(var)
