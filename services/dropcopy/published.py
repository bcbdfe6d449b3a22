"""What the drop-copy listener has published and is still current, for the download service.

Kept from the messages as they are published (never from the account state directly), so an
answer is always exactly consistent with the topic's seq, even while a download is holding
messages back: open orders by exchange order id, non-zero positions by symbol, funds by
currency; and, so that a subscriber that missed them in a gap (a router or client whose
subscription was reconnecting) recovers them from the snapshot, the last ``recent`` finished
orders and the last ``recent`` fills of each topic.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

import msgspec

from common.messages import (
    FINAL_ORDER_STATUSES,
    FundsUpdate,
    Message,
    OrderUpdate,
    PositionUpdate,
    TradeUpdate,
    UpdateType,
)


class PublishedState:
    """topic -> entity key -> last published full-state message of that entity, plus the
    recently finished orders and recent fills of each topic.

    recent: finished orders and fills kept per topic (oldest dropped first); 0 keeps none.
    """

    def __init__(self, recent: int = 1000) -> None:
        self.recent = recent
        self._by_topic: dict[str, dict[str, Message]] = {}
        self._recent: dict[str, OrderedDict[str, Message]] = {}

    def _remember(self, topic: str, key: str, msg: Message) -> None:
        if self.recent <= 0:
            return
        ring = self._recent.setdefault(topic, OrderedDict())
        ring.pop(key, None)
        ring[key] = msg
        while len(ring) > self.recent:
            ring.popitem(last=False)

    def record(self, topic: str, msg: Message) -> None:
        """Note a message just published on ``topic``."""
        if isinstance(msg, TradeUpdate):
            self._remember(topic, msg.trade_id, msg)
            return
        if isinstance(msg, OrderUpdate):
            key, keep = msg.exchange_order_id, msg.status not in FINAL_ORDER_STATUSES
        elif isinstance(msg, PositionUpdate):
            key, keep = msg.symbol, msg.position != 0
        elif isinstance(msg, FundsUpdate):
            key, keep = msg.currency, True
        else:
            return
        entities = self._by_topic.setdefault(topic, {})
        if keep:
            entities[key] = msg
        else:
            entities.pop(key, None)
            if isinstance(msg, OrderUpdate):
                self._remember(topic, key, msg)

    def entries(self, prefixes: tuple[str, ...]) -> Iterator[tuple[str, Message]]:
        """Copies (update type SNAPSHOT) of the recent fills and finished orders (oldest first),
        then of the current entities, of every topic under one of ``prefixes`` (``""`` = all);
        the caller stamps each with its topic's current seq."""
        for topic, ring in self._recent.items():
            if topic.startswith(prefixes):
                for msg in ring.values():
                    yield topic, msgspec.structs.replace(msg, update_type=UpdateType.SNAPSHOT)
        for topic, entities in self._by_topic.items():
            if topic.startswith(prefixes):
                for msg in entities.values():
                    yield topic, msgspec.structs.replace(msg, update_type=UpdateType.SNAPSHOT)
