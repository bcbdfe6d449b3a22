"""The public ``book`` feed: a full-depth ``book_snapshot``, then one message per changed level.

Quirks handled here and by the feed handler (futures-protocol.md 4.2, verified on the real
2021 capture): ``seq`` is per product and contiguous (+1) from the snapshot's; ``qty`` is the
new absolute size of the level and 0 deletes it; ``side`` is ``buy`` (bid) or ``sell`` (ask);
``tickSize`` in the snapshot is always null; all numbers are JSON floats.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

NonNegative = Annotated[float, msgspec.Meta(ge=0)]
Positive = Annotated[float, msgspec.Meta(gt=0)]


class BookLevel(msgspec.Struct):
    """One level of a snapshot: ``{"price":34892.5,"qty":6385}``."""

    price: Positive
    qty: NonNegative


class BookSnapshot(msgspec.Struct, tag_field="feed", tag="book_snapshot"):
    """Full depth, bids best (highest) first, asks best (lowest) first. Real (2021)::

        {"feed":"book_snapshot","product_id":"PI_XBTUSD","timestamp":1612269825817,
         "seq":326072249,"tickSize":null,"bids":[{"price":34892.5,"qty":6385},
         {"price":34892,"qty":10924}],"asks":[{"price":34911.5,"qty":20598},
         {"price":34912,"qty":2300}]}

    timestamp: exchange time, ms since the epoch. seq: the product's book sequence number the
    snapshot is current to.
    """

    product_id: str
    seq: int
    timestamp: int = 0
    bids: list[BookLevel] = []
    asks: list[BookLevel] = []


class BookDelta(msgspec.Struct, tag_field="feed", tag="book"):
    """One changed level, absolute size (0 = delete), seq = previous + 1. Real (2021)::

        {"feed":"book","product_id":"PI_XBTUSD","side":"sell","seq":326094134,"price":34981,
         "qty":0,"timestamp":1612269953629}
    """

    product_id: str
    side: Literal["buy", "sell"]
    seq: int
    price: Positive
    qty: NonNegative
    timestamp: int = 0
