"""Request/reply messages of the state services (feed snapshot, drop-copy download) and the
generic error reply of every ROUTER socket."""

from __future__ import annotations

from typing import Annotated

import msgspec

from .account import FundsUpdate, OrderUpdate, PositionUpdate, TradeUpdate
from .enums import ErrorCode
from .header import Message, RequestId
from .market import MarketByPrice, MarketStatus, ReferenceData, Statistics, TopOfBook, TradeSummary
from .status import GatewayStatus, StreamStatus

StateMessage = (
    MarketByPrice
    | TopOfBook
    | ReferenceData
    | MarketStatus
    | Statistics
    | TradeSummary
    | OrderUpdate
    | TradeUpdate
    | PositionUpdate
    | FundsUpdate
    | StreamStatus
    | GatewayStatus
)

TopicPrefix = Annotated[
    str,
    msgspec.Meta(
        max_length=256, description="A topic or topic prefix, e.g. `md.kraken-futures.PF_XBTUSD.`; empty = everything."
    ),
]


class SnapshotRequest(Message, kw_only=True):
    """Ask a state service (feed snapshot, drop-copy download) for the current state of every
    topic starting with one of ``topics``. Answered by SnapshotEntry messages then SnapshotEnd."""

    request_id: RequestId = ""
    topics: Annotated[list[TopicPrefix], msgspec.Meta(max_length=1024)]


class SnapshotEntry(Message, kw_only=True):
    """Current state of one topic: ``message`` is a full-state message (e.g. a MarketByPrice
    SNAPSHOT) whose ``seq`` is the topic's seq it is current to. Drop bus updates with a seq at
    or below it (same session)."""

    request_id: str = ""
    topic: str
    message: StateMessage


class SnapshotEnd(Message, kw_only=True):
    """Last reply to a SnapshotRequest; count = number of SnapshotEntry sent."""

    request_id: str = ""
    count: int


class ErrorReply(Message, kw_only=True):
    """Reply to a request that could not be processed at all (bad JSON, wrong types, unknown
    type, oversized, wrong frames). request_id is echoed when it could be read."""

    request_id: str = ""
    error: ErrorCode
    text: str
