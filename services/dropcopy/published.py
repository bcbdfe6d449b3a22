"""What the drop-copy listener has published and is still current, for the download service.

Kept from the messages as they are published (never from the account state directly), so an
answer is always exactly consistent with the topic's seq, even while a download is holding
messages back: open orders by exchange order id, non-zero positions by symbol, funds by
currency.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from common.messages import (
    FINAL_ORDER_STATUSES,
    FundsUpdate,
    Message,
    OrderUpdate,
    PositionUpdate,
    UpdateType,
)


class PublishedState:
    """topic -> entity key -> last published full-state message of that entity."""

    def __init__(self) -> None:
        self._by_topic: dict[str, dict[str, Message]] = {}

    def record(self, topic: str, msg: Message) -> None:
        """Note a message just published on ``topic`` (TradeUpdates are events, not state)."""
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

    def entries(self, prefixes: tuple[str, ...]) -> Iterator[tuple[str, Message]]:
        """Copies (update type SNAPSHOT) of the current entities of every topic under one of
        ``prefixes`` (``""`` = all); the caller stamps each with its topic's current seq."""
        for topic, entities in self._by_topic.items():
            if topic.startswith(prefixes):
                for msg in entities.values():
                    yield topic, msgspec.structs.replace(msg, update_type=UpdateType.SNAPSHOT)
