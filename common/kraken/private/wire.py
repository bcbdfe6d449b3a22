"""Small conversions every private-feed parser needs: times and Kraken's sides.

Kraken quirk: numbers are JSON numbers on the WebSocket but sometimes strings in REST answers,
so every decoder here is built with ``strict=False`` (``"0.5"`` is accepted where a float is
expected).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import msgspec

from common.messages import Side

T = TypeVar("T")


class ParseError(ValueError):
    """A frame or answer that does not have the documented shape; ``reason`` is short and
    low-cardinality (used as a metric label)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def decoder(type_: type[T]) -> msgspec.json.Decoder[T]:
    """A lenient JSON decoder for ``type_`` (numbers given as strings are accepted)."""
    return msgspec.json.Decoder(type_, strict=False)


def decode(dec: msgspec.json.Decoder[T], data: bytes | str, reason: str) -> T:
    """Decode ``data`` or raise :class:`ParseError` with ``reason``."""
    try:
        return dec.decode(data)
    except msgspec.DecodeError as e:
        raise ParseError(reason, str(e)) from None


def convert(obj: Any, type_: type[T], reason: str) -> T:
    """Convert already-decoded JSON to ``type_`` or raise :class:`ParseError`."""
    try:
        return msgspec.convert(obj, type_, strict=False)
    except msgspec.ValidationError as e:
        raise ParseError(reason, str(e)) from None


def iso_ms(text: str | None) -> int:
    """Epoch milliseconds of Kraken's REST times (``2019-09-05T17:01:17.410Z``); 0 if absent
    or unreadable."""
    if not text:
        return 0
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return 0


def side_of(word: str) -> Side:
    """``buy``/``sell`` (any case) -> Side; REST uses words, the WebSocket does not."""
    w = word.lower()
    if w == "buy":
        return Side.BUY
    if w == "sell":
        return Side.SELL
    raise ParseError("bad_side", word)
