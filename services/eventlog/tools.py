"""``kgw log``: read, summarise, verify and replay event logs.

PATH arguments are a log root (``var/eventlog``: both streams), a stream directory
(``var/eventlog/public``) or segment files; compressed segments are read the same way.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import orjson

from common.eventlog.reader import SegmentFile
from common.eventlog.records import Record
from common.eventlog.segment import STREAMS
from common.eventlog.verify import StreamVerifier

from .selection import Selection, parse_time, select
from .stats import LogStats

PROGRESS_MIN_BYTES = 32 * 1024 * 1024
"""Show a progress bar (on stderr) when the files read add up to more than this."""

paths_argument = click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
progress_option = click.option(
    "--progress/--no-progress", default=None, help="Progress bar on stderr (default: for inputs over 32 MiB)."
)


def selection_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """PATHS and the filter options, handed to the command as one ``sel`` (a Selection)."""

    @functools.wraps(f)
    def wrapper(
        paths: tuple[Path, ...],
        streams: tuple[str, ...],
        topics: tuple[str, ...],
        types: tuple[str, ...],
        since: str | None,
        until: str | None,
        **kw: Any,
    ) -> Any:
        if not paths:
            raise click.UsageError("name a log directory or segment files")
        try:
            sel = Selection(list(paths), streams or STREAMS, topics, types, parse_time(since), parse_time(until))
        except ValueError as e:
            raise click.BadParameter(str(e)) from None
        return f(sel, **kw)

    opts = [
        paths_argument,
        click.option("--stream", "streams", multiple=True, type=click.Choice(STREAMS), help="Stream(s) to read."),
        click.option("--topic", "topics", multiple=True, help="Topic prefix (repeatable)."),
        click.option("--type", "types", multiple=True, help="Message type, e.g. TopOfBook (repeatable)."),
        click.option("--since", default=None, help="From this receive time (ISO 8601 UTC, or ns)."),
        click.option("--until", default=None, help="Before this receive time (ISO 8601 UTC, or ns)."),
    ]
    out: Callable[..., Any] = wrapper
    for opt in reversed(opts):
        out = opt(out)
    return out


class Progress:
    """A progress bar over file bytes, on stderr, only for big inputs."""

    def __init__(self, enabled: bool | None) -> None:
        self.enabled = enabled
        self.total = 0
        self.bar: Any = None

    def add(self, seg: SegmentFile) -> None:
        self.total += seg.path.stat().st_size
        seg.on_progress = self.step

    def step(self, n: int) -> None:
        if self.bar is None:
            show = self.enabled if self.enabled is not None else self.total > PROGRESS_MIN_BYTES
            if not show:
                return
            self.bar = click.progressbar(length=self.total, label="reading", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(n)

    def done(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@click.group("log")
def command() -> None:
    """Read, verify and replay event logs (written by kgw eventlog)."""


def as_json(stream: str, rec: Record) -> bytes:
    """One JSON line for a record: the payload is embedded as recorded."""
    if rec.is_message:
        head = orjson.dumps(
            {
                "time": rec.time_ns,
                "stream": stream,
                "kind": "MESSAGE",
                "publisher": rec.publisher,
                "topic": rec.topic.decode(errors="replace"),
                "source": rec.source,
                "session": rec.session,
                "seq": rec.seq,
            }
        )
        return head[:-1] + b',"payload":' + rec.payload + b"}\n"
    return orjson.dumps({"time": rec.time_ns, "stream": stream, "kind": rec.kind_name, **(rec.fields or {})}) + b"\n"


@command.command("cat")
@selection_options
@click.option("--events/--no-events", default=True, help="Include GAP, SESSION and other non-message records.")
@click.option("--limit", type=int, default=0, help="Stop after this many lines (0 = all).")
def cat(sel: Selection, events: bool, limit: int) -> None:
    """Print records as JSON lines, in receive-time order."""
    sel.events = events
    out = sys.stdout.buffer
    n = 0
    try:
        for stream, rec in select(sel):
            out.write(as_json(stream, rec))
            n += 1
            if limit and n >= limit:
                break
        out.flush()
    except BrokenPipeError:
        sys.stderr.close()


@command.command("stats")
@selection_options
@click.option("--top", type=int, default=20, help="How many topics to list.")
@progress_option
def stats(sel: Selection, top: int, progress: bool | None) -> None:
    """Counts per type, topic and record kind; rates; gaps. Prints one JSON object."""
    bar = Progress(progress)
    acc = LogStats()
    for stream, rec in select(sel, on_segment=bar.add):
        acc.add(stream, rec)
    bar.done()
    click.echo(orjson.dumps(acc.summary(top), option=orjson.OPT_INDENT_2).decode())


@command.command("verify")
@paths_argument
@click.option("--stream", "streams", multiple=True, type=click.Choice(STREAMS), help="Stream(s) to verify.")
@progress_option
def verify(paths: tuple[Path, ...], streams: tuple[str, ...], progress: bool | None) -> None:
    """Check checksums, the segment chain and seq continuity. Exit 1 on any error."""
    if not paths:
        raise click.UsageError("name a log directory or segment files")
    sel = Selection(list(paths), streams or STREAMS)
    by_stream = sel.segments()
    if not by_stream:
        raise click.ClickException("no segments found")
    bar = Progress(progress)
    for segs in by_stream.values():
        for seg in segs:
            bar.add(seg)
    reports = []
    for stream, segs in by_stream.items():
        v = StreamVerifier(stream)
        for seg in segs:
            v.segment(seg)
        reports.append(v.finish())
    bar.done()
    failed = False
    for r in reports:
        status = "OK" if r.ok else "FAILED"
        click.echo(
            f"{r.stream}: {status}: {r.segments} segments, {r.records} records, {r.messages} messages, "
            f"{r.gaps} gaps ({r.missing} messages missing), {r.sessions} sessions, {r.recoveries} crash recoveries"
        )
        for w in r.warnings:
            click.echo(f"  warning: {w}")
        for e in r.errors:
            click.echo(f"  error: {e}")
        failed |= not r.ok
    sys.exit(1 if failed else 0)


@command.command("replay")
@selection_options
@click.option("--endpoint", required=True, help="PUB endpoint to bind, e.g. tcp://127.0.0.1:9900.")
@click.option("--speed", type=float, default=1.0, show_default=True, help="Pace factor; 0 = as fast as possible.")
@click.option("--subscribers", type=int, default=1, show_default=True, help="Wait for this many subscriptions.")
@click.option("--wait", type=float, default=30.0, show_default=True, help="Seconds to wait for them.")
def replay(sel: Selection, endpoint: str, speed: float, subscribers: int, wait: float) -> None:
    """Republish recorded messages on ENDPOINT exactly as they were received."""
    from .replay import Replayer

    sel.events = False
    rp = Replayer(endpoint)
    try:
        got = rp.wait_subscribers(subscribers, wait) if subscribers > 0 else 0
        if got < subscribers:
            click.echo(f"only {got} of {subscribers} subscribers after {wait}s; replaying anyway", err=True)
        n = rp.send((rec for _, rec in select(sel)), speed)
    finally:
        rp.close()
    click.echo(f"replayed {n} messages to {endpoint}", err=True)
