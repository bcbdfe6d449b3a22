"""Which family a private WebSocket frame belongs to: control events carry ``event``
(``info``, ``challenge``, ``subscribed``, ``alert``, ``error``, ``pong``), data messages carry
``feed`` and no ``event`` (protocol reference section 4.1)."""

from __future__ import annotations

import msgspec

from .wire import decode, decoder

OPEN_ORDERS_SNAPSHOTS = frozenset({"open_orders_snapshot", "open_orders_verbose_snapshot"})
OPEN_ORDERS_DELTAS = frozenset({"open_orders", "open_orders_verbose"})
FILLS = frozenset({"fills_snapshot", "fills"})
POSITIONS = frozenset({"open_positions"})
BALANCES = frozenset({"balances_snapshot", "balances"})


class Envelope(msgspec.Struct):
    """The routing fields of a frame; ``message`` is the text of challenge/alert/error."""

    event: str | None = None
    feed: str | None = None
    message: str | None = None


_envelope = decoder(Envelope)


def envelope(data: bytes | str) -> Envelope:
    """The routing fields of ``data``; :class:`~.wire.ParseError` if it is not a JSON object."""
    return decode(_envelope, data, "not_json_object")
