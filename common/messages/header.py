"""The envelope every bus message shares, and the units of its fields."""

from __future__ import annotations

from typing import Annotated

import msgspec

TimeNs = Annotated[int, msgspec.Meta(ge=0, description="Nanoseconds since the Unix epoch (UTC); 0 = unknown.")]
Price = Annotated[float, msgspec.Meta(description="Price in the instrument's quote currency.")]
Quantity = Annotated[
    float,
    msgspec.Meta(ge=0, description="Quantity in the instrument's contracts (Kraken `size`); never negative."),
]
SignedQuantity = Annotated[float, msgspec.Meta(description="Signed quantity: long > 0, short < 0.")]
Amount = Annotated[float, msgspec.Meta(description="Amount of a currency.")]
Symbol = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, description="Exchange symbol, upper case (e.g. PF_XBTUSD).")
]
Account = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, description="Account name as configured in the gateway.")
]
OrderId = Annotated[
    int,
    msgspec.Meta(
        ge=1,
        le=2**53 - 1,
        description="The client's own order id: unique per client for the life of the order, never reused.",
    ),
]
RequestId = Annotated[
    str, msgspec.Meta(max_length=64, description="The client's id for this request; echoed by every reply.")
]
Level = Annotated[
    tuple[float, float],
    msgspec.Meta(
        description="One price level: [price, quantity]. Quantity 0 in an INCREMENTAL update deletes the level."
    ),
]


class Message(msgspec.Struct, kw_only=True, tag_field="type", tag=True):
    """Envelope of every message. ``type`` (the tag) names the message.

    source: service instance that published it (e.g. ``feed``); set by the publisher.
    session: id of the publishing process run; a new value means the publisher restarted.
    seq: per-topic sequence number, +1 for each message on that topic from one session.
    send_time: when the publisher sent it (ns). receive_time: when the gateway received the
    exchange frame this message derives from (ns, 0 if none).
    """

    source: str = ""
    session: str = ""
    seq: Annotated[int, msgspec.Meta(ge=0)] = 0
    send_time: TimeNs = 0
    receive_time: TimeNs = 0
