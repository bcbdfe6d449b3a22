"""Kraken's status and error strings -> the project's :class:`ErrorCode`.

Order-level rejections arrive as ``result: success`` with the code in
``sendStatus.status`` / ``editStatus.status`` / ``cancelStatus.status`` /
``batchStatus[i].status``; envelope errors as ``{"result":"error","error":"<code>"}``. Kraken's
own string always travels on in the ack's ``text``; the code here is for programs.
"""

from __future__ import annotations

from common.messages import ErrorCode

ORDER_STATUS_CODES: dict[str, ErrorCode] = {
    "invalidPrice": ErrorCode.INVALID_PRICE,
    "invalidSize": ErrorCode.INVALID_QUANTITY,
    "invalidOrderType": ErrorCode.INVALID_ORDER_TYPE,
    "insufficientAvailableFunds": ErrorCode.INSUFFICIENT_FUNDS,
    "wouldCauseLiquidation": ErrorCode.INSUFFICIENT_FUNDS,
    "postWouldExecute": ErrorCode.POST_ONLY_WOULD_EXECUTE,
    "iocWouldNotExecute": ErrorCode.IOC_WOULD_NOT_EXECUTE,
    "wouldNotReducePosition": ErrorCode.WOULD_NOT_REDUCE_POSITION,
    "reduceOnlyWouldIncreasePosition": ErrorCode.WOULD_NOT_REDUCE_POSITION,
    "selfFill": ErrorCode.SELF_TRADE,
    "marketSuspended": ErrorCode.MARKET_CLOSED,
    "marketInactive": ErrorCode.MARKET_CLOSED,
    "marketIsPostOnly": ErrorCode.MARKET_CLOSED,
    "notFound": ErrorCode.UNKNOWN_ORDER,
    "orderForEditNotFound": ErrorCode.UNKNOWN_ORDER,
    "filled": ErrorCode.ORDER_FINISHED,
    "clientOrderIdAlreadyExist": ErrorCode.DUPLICATE_ORDER_ID,
}
"""Order-level statuses that are rejections; any other non-success status is EXCHANGE_REJECTED."""

ENVELOPE_ERROR_CODES: dict[str, ErrorCode] = {
    "apiLimitExceeded": ErrorCode.RATE_LIMITED,
    "authenticationError": ErrorCode.AUTHENTICATION_FAILED,
    "nonceBelowThreshold": ErrorCode.AUTHENTICATION_FAILED,
    "nonceDuplicate": ErrorCode.AUTHENTICATION_FAILED,
    "accountInactive": ErrorCode.AUTHENTICATION_FAILED,
    "marketUnavailable": ErrorCode.MARKET_CLOSED,
    "contractNotFound": ErrorCode.INVALID_SYMBOL,
    "insufficientFunds": ErrorCode.INSUFFICIENT_FUNDS,
}
"""Top-level ``error`` strings; any other is EXCHANGE_REJECTED."""


def order_status_code(status: str) -> ErrorCode:
    """ErrorCode of a rejecting order-level status."""
    return ORDER_STATUS_CODES.get(status, ErrorCode.EXCHANGE_REJECTED)


def envelope_error_code(error: str) -> ErrorCode:
    """ErrorCode of an envelope error; ``invalidArgument: limitPrice`` variants match by prefix."""
    return ENVELOPE_ERROR_CODES.get(error.split(":")[0].strip(), ErrorCode.EXCHANGE_REJECTED)
