"""``kgw sim`` as a command: prints its URLs, answers /health and /metrics, stops on SIGTERM,
and takes the default account from KRAKEN_FUTURES_API_KEY/SECRET."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from tests.support.processes import KgwProcess, free_port, fresh_credentials, write_config


def test_cli_prints_urls_and_stops(tmp_path: Path) -> None:
    port, mport = free_port(), free_port()
    cfg = write_config(tmp_path, f"[sim]\nport = 1\nmetrics_port = {mport}\n")
    key, secret = fresh_credentials()
    proc = KgwProcess("sim", "--config", str(cfg), "--port", str(port),
                      health_url=f"http://127.0.0.1:{mport}/health",
                      env={"KRAKEN_FUTURES_API_KEY": key, "KRAKEN_FUTURES_API_SECRET": secret})
    with proc:
        with urllib.request.urlopen(f"http://127.0.0.1:{mport}/health", timeout=2) as r:
            health = r.read().decode()
        assert '"default"' in health  # the env account is funded and named "default"
        with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=2) as r:
            assert b"sim_ws_connections" in r.read()
        out = proc.output()
        assert f"http://127.0.0.1:{port}/derivatives/api/v3" in out
        assert f"ws://127.0.0.1:{port}/ws/v1" in out
        t0 = time.monotonic()
        assert proc.stop() == 0
        assert time.monotonic() - t0 < 5
    assert secret not in proc.output() and key not in proc.output()
