"""``kgw tail PREFIX``: print live bus messages whose topic starts with PREFIX.

Connects to every publisher of ``[bus]`` (or ``--endpoint``) and prints one line per message:
pretty (time, topic, type and the body's fields) or, with ``--json``, the payload as a JSON line
with the topic and receive time added. Gaps, restarts and silent publishers are printed too, so
nothing on the bus is lost from view. Stops after ``--count`` messages or ``--seconds``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime

import click
import orjson

from common import config
from common.bus import BusEvent, Received, Subscriber
from services.cli import config_option

ENVELOPE = ("type", "source", "session", "seq", "send_time", "receive_time")


def pretty(item: Received) -> str:
    """One human line for a message."""
    body = orjson.loads(item.payload)
    ts = datetime.fromtimestamp(item.receive_time / 1e9, UTC).strftime("%H:%M:%S.%f")
    fields = " ".join(f"{k}={orjson.dumps(v).decode()}" for k, v in body.items() if k not in ENVELOPE)
    return f"{ts} {item.topic.decode()} {body.get('type')} seq={body.get('seq')} {fields}"


def as_json(item: Received) -> str:
    body = orjson.loads(item.payload)
    body["_topic"] = item.topic.decode()
    body["_received"] = item.receive_time
    return orjson.dumps(body).decode()


async def run(publishers: dict[str, str], prefix: str, json_out: bool, count: int, seconds: float) -> int:
    sub = Subscriber(publishers, [prefix], name="tail")
    await sub.start()
    seen = 0
    deadline = time.monotonic() + seconds if seconds > 0 else None
    out = sys.stdout
    try:
        async for batch in sub.batches():
            for item in batch:
                if isinstance(item, Received):
                    out.write((as_json(item) if json_out else pretty(item)) + "\n")
                    seen += 1
                    if count and seen >= count:
                        return 0
                elif isinstance(item, BusEvent):
                    note = f"# {item.kind} publisher={item.publisher} {item.topic} {item.text}"
                    sys.stderr.write(note.rstrip() + "\n")
            out.flush()
            if deadline is not None and time.monotonic() > deadline:
                return 0
    finally:
        await sub.close()
    return 0


@click.command("tail")
@click.argument("prefix", default="")
@config_option
@click.option("--endpoint", "endpoints", multiple=True, help="PUB endpoint(s) instead of [bus] (repeatable).")
@click.option("--json", "json_out", is_flag=True, help="JSON lines instead of pretty lines.")
@click.option("--count", type=int, default=0, help="Stop after this many messages (0 = never).")
@click.option("--seconds", type=float, default=0.0, help="Stop after this many seconds (0 = never).")
def command(
    prefix: str, config_file: str | None, endpoints: tuple[str, ...], json_out: bool, count: int, seconds: float
) -> None:
    """Print live bus messages whose topic starts with PREFIX (default: everything)."""
    if endpoints:
        publishers = {f"ep{i}": ep for i, ep in enumerate(endpoints)}
    else:
        try:
            publishers = config.load(config_file).bus.publishers()
        except config.ConfigError as e:
            raise click.ClickException(str(e)) from None
    try:
        asyncio.run(run(publishers, prefix, json_out, count, seconds))
    except KeyboardInterrupt:
        pass
