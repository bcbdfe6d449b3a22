"""The Python face of the message schema in ``proto/``.

Every message is a typed struct (msgspec) that encodes to, and decodes from, exactly the JSON
that ``proto/messages.schema.json`` describes; ``proto/`` is generated from these types by
``python -m common.messages.schema`` and a test fails if the two drift apart.

Encoding::

    payload: bytes = encode(msg)

Decoding any message (dispatch on ``type``), or one expected type::

    msg = decode(payload)                 # -> one of MESSAGE_TYPES
    req = decode(payload, CreateOrder)    # -> CreateOrder, else DecodeError

Every failure raises :class:`DecodeError` with ``code`` (PARSE_ERROR for bytes that are not
JSON, INVALID_MESSAGE for JSON that is not a valid message) and ``reason`` naming the field
(``Expected `int`, got `str` - at `$.order_id```); never a bare KeyError or ValueError.
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

import msgspec

from .account import FundsUpdate, OrderUpdate, PositionUpdate, TradeUpdate
from .enums import (
    FINAL_ORDER_STATUSES,
    CancelReason,
    ConnectionStatus,
    ErrorCode,
    Liquidity,
    OrderStatus,
    OrderType,
    Origin,
    RequestStatus,
    RequestType,
    Side,
    SymbolType,
    TimeInForce,
    TradingStatus,
    TriggerSignal,
    UpdateType,
)
from .header import Message
from .market import (
    MarginLevel,
    MarketByPrice,
    MarketStatus,
    ReferenceData,
    Statistics,
    TopOfBook,
    Trade,
    TradeSummary,
)
from .orders import (
    CancelAllOrders,
    CancelAllOrdersAck,
    CancelOrder,
    CreateOrder,
    ModifyOrder,
    OrderAck,
)
from .service import ErrorReply, SnapshotEnd, SnapshotEntry, SnapshotRequest, StateMessage
from .status import DownloadBegin, DownloadEnd, GatewayStatus, Heartbeat, StreamStatus

M = TypeVar("M", bound=Message)

#: every message type of the schema, in schema order
MESSAGE_TYPES: tuple[type[Message], ...] = (
    ReferenceData,
    MarketStatus,
    TopOfBook,
    MarketByPrice,
    TradeSummary,
    Statistics,
    CreateOrder,
    ModifyOrder,
    CancelOrder,
    CancelAllOrders,
    OrderAck,
    CancelAllOrdersAck,
    OrderUpdate,
    TradeUpdate,
    PositionUpdate,
    FundsUpdate,
    StreamStatus,
    GatewayStatus,
    Heartbeat,
    DownloadBegin,
    DownloadEnd,
    SnapshotRequest,
    SnapshotEntry,
    SnapshotEnd,
    ErrorReply,
)

AnyMessage = (
    ReferenceData
    | MarketStatus
    | TopOfBook
    | MarketByPrice
    | TradeSummary
    | Statistics
    | CreateOrder
    | ModifyOrder
    | CancelOrder
    | CancelAllOrders
    | OrderAck
    | CancelAllOrdersAck
    | OrderUpdate
    | TradeUpdate
    | PositionUpdate
    | FundsUpdate
    | StreamStatus
    | GatewayStatus
    | Heartbeat
    | DownloadBegin
    | DownloadEnd
    | SnapshotRequest
    | SnapshotEntry
    | SnapshotEnd
    | ErrorReply
)

BY_NAME: dict[str, type[Message]] = {t.__name__: t for t in MESSAGE_TYPES}


class DecodeError(ValueError):
    """A payload is not a valid message. ``code`` is PARSE_ERROR or INVALID_MESSAGE."""

    def __init__(self, code: ErrorCode, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


_encoder = msgspec.json.Encoder()
_any_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(AnyMessage)
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def encode(msg: Message) -> bytes:
    """The JSON bytes of a message."""
    return _encoder.encode(msg)


def _raise(e: msgspec.DecodeError) -> DecodeError:
    if isinstance(e, msgspec.ValidationError):
        return DecodeError(ErrorCode.INVALID_MESSAGE, str(e))
    return DecodeError(ErrorCode.PARSE_ERROR, str(e))


@overload
def decode(payload: bytes | str) -> Message: ...
@overload
def decode(payload: bytes | str, type_: type[M]) -> M: ...
def decode(payload: bytes | str, type_: type[Any] | None = None) -> Any:
    """Decode a payload, as any message or as ``type_``; raises :class:`DecodeError`."""
    decoder = _any_decoder if type_ is None else _decoders.get(type_)
    if decoder is None:
        assert type_ is not None
        decoder = _decoders[type_] = msgspec.json.Decoder(type_)
    try:
        return decoder.decode(payload)
    except msgspec.DecodeError as e:
        raise _raise(e) from None


def to_builtins(msg: Message) -> dict[str, Any]:
    """The message as plain JSON-compatible Python objects."""
    out = msgspec.to_builtins(msg)
    assert isinstance(out, dict)
    return out


__all__ = [
    "BY_NAME",
    "FINAL_ORDER_STATUSES",
    "MESSAGE_TYPES",
    "AnyMessage",
    "CancelAllOrders",
    "CancelAllOrdersAck",
    "CancelOrder",
    "CancelReason",
    "ConnectionStatus",
    "CreateOrder",
    "DecodeError",
    "DownloadBegin",
    "DownloadEnd",
    "ErrorCode",
    "ErrorReply",
    "FundsUpdate",
    "GatewayStatus",
    "Heartbeat",
    "Liquidity",
    "MarginLevel",
    "MarketByPrice",
    "MarketStatus",
    "Message",
    "ModifyOrder",
    "OrderAck",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "Origin",
    "PositionUpdate",
    "ReferenceData",
    "RequestStatus",
    "RequestType",
    "Side",
    "SnapshotEnd",
    "SnapshotEntry",
    "SnapshotRequest",
    "StateMessage",
    "Statistics",
    "StreamStatus",
    "SymbolType",
    "TimeInForce",
    "TopOfBook",
    "Trade",
    "TradeSummary",
    "TradeUpdate",
    "TradingStatus",
    "TriggerSignal",
    "UpdateType",
    "decode",
    "encode",
    "to_builtins",
]
