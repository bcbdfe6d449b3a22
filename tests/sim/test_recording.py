"""The recording parser against the real 2021 capture and hand-made lines."""

from __future__ import annotations

import itertools
from pathlib import Path

import orjson

from common.kraken import recording

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kraken"


def test_parse_real_session() -> None:
    recs = recording.read(FIXTURES / "ws_session_2021-07-22.txt")
    kinds = {r.kind for r in recs}
    assert kinds == {"connect", "sent", "recv"}
    recv = [r for r in recs if r.kind == "recv"]
    assert orjson.loads(recv[0].payload) == {"event": "info", "version": 1}
    assert all(b.ts >= a.ts for a, b in itertools.pairwise(recv))
    sent = [r for r in recs if r.kind == "sent"]
    assert sent[0].url == "wss://futures.kraken.com/ws/v1"
    assert orjson.loads(sent[0].payload)["event"] == "subscribe"


def test_parse_rest_instruments() -> None:
    rec, meta = recording.read(FIXTURES / "rest_instruments_2021-07-22.txt")
    assert rec.kind == "rest" and rec.url.endswith("/instruments")
    assert meta.kind == "meta" and meta.url == "configuration"
    assert orjson.loads(rec.payload)["result"] == "success"


def test_round_trip_and_garbage() -> None:
    line = recording.format_recv(1.5, '{"feed":"book"}')
    assert recording.parse_line(line) == recording.Record("recv", 1.5, "", '{"feed":"book"}')
    assert recording.parse_line("") is None
    assert recording.parse_line("12abc: x") is None
    assert recording.parse_line("wss://x <-> nope") is None
