"""``kgw status``: every service's readiness, heartbeats, lag and streams at a glance.

It reads ``/health`` of each service (readiness and details), and listens on the bus for
``--seconds`` to see each publisher's heartbeats (age of the last one, and lag = receive time
minus send time), its StreamStatus per exchange connection and its GatewayStatus.
Exit code 0 when every service answered ready, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import sys
import time
import urllib.request
from dataclasses import dataclass, field

import click
import orjson

from common import config
from common.bus import DealerClient, Received, Subscriber
from common.messages import GatewayStatus, Heartbeat, SnapshotEnd, SnapshotEntry, SnapshotRequest, StreamStatus, decode
from services.cli import config_option

#: service -> config section holding its metrics_port
SERVICES = ("sim", "feed", "router", "dropcopy", "eventlog")


@dataclass
class Seen:
    """What the bus told about one publisher."""

    heartbeat_at: float = 0.0
    lag_us: float | None = None
    streams: dict[str, StreamStatus] = field(default_factory=dict)
    gateway: GatewayStatus | None = None


def health(host: str, port: int) -> dict[str, object] | None:
    """The /health JSON of a service, or None if it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=1.0) as r:
            out = orjson.loads(r.read())
    except urllib.error.HTTPError as e:
        out = orjson.loads(e.read() or b"{}")
    except OSError:
        return None
    return out if isinstance(out, dict) else None


async def current_state(name: str, endpoint: str, seen: Seen, timeout: float) -> None:
    """Ask a state service (feed snapshot, drop-copy download) for its ``sys.`` topics: the
    StreamStatus of every connection and the GatewayStatus, as they are now."""
    client = DealerClient(endpoint)
    await client.start()
    try:
        client.send(SnapshotRequest(request_id=f"status-{name}", topics=[f"sys.{name}."]))
        async with asyncio.timeout(timeout):
            while True:
                msg = await client.recv()
                if isinstance(msg, SnapshotEnd):
                    return
                if isinstance(msg, SnapshotEntry):
                    if isinstance(msg.message, StreamStatus):
                        seen.streams[msg.message.stream] = msg.message
                    elif isinstance(msg.message, GatewayStatus):
                        seen.gateway = msg.message
    except TimeoutError:
        pass
    finally:
        await client.close()


async def listen(publishers: dict[str, str], state_services: dict[str, str], seconds: float) -> dict[str, Seen]:
    sub = Subscriber(publishers, ["sys."], name="status")
    await sub.start()
    seen: dict[str, Seen] = {name: Seen() for name in publishers}
    await asyncio.gather(*(current_state(n, ep, seen[n], seconds) for n, ep in state_services.items()))
    try:
        async with asyncio.timeout(seconds):
            async for batch in sub.batches():
                for item in batch:
                    if not isinstance(item, Received):
                        continue
                    msg = decode(item.payload)
                    s = seen[item.publisher]
                    if isinstance(msg, Heartbeat):
                        s.heartbeat_at = time.time()
                        s.lag_us = (item.receive_time - msg.send_time) / 1000
                    elif isinstance(msg, StreamStatus):
                        s.streams[msg.stream] = msg
                    elif isinstance(msg, GatewayStatus):
                        s.gateway = msg
    except TimeoutError:
        pass
    finally:
        await sub.close()
    return seen


def report(cfg: config.Config, seen: dict[str, Seen]) -> tuple[str, bool]:
    lines = [f"{'service':<10} {'health':<10} {'heartbeat':<12} {'lag':<10} streams"]
    all_ready = True
    now = time.time()
    for name in SERVICES:
        section = cfg.document.get(name, {})
        port = int(section.get("metrics_port", 0)) if isinstance(section, dict) else 0
        h = health(str(section.get("metrics_host", "127.0.0.1")), port) if port else None
        state = "down" if h is None else ("ready" if h.get("ready") else "not ready")
        all_ready &= state == "ready"
        s = seen.get(name)
        beat = "-" if s is None or not s.heartbeat_at else f"{now - s.heartbeat_at:.1f}s ago"
        lag = "-" if s is None or s.lag_us is None else f"{s.lag_us:.0f}us"
        streams = (
            "" if s is None else " ".join(f"{k}:{v.connection_status.value}" for k, v in sorted(s.streams.items()))
        )
        details = h.get("details") if h is not None else None
        if isinstance(details, dict) and details and (not streams or not h.get("ready")):  # type: ignore[union-attr]
            shown = {k: v for k, v in details.items() if isinstance(v, str | int | float | bool)}
            streams = (streams + " " + " ".join(f"{k}={v}" for k, v in shown.items())).strip()
        lines.append(f"{name:<10} {state:<10} {beat:<12} {lag:<10} {streams}")
    return "\n".join(lines), all_ready


@click.command("status")
@config_option
@click.option("--seconds", type=float, default=1.5, show_default=True, help="How long to listen to the bus.")
def command(config_file: str | None, seconds: float) -> None:
    """Every service's readiness, heartbeats, lag and streams."""
    try:
        cfg = config.load(config_file)
    except config.ConfigError as e:
        raise click.ClickException(str(e)) from None
    state_services = {"feed": cfg.bus.feed_snapshot, "dropcopy": cfg.bus.dropcopy_download}
    seen = asyncio.run(listen(cfg.bus.publishers(), state_services, seconds))
    text, ok = report(cfg, seen)
    print(text)
    sys.exit(0 if ok else 1)
