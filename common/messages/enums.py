"""Enumerations of the message schema. Values are the exact JSON strings on the wire."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """Order or trade side. For a public trade it is the taker's side."""

    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    """LIMIT rests at ``price``; MARKET takes liquidity (Kraken adds price protection);
    STOP and TAKE_PROFIT trigger at ``stop_price`` and then act as LIMIT (``price`` given) or
    MARKET (no ``price``)."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP = "STOP"
    TAKE_PROFIT = "TAKE_PROFIT"


class TimeInForce(StrEnum):
    """GTC rests until cancelled; IOC fills what it can at once and cancels the rest."""

    GTC = "GTC"
    IOC = "IOC"


class TriggerSignal(StrEnum):
    """Which price triggers a STOP or TAKE_PROFIT order."""

    MARK = "MARK"
    LAST = "LAST"
    INDEX = "INDEX"


class OrderStatus(StrEnum):
    """Life cycle of an order as the exchange sees it.

    PENDING: sent, not yet confirmed; WORKING: open, nothing filled (or an untriggered stop);
    PARTIALLY_FILLED: open with fills; FILLED, CANCELLED, REJECTED, EXPIRED: final.
    """

    PENDING = "PENDING"
    WORKING = "WORKING"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


FINAL_ORDER_STATUSES = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


class RequestType(StrEnum):
    """Which request an OrderAck answers."""

    CREATE_ORDER = "CREATE_ORDER"
    MODIFY_ORDER = "MODIFY_ORDER"
    CANCEL_ORDER = "CANCEL_ORDER"
    CANCEL_ALL_ORDERS = "CANCEL_ALL_ORDERS"


class Origin(StrEnum):
    """Who produced an ack: the gateway itself or the exchange's answer."""

    GATEWAY = "GATEWAY"
    EXCHANGE = "EXCHANGE"


class RequestStatus(StrEnum):
    """State of a request.

    FORWARDED: passed validation and was sent to the exchange; ACCEPTED / REJECTED: the
    exchange's answer (or the gateway's rejection, origin GATEWAY); TIMEOUT: no answer in time,
    outcome unknown until an update arrives; DISCONNECTED: could not reach the exchange.
    """

    FORWARDED = "FORWARDED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    TIMEOUT = "TIMEOUT"
    DISCONNECTED = "DISCONNECTED"


class ErrorCode(StrEnum):
    """One error enum for the whole project (acks, error replies, rejections)."""

    # malformed input
    PARSE_ERROR = "PARSE_ERROR"
    INVALID_MESSAGE = "INVALID_MESSAGE"
    OVERSIZED_MESSAGE = "OVERSIZED_MESSAGE"
    INVALID_FRAMES = "INVALID_FRAMES"
    UNSUPPORTED_REQUEST = "UNSUPPORTED_REQUEST"
    # validation
    INVALID_ACCOUNT = "INVALID_ACCOUNT"
    NOT_AUTHORIZED = "NOT_AUTHORIZED"
    INVALID_SYMBOL = "INVALID_SYMBOL"
    MARKET_CLOSED = "MARKET_CLOSED"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_ORDER_TYPE = "INVALID_ORDER_TYPE"
    INVALID_TIME_IN_FORCE = "INVALID_TIME_IN_FORCE"
    DUPLICATE_ORDER_ID = "DUPLICATE_ORDER_ID"
    UNKNOWN_ORDER = "UNKNOWN_ORDER"
    ORDER_FINISHED = "ORDER_FINISHED"
    REQUEST_IN_FLIGHT = "REQUEST_IN_FLIGHT"
    GATEWAY_NOT_READY = "GATEWAY_NOT_READY"
    RATE_LIMITED = "RATE_LIMITED"
    # exchange answers
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    POST_ONLY_WOULD_EXECUTE = "POST_ONLY_WOULD_EXECUTE"
    IOC_WOULD_NOT_EXECUTE = "IOC_WOULD_NOT_EXECUTE"
    WOULD_NOT_REDUCE_POSITION = "WOULD_NOT_REDUCE_POSITION"
    SELF_TRADE = "SELF_TRADE"
    EXCHANGE_REJECTED = "EXCHANGE_REJECTED"
    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
    # transport
    TIMEOUT = "TIMEOUT"
    DISCONNECTED = "DISCONNECTED"
    EXCHANGE_ERROR = "EXCHANGE_ERROR"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class Liquidity(StrEnum):
    """Whether a fill added (MAKER) or removed (TAKER) liquidity; OTHER for liquidations,
    assignments and the like."""

    MAKER = "MAKER"
    TAKER = "TAKER"
    OTHER = "OTHER"


class UpdateType(StrEnum):
    """SNAPSHOT replaces all state of the topic; INCREMENTAL applies on top of it;
    STALE says the state is no longer trustworthy until the next SNAPSHOT."""

    SNAPSHOT = "SNAPSHOT"
    INCREMENTAL = "INCREMENTAL"
    STALE = "STALE"


class ConnectionStatus(StrEnum):
    """State of one connection to the exchange."""

    DISCONNECTED = "DISCONNECTED"
    CONNECTING = "CONNECTING"
    LOGIN_SENT = "LOGIN_SENT"
    DOWNLOADING = "DOWNLOADING"
    READY = "READY"


class TradingStatus(StrEnum):
    """Market state of an instrument: OPEN trades; POST_ONLY accepts only post-only orders;
    HALTED is suspended; CLOSED is not tradeable (expired, not yet open, or an index)."""

    OPEN = "OPEN"
    POST_ONLY = "POST_ONLY"
    HALTED = "HALTED"
    CLOSED = "CLOSED"


class SymbolType(StrEnum):
    """Kind of instrument (Kraken prefixes PI_, PF_, FI_, FF_, in_/rr_)."""

    PERPETUAL_INVERSE = "PERPETUAL_INVERSE"
    PERPETUAL_LINEAR = "PERPETUAL_LINEAR"
    FUTURE_INVERSE = "FUTURE_INVERSE"
    FUTURE_LINEAR = "FUTURE_LINEAR"
    INDEX = "INDEX"
    OTHER = "OTHER"


class CancelReason(StrEnum):
    """Why an order stopped working without being filled (mapped from Kraken's reasons)."""

    USER = "USER"
    GATEWAY_POLICY = "GATEWAY_POLICY"
    DEAD_MAN_SWITCH = "DEAD_MAN_SWITCH"
    POST_ONLY_WOULD_EXECUTE = "POST_ONLY_WOULD_EXECUTE"
    IOC_NOT_EXECUTED = "IOC_NOT_EXECUTED"
    SELF_TRADE = "SELF_TRADE"
    WOULD_NOT_REDUCE_POSITION = "WOULD_NOT_REDUCE_POSITION"
    INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"
    MARKET_INACTIVE = "MARKET_INACTIVE"
    CONTRACT_EXPIRED = "CONTRACT_EXPIRED"
    LIQUIDATION = "LIQUIDATION"
    ADMIN = "ADMIN"
    OTHER = "OTHER"
