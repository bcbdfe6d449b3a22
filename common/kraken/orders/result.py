"""The outcome of one order-entry call, common to sendorder, editorder, cancelorder and the
elements of batchorder."""

from __future__ import annotations

from dataclasses import dataclass

from common.messages import ErrorCode

from .codes import envelope_error_code


@dataclass(frozen=True, slots=True)
class OrderResult:
    """One order's answer.

    accepted: Kraken did what was asked. status: Kraken's own status string (ack ``text``).
    error: our code when not accepted. exchange_order_id / cli_ord_id: as Kraken reported them.
    open: the order still rests on the book after this answer (False once filled, cancelled,
        rejected, or an IOC/market order whose remainder Kraken cancelled).
    executed: quantity filled within this answer.
    """

    accepted: bool
    status: str
    error: ErrorCode | None = None
    exchange_order_id: str | None = None
    cli_ord_id: str | None = None
    open: bool = False
    executed: float = 0.0


def envelope_failure(error: str) -> OrderResult:
    """An OrderResult for a whole-call error (``{"result":"error","error":...}``)."""
    return OrderResult(False, error, envelope_error_code(error))
