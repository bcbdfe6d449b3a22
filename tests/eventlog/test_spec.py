"""proto/EVENTLOG.md is enough to read a log: an independent reader written from the document
alone (stdlib struct/zlib/json and zstandard, nothing of ours) reads what the writer wrote,
including compressed segments and a torn tail, exactly as our reader does."""

from __future__ import annotations

import json
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import zstandard

from common.bus import BusEvent, Header, Received
from common.eventlog.compression import compress_segment
from common.eventlog.diskwriter import DurabilityPolicy
from common.eventlog.planner import RotationPolicy
from common.eventlog.reader import resolve
from common.eventlog.writer import LogWriter, identity


def spec_read(path: Path) -> tuple[dict[str, Any], list[tuple[Any, ...]], int]:
    """(header JSON, records as tuples, bytes of the good part) per the document."""
    data = path.read_bytes()
    if path.name.endswith(".zst"):
        data = zstandard.ZstdDecompressor().decompress(data)
    magic, version, flags, json_len, crc = struct.unpack_from("<8sHHII", data, 0)
    assert (magic, version, flags) == (b"KGWEVLOG", 1, 0)
    raw = data[20 : 20 + json_len]
    assert zlib.crc32(raw) == crc
    header = json.loads(raw)
    pos = 20 + json_len
    out: list[tuple[Any, ...]] = []
    while len(data) - pos >= 8:
        body_len, crc = struct.unpack_from("<II", data, pos)
        if not 9 <= body_len <= 64 * 1024 * 1024 or pos + 8 + body_len > len(data):
            break
        body = data[pos + 8 : pos + 8 + body_len]
        if zlib.crc32(body) != crc:
            break
        kind, time_ns = struct.unpack_from("<BQ", body, 0)
        if kind == 1:
            (seq,) = struct.unpack_from("<Q", body, 9)
            i = 17
            strings = []
            for _ in range(3):
                n = body[i]
                strings.append(body[i + 1 : i + 1 + n].decode())
                i += 1 + n
            (n,) = struct.unpack_from("<H", body, i)
            topic = body[i + 2 : i + 2 + n]
            out.append((1, time_ns, seq, *strings, topic, body[i + 2 + n :]))
        else:
            out.append((kind, time_ns, json.loads(body[9:])))
        pos += 8 + body_len
    return header, out, pos


def test_crc_is_the_documented_one() -> None:
    assert zlib.crc32(b"123456789") == 0xCBF43926


def test_an_independent_reader_reads_what_the_writer_wrote(tmp_path: Path) -> None:
    w = LogWriter(
        tmp_path,
        identity("w1"),
        RotationPolicy(max_bytes=3000, rotate_interval_ns=0, compress=False),
        DurabilityPolicy(flush_ms=1),
    )
    w.start()
    items: list[Received | BusEvent] = []
    for seq in range(1, 120):
        if seq == 50:
            continue  # a hole: a GAP record
        for topic in (b"md.x.A.mbp.", b"oms.x.main.order."):
            body = b'{"type":"T","source":"feed","session":"s","seq":%d}' % seq
            items.append(Received(topic, body, Header("T", "feed", "s", seq), time.time_ns(), "feed"))
    w.put(w.ingest(items))
    assert w.stop()
    for stream_segs in resolve([tmp_path]).values():
        for seg in stream_segs[::2]:
            compress_segment(seg.path)
    plain = [s for s in resolve([tmp_path])["public"] if not s.name.compressed]
    with plain[-1].path.open("ab") as f:
        f.write(b"\x40\x00\x00\x00torn")  # a torn record after the last good one

    segs = resolve([tmp_path])
    assert any(s.name.compressed for s in segs["public"])
    for stream, files in segs.items():
        for seg in files:
            header, records, good = spec_read(seg.path)
            ours = list(seg.records())
            assert seg.tail is not None and good == seg.tail.valid_bytes
            assert header["stream"] == stream and header["index"] == seg.index
            assert len(records) == len(ours)
            for theirs, mine in zip(records, ours, strict=True):
                if mine.is_message:
                    assert theirs == (
                        1,
                        mine.time_ns,
                        mine.seq,
                        mine.session,
                        mine.source,
                        mine.publisher,
                        mine.topic,
                        mine.payload,
                    )
                else:
                    assert theirs == (mine.kind, mine.time_ns, mine.fields)
            assert records[0][0] == 8  # every segment starts with a CHECKPOINT
