"""Records of a segment: framing, kinds, encoding and decoding (pure; no I/O).

Every record on disk is ``u32 body_len | u32 crc32(body) | body`` (little-endian; CRC-32 as in
zlib/PNG). The body starts with ``u8 kind | u64 time_ns``; a MESSAGE continues with the bus
message as received, every other kind with one JSON object. proto/EVENTLOG.md is the
language-neutral description of the same bytes.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import orjson

FRAME = struct.Struct("<II")
"""``body_len``, ``crc32(body)``."""
BODY_HEAD = struct.Struct("<BQ")
"""``kind``, ``time_ns``."""
MESSAGE_HEAD = struct.Struct("<BQQ")
"""``kind`` (1), ``receive_time`` (ns), ``seq``."""
TOPIC_LEN = struct.Struct("<H")

MIN_BODY = BODY_HEAD.size
MAX_BODY = 64 * 1024 * 1024
"""Largest body in bytes a reader accepts; a longer length field means a torn or corrupt record."""


class Kind(IntEnum):
    """What a record holds. Readers skip kinds they do not know (forward compatibility)."""

    MESSAGE = 1
    GAP = 2
    SESSION = 3
    SILENT = 4
    ALIVE = 5
    MALFORMED = 6
    WRITER_START = 7
    CHECKPOINT = 8
    SEGMENT_END = 9


KIND_NAMES = {k.value: k.name for k in Kind}


@dataclass(slots=True)
class Record:
    """One decoded record.

    offset: byte offset of the record's frame in the (uncompressed) segment.
    kind / time_ns: from the body head (``time_ns`` is the receive time for a MESSAGE).
    MESSAGE: the envelope's ``seq``, ``session`` and ``source``; ``publisher`` (the configured
    name of the endpoint it came from); ``topic`` and ``payload`` (raw bytes as received from
    the bus). Other kinds: ``fields`` (the decoded JSON object).
    """

    offset: int
    kind: int
    time_ns: int
    seq: int = 0
    session: str = ""
    source: str = ""
    publisher: str = ""
    topic: bytes = b""
    payload: bytes = b""
    fields: dict[str, Any] | None = None

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, f"UNKNOWN_{self.kind}")

    @property
    def is_message(self) -> bool:
        return self.kind == Kind.MESSAGE


def frame(body: bytes) -> bytes:
    """A body with its length and checksum in front."""
    return FRAME.pack(len(body), zlib.crc32(body)) + body


def _short(text: str) -> bytes:
    b = text.encode()
    if len(b) > 255:
        raise ValueError(f"{text[:40]!r}...: longer than 255 bytes")
    return bytes((len(b),)) + b


def message_key(session: str, source: str, publisher: str, topic: bytes) -> bytes:
    """The part of a MESSAGE body between ``seq`` and the payload, which repeats for every
    message of a (session, source, publisher, topic): worth caching by the writer."""
    if len(topic) > 65535:
        raise ValueError("topic longer than 65535 bytes")
    return _short(session) + _short(source) + _short(publisher) + TOPIC_LEN.pack(len(topic)) + topic


def encode_message(receive_time: int, seq: int, key: bytes, payload: bytes) -> bytes:
    """A framed MESSAGE record; ``key`` from :func:`message_key`."""
    body = MESSAGE_HEAD.pack(Kind.MESSAGE, receive_time, seq) + key + payload
    return FRAME.pack(len(body), zlib.crc32(body)) + body


def encode_event(kind: Kind, time_ns: int, fields: dict[str, Any]) -> bytes:
    """A framed record of any kind but MESSAGE: the body head and one JSON object."""
    if kind == Kind.MESSAGE:
        raise ValueError("use encode_message for MESSAGE records")
    return frame(BODY_HEAD.pack(kind, time_ns) + orjson.dumps(fields))


class RecordError(ValueError):
    """A body whose checksum matched but whose content cannot be decoded."""


def decode_body(offset: int, body: bytes | memoryview) -> Record:
    """Decode a body whose checksum was already checked."""
    if len(body) < MIN_BODY:
        raise RecordError(f"body of {len(body)} bytes is shorter than {MIN_BODY}")
    kind, time_ns = BODY_HEAD.unpack_from(body, 0)
    if kind != Kind.MESSAGE:
        try:
            fields = orjson.loads(body[BODY_HEAD.size :])
        except orjson.JSONDecodeError as e:
            raise RecordError(f"{KIND_NAMES.get(kind, kind)} body is not JSON: {e}") from None
        if not isinstance(fields, dict):
            raise RecordError(f"{KIND_NAMES.get(kind, kind)} body is not a JSON object")
        return Record(offset, kind, time_ns, fields=fields)
    try:
        _, _, seq = MESSAGE_HEAD.unpack_from(body, 0)
        i = MESSAGE_HEAD.size
        short = []
        for _ in range(3):  # session, source, publisher
            n = body[i]
            short.append(bytes(body[i + 1 : i + 1 + n]).decode())
            i += 1 + n
        session, source, publisher = short
        (n,) = TOPIC_LEN.unpack_from(body, i)
        i += TOPIC_LEN.size
        topic = bytes(body[i : i + n])
        if len(topic) != n:
            raise RecordError("topic runs past the end of the body")
        payload = bytes(body[i + n :])
    except (IndexError, struct.error, UnicodeDecodeError) as e:
        raise RecordError(f"MESSAGE body is malformed: {e}") from None
    return Record(offset, kind, time_ns, seq, session, source, publisher, topic, payload)
