"""Parser of recorded Kraken sessions: one raw frame per line with its receive timestamp.

The layout (cryptofeed's, used by the 2021 Kraken capture in the shared fixtures, and by the
gateway's own feed-handler record mode)::

    wss://futures.kraken.com/ws/v1 <-> 1626994927.139662             connection opened
    wss://futures.kraken.com/ws/v1 <- 1626994927.582819: {...}        sent by the client
    1626994927.583642: {"event":"info","version":1}                  frame received
    https://futures.kraken.com/derivatives/api/v3/instruments -> 1626994927.137682: {...}
                                                                     REST answer received
    configuration: {...}                                             metadata (ignored)

Timestamps are epoch seconds (float). Payloads are kept as the raw text (never re-encoded).
Sans-I/O: :func:`parse_line` takes a string; :func:`read` only iterates a file's lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Record:
    """One line of a recording.

    kind: ``recv`` (frame from the server), ``sent`` (frame from the client), ``connect``,
        ``rest`` (a REST answer) or ``meta``.
    ts: receive time in epoch seconds (0.0 for meta).
    url: the WebSocket/REST URL for sent/connect/rest lines, else "".
    payload: the raw frame/body text ("" for connect).
    """

    kind: str
    ts: float
    url: str
    payload: str


def _split_ts(rest: str) -> tuple[float, str] | None:
    head, sep, payload = rest.partition(": ")
    if not sep:
        head, payload = rest.strip(), ""
    try:
        return float(head), payload
    except ValueError:
        return None


def parse_line(line: str) -> Record | None:
    """One line -> a :class:`Record`; None for blank or unrecognised lines."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    if line[0].isdigit():
        got = _split_ts(line)
        return Record("recv", got[0], "", got[1]) if got else None
    for marker, kind in ((" <-> ", "connect"), (" <- ", "sent"), (" -> ", "rest")):
        url, sep, rest = line.partition(marker)
        if sep and " " not in url:
            got = _split_ts(rest)
            if got is None:
                return None
            return Record(kind, got[0], url, got[1])
    key, sep, payload = line.partition(": ")
    if sep and " " not in key:
        return Record("meta", 0.0, key, payload)
    return None


def parse(lines: Iterable[str]) -> Iterator[Record]:
    for line in lines:
        rec = parse_line(line)
        if rec is not None:
            yield rec


def format_recv(ts: float, payload: str) -> str:
    """A received-frame line in the same layout (for record mode)."""
    return f"{ts}: {payload}"


def read(path: str | Path) -> list[Record]:
    with Path(path).open(encoding="utf-8") as f:
        return list(parse(f))
