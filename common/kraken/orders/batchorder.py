"""``POST /batchorder`` (cost 9 + elements): several sends, edits and cancels in one call.

Request body: ``json={"batchOrder":[...]}`` with elements (numbers as strings, as ccxt sends)::

    {"order":"send","order_tag":"1","orderType":"lmt","symbol":"PF_XBTUSD","side":"buy",
     "size":"0.001","limitPrice":"50000","cliOrdId":"k1.alice.1"}
    {"order":"edit","order_tag":"2","cliOrdId":"k1.alice.1","limitPrice":"50001"}
    {"order":"cancel","cliOrdId":"k1.alice.1"}

Answer sample (Kraken docs)::

    {"result":"success","serverTime":"2019-09-05T16:41:40.996Z","batchStatus":[
      {"status":"placed","order_tag":"1","order_id":"022774bc-...",
       "dateTimeReceived":"2019-09-05T16:41:35.173Z","orderEvents":[{"type":"PLACE","order":{...}}]},
      {"status":"edited","order_id":"9c2cbcc8-...","orderEvents":[{"type":"EDIT","old":{...},"new":{...}}]},
      {"status":"cancelled","order_id":"...","orderEvents":[{"uid":"...","order":{...},"type":"CANCEL"}]},
      {"status":"insufficientAvailableFunds","order_tag":"1","orderEvents":[]},
      {"status":"notFound","cliOrdId":"my_client_id","orderEvents":[]}]}

Kraken quirks: ``order_tag`` is mandatory for send and edit; edit elements name the order with
``order_id`` (snake case, unlike the editorder endpoint's ``orderId``); cancel elements carry no
tag, so answers are matched to requests by position (Kraken answers in request order), with
the tag checked where there is one; numbers in CANCEL events are strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from . import cancelorder, editorder, sendorder
from .result import OrderResult

Kind = Literal["send", "edit", "cancel"]


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One element to send: kind and the same parameters the single endpoint would take."""

    kind: Kind
    params: dict[str, str]


def build(items: list[BatchItem]) -> list[dict[str, Any]]:
    """The ``batchOrder`` list; send/edit elements are tagged "1", "2", ... by position."""
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items, start=1):
        element: dict[str, Any] = {"order": item.kind}
        if item.kind != "cancel":
            element["order_tag"] = str(i)
        element.update(item.params)
        out.append(element)
    return out


def parse(body: dict[str, Any], items: list[BatchItem]) -> list[OrderResult]:
    """One result per requested element, in request order. An element Kraken did not answer
    (short list, or a tag that does not match its position) gets a non-accepted result whose
    status says so; the caller must treat its outcome as unknown."""
    statuses = body.get("batchStatus")
    answers = statuses if isinstance(statuses, list) else []
    out: list[OrderResult] = []
    for i, item in enumerate(items):
        ans = answers[i] if i < len(answers) else None
        if not isinstance(ans, dict):
            out.append(OrderResult(False, "missingBatchStatus"))
            continue
        tag = ans.get("order_tag")
        if item.kind != "cancel" and tag is not None and str(tag) != str(i + 1):
            out.append(OrderResult(False, "batchTagMismatch"))
            continue
        if item.kind == "send":
            out.append(sendorder.parse_status(ans))
        elif item.kind == "edit":
            out.append(editorder.parse_status(ans, id_key="order_id"))
        else:
            out.append(cancelorder.parse_status(ans))
    return out


UNANSWERED = frozenset({"missingBatchStatus", "batchTagMismatch"})
"""Statuses :func:`parse` invents for elements whose outcome Kraken did not report."""
