"""Control frames of the public connection (they carry ``event``), and the ``heartbeat`` feed.

Quirks: one ``subscribed`` ack per product, product id echoed upper case even when requested
lower case; errors (``Invalid product id``) do not say which product; a duplicate subscribe
gives the alert "Already subscribed to feed, re-requesting"; ``heartbeat`` is a data message
(``feed`` key, no ``event``).
"""

from __future__ import annotations

import msgspec


class Control(msgspec.Struct):
    """Any ``event`` frame. Real (2021) samples::

        {"event":"info","version":1}
        {"event":"subscribed","feed":"book","product_ids":["FI_ETHUSD_211231"]}
        {"event":"error","message":"Invalid product id"}
        {"event":"alert","message":"Already subscribed to feed, re-requesting"}
    """

    event: str
    feed: str = ""
    product_ids: list[str] = []
    message: str = ""
    version: int = 0


class Heartbeat(msgspec.Struct, tag_field="feed", tag="heartbeat"):
    """The optional heartbeat feed (docs)::

        {"feed":"heartbeat","time":1534262350627}
    """

    time: int = 0
