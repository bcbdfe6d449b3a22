"""The public ``trade`` feed: ``trade_snapshot`` (recent trades, newest first), then one
message per trade.

Quirks: ``side`` is the taker's side; ``type`` is ``fill``, ``liquidation``, ``termination``
or ``block``; ``seq`` is per product (a separate counter from the book's); the snapshot lists
newest first while the bus carries trades oldest first.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec


class PublicTrade(msgspec.Struct, tag_field="feed", tag="trade"):
    """One trade. Real (2021)::

        {"feed":"trade","product_id":"PI_XBTUSD","uid":"05af78ac-a774-478c-a50c-8b9c234e071e",
         "side":"sell","type":"fill","seq":653355,"time":1612266317519,"qty":15000.0,
         "price":34969.5}
    """

    product_id: str
    side: Literal["buy", "sell"]
    seq: int
    price: Annotated[float, msgspec.Meta(gt=0)]
    qty: Annotated[float, msgspec.Meta(ge=0)]
    uid: str = ""
    type: str = "fill"
    time: int = 0


class TradeSnapshot(msgspec.Struct, tag_field="feed", tag="trade_snapshot"):
    """Recent trades of one product, newest first. Real (2021)::

        {"feed":"trade_snapshot","product_id":"PI_XBTUSD","trades":[{"feed":"trade",
         "product_id":"PI_XBTUSD","uid":"caa9c653-420b-4c24-a9f1-462a054d86f1","side":"sell",
         "type":"fill","seq":655508,"time":1612269657781,"qty":440,"price":34893}]}
    """

    product_id: str
    trades: list[PublicTrade] = []
