"""What an exchange outcome means for the client and for the order, sans-I/O.

Each function maps a :class:`JobOutcome` of one request kind to a :class:`Verdict`: the ack
status, error code and text the client gets, and the order's next registry state.

Transport failures, by whether the request may have reached Kraken:

- DISCONNECTED (no connection): certainly not executed -> ack DISCONNECTED.
- TIMEOUT / LOST / BAD_RESPONSE: may have executed -> ack TIMEOUT; a new order becomes
  UNCERTAIN (it can still be cancelled; the drop-copy update settles it).
- HTTP 5xx: Kraken failed, may have executed -> ack REJECTED EXCHANGE_ERROR; new order
  UNCERTAIN. HTTP 429 -> REJECTED RATE_LIMITED; other 4xx -> REJECTED EXCHANGE_ERROR, not
  executed.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.kraken.rest import Failure
from common.messages import ErrorCode, RequestStatus

from .dispatcher import JobOutcome
from .registry import OrderState


@dataclass(frozen=True, slots=True)
class Verdict:
    """status / error / text: the ack. state: the order's next state (None = unchanged).
    exchange_order_id: Kraken's id when the answer named one."""

    status: RequestStatus
    error: ErrorCode | None
    text: str
    state: OrderState | None
    exchange_order_id: str | None = None


def _transport(o: JobOutcome, uncertain: OrderState | None, not_sent: OrderState | None) -> Verdict:
    f = o.failure
    if f is Failure.DISCONNECTED:
        return Verdict(RequestStatus.DISCONNECTED, ErrorCode.DISCONNECTED, o.text, not_sent)
    if f is Failure.HTTP:
        if o.text.startswith("HTTP 5"):
            return Verdict(RequestStatus.REJECTED, ErrorCode.EXCHANGE_ERROR, o.text, uncertain)
        code = ErrorCode.RATE_LIMITED if o.text.startswith("HTTP 429") else ErrorCode.EXCHANGE_ERROR
        return Verdict(RequestStatus.REJECTED, code, o.text, not_sent)
    return Verdict(RequestStatus.TIMEOUT, ErrorCode.TIMEOUT, o.text or "no answer", uncertain)


def for_create(o: JobOutcome) -> Verdict:
    r = o.result
    if r is None:
        return _transport(o, OrderState.UNCERTAIN, OrderState.FINISHED)
    if r.accepted:
        state = OrderState.WORKING if r.open else OrderState.FINISHED
        return Verdict(RequestStatus.ACCEPTED, None, r.status, state, r.exchange_order_id)
    return Verdict(RequestStatus.REJECTED, r.error, r.status, OrderState.FINISHED, r.exchange_order_id)


def for_modify(o: JobOutcome) -> Verdict:
    r = o.result
    if r is None:
        return _transport(o, None, None)
    if r.accepted:
        return Verdict(RequestStatus.ACCEPTED, None, r.status, OrderState.WORKING, r.exchange_order_id)
    gone = OrderState.FINISHED if r.error is ErrorCode.UNKNOWN_ORDER and o.failure is None else None
    return Verdict(RequestStatus.REJECTED, r.error, r.status, gone, r.exchange_order_id)


def for_cancel(o: JobOutcome) -> Verdict:
    r = o.result
    if r is None:
        return _transport(o, None, None)
    if r.accepted:
        return Verdict(RequestStatus.ACCEPTED, None, r.status, OrderState.FINISHED, r.exchange_order_id)
    gone = r.error in (ErrorCode.UNKNOWN_ORDER, ErrorCode.ORDER_FINISHED) and o.failure is None
    return Verdict(RequestStatus.REJECTED, r.error, r.status, OrderState.FINISHED if gone else None,
                   r.exchange_order_id)
