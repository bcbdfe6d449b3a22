"""Private order-entry endpoints: sendorder, editorder, cancelorder, cancelallorders,
cancelallordersafter, batchorder. Order rejections are ``result: success`` with the reject code
in ``sendStatus``/``editStatus``/``cancelStatus``/``batchStatus[i]`` ``.status``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.sim import metrics
from services.sim.engine.events import Outcome
from services.sim.rest import params as P
from services.sim.rest.envelope import (
    PrivateRequest,
    answer_after_engine,
    error,
    gate,
    raw_parts,
)
from services.sim.rest.shapes import iso, order_event
from services.sim.state import Sim, now_ms

ACCEPTED = frozenset({"placed", "edited", "cancelled", "filled", "partiallyFilled",
                      "noOrdersToCancel"})


def _count_reject(out: Outcome) -> None:
    if out.status not in ACCEPTED:
        metrics.REJECTS.labels(out.status).inc()


def send_order(sim: Sim, account: str, get: Any) -> Outcome:
    """Run one ``sendorder`` from a parameter getter (form params or a batch element)."""
    order_type = str(get("orderType") or "")
    return sim.engine.send(
        account,
        symbol=str(get("symbol") or ""),
        side=str(get("side") or "").lower(),
        order_type=order_type,
        size=P.number(get("size"), name="size"),
        limit_price=P.optional_number(get("limitPrice"), "limitPrice"),
        stop_price=P.optional_number(get("stopPrice"), "stopPrice"),
        trigger_signal=str(get("triggerSignal") or "last").lower(),
        reduce_only=P.boolean(get("reduceOnly") or False),
        cli_ord_id=(str(get("cliOrdId")) if get("cliOrdId") not in (None, "") else None),
    )


def send_status(out: Outcome, received: str) -> dict[str, Any]:
    """``sendStatus`` (note ``order_id`` in snake case here)::

        {"order_id":"179f9af8-...","status":"placed","receivedTime":"2019-09-05T16:33:50.734Z",
         "orderEvents":[{"order":{...},"reducedQuantity":null,"type":"PLACE"}]}
    """
    st: dict[str, Any] = {}
    if out.order_id and out.status in ACCEPTED:
        st["order_id"] = out.order_id
    st.update({"status": out.status, "receivedTime": received,
               "orderEvents": [order_event(e) for e in out.order_events]})
    return st


def edit_order(sim: Sim, account: str, get: Any, id_key: str = "orderId") -> Outcome:
    return sim.engine.edit(
        account, order_id=get(id_key) or None, cli_ord_id=get("cliOrdId") or None,
        size=P.optional_number(get("size"), "size"),
        limit_price=P.optional_number(get("limitPrice"), "limitPrice"),
        stop_price=P.optional_number(get("stopPrice"), "stopPrice"),
    )


def edit_status(out: Outcome, received: str) -> dict[str, Any]:
    """``editStatus`` (note camel-case ``orderId`` here, unlike sendStatus)."""
    st: dict[str, Any] = {"status": out.status}
    if out.order_id:
        st["orderId"] = out.order_id
    st.update({"receivedTime": received,
               "orderEvents": [order_event(e) for e in out.order_events]})
    return st


def cancel_status(out: Outcome, received: str, *, stringly: bool = False) -> dict[str, Any]:
    """``cancelStatus`` of ``cancelorder``::

        {"status":"cancelled","order_id":"cb4e34f6-...","receivedTime":"...",
         "orderEvents":[{"uid":"cb4e34f6-...","order":{...},"type":"CANCEL"}]}
        {"status":"notFound","receivedTime":"2023-04-04T17:18:11.628Z"}
    """
    st: dict[str, Any] = {"status": out.status}
    if out.order_id:
        st["order_id"] = out.order_id
    st["receivedTime"] = received
    if out.status == "cancelled":
        st["orderEvents"] = [order_event(e, stringly_cancel=stringly) for e in out.order_events]
    return st


def routes(sim: Sim) -> list[web.RouteDef]:
    """Order-entry handlers bound to ``sim``."""

    async def order_call(request: web.Request, endpoint: str, required: tuple[str, ...],
                         one_of: tuple[str, ...], run: Any, status_key: str,
                         render: Any) -> web.StreamResponse:
        """Gate, check arguments, run the engine call, answer ``{status_key: render(out)}``."""
        req = await gate(sim, request, endpoint, required=required)
        if not isinstance(req, PrivateRequest):
            return req
        if one_of and not any(P.first(req.params, k) for k in one_of):
            return error("requiredArgumentMissing")
        received = iso(now_ms())
        try:
            out = run(sim, req.account, lambda k: P.first(req.params, k))
        except P.ParamError as e:
            return error(e.code)
        _count_reject(out)
        return await answer_after_engine(sim, request, {status_key: render(out, received)})

    async def sendorder(request: web.Request) -> web.StreamResponse:
        return await order_call(request, "sendorder", ("orderType", "symbol", "side", "size"),
                                (), send_order, "sendStatus", send_status)

    async def editorder(request: web.Request) -> web.StreamResponse:
        return await order_call(request, "editorder", (), ("orderId", "cliOrdId"), edit_order,
                                "editStatus", edit_status)

    async def cancelorder(request: web.Request) -> web.StreamResponse:
        req = await gate(sim, request, "cancelorder")
        if not isinstance(req, PrivateRequest):
            return req
        oid, cid = P.first(req.params, "order_id"), P.first(req.params, "cliOrdId")
        if not (oid or cid):
            return error("requiredArgumentMissing")
        received = iso(now_ms())
        out = sim.engine.cancel(req.account, order_id=oid or None, cli_ord_id=cid or None)
        return await answer_after_engine(sim, request,
                                         {"cancelStatus": cancel_status(out, received)})

    async def cancelallorders(request: web.Request) -> web.StreamResponse:
        """``cancelOnly`` is "all" or the symbol; order numbers are strings (2024 capture)."""
        req = await gate(sim, request, "cancelallorders")
        if not isinstance(req, PrivateRequest):
            return req
        symbol = P.first(req.params, "symbol")
        received = iso(now_ms())
        out = sim.engine.cancel_all(req.account, symbol or None)
        cancelled = []
        for o in out.cancelled:
            entry: dict[str, Any] = {"order_id": o.order_id}
            if o.cli_ord_id is not None:
                entry["cliOrdId"] = o.cli_ord_id
            cancelled.append(entry)
        status = {"receivedTime": received, "cancelOnly": symbol.upper() if symbol else "all",
                  "status": out.status, "cancelledOrders": cancelled,
                  "orderEvents": [order_event(e, stringly_cancel=True)
                                  for e in out.order_events]}
        return await answer_after_engine(sim, request, {"cancelStatus": status})

    async def cancelallordersafter(request: web.Request) -> web.StreamResponse:
        """``triggerTime`` is the string ``"0"`` when disarmed."""
        req = await gate(sim, request, "cancelallordersafter", required=("timeout",))
        if not isinstance(req, PrivateRequest):
            return req
        try:
            timeout = int(P.number(P.first(req.params, "timeout"), name="timeout"))
        except P.ParamError as e:
            return error(e.code)
        if timeout < 0 or timeout > 2**32 - 1:
            return error("invalidArgument: timeout")
        current, trigger = sim.engine.cancel_all_after(req.account, timeout)
        return await answer_after_engine(sim, request, {"status": {
            "currentTime": iso(current), "triggerTime": iso(trigger) if trigger else "0"}})

    async def batchorder(request: web.Request) -> web.StreamResponse:
        metrics.REST_REQUESTS.labels("batchorder").inc()
        try:
            query, body = await raw_parts(request)
            doc = P.batch_json(query, body)
        except P.ParamError as e:
            return error(e.code)
        items = doc.get("batchOrder") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            return error("requiredArgumentMissing")
        req = await gate(sim, request, "batchorder", cost=9 + len(items))
        if not isinstance(req, PrivateRequest):
            return req
        received = iso(now_ms())
        return await answer_after_engine(sim, request, {"batchStatus": [
            batch_element(sim, req.account, item, received) for item in items]})

    base = "/derivatives/api/v3"
    return [
        web.post(f"{base}/sendorder", sendorder),
        web.post(f"{base}/editorder", editorder),
        web.post(f"{base}/cancelorder", cancelorder),
        web.post(f"{base}/cancelallorders", cancelallorders),
        web.post(f"{base}/cancelallordersafter", cancelallordersafter),
        web.post(f"{base}/batchorder", batchorder),
    ]


def batch_element(sim: Sim, account: str, item: object, received: str) -> dict[str, Any]:
    """One ``batchStatus`` entry, in request order::

        {"status":"placed","order_tag":"1","order_id":"022774bc-...",
         "dateTimeReceived":"2019-09-05T16:41:35.173Z","orderEvents":[...]}
        {"status":"cancelled","order_id":"...","orderEvents":[{"uid":...,"type":"CANCEL"}]}
        {"status":"requiredArgumentMissing","orderEvents":[]}
    """
    if not isinstance(item, dict):
        return {"status": "requiredArgumentMissing", "orderEvents": []}
    get = item.get
    kind = get("order")
    try:
        if kind == "send":
            if any(get(k) in (None, "") for k in ("orderType", "symbol", "side", "size")):
                return {"status": "requiredArgumentMissing", "orderEvents": []}
            out = send_order(sim, account, get)
            _count_reject(out)
            st = send_status(out, received)
            del st["receivedTime"]
            return {"status": st.pop("status"), "order_tag": get("order_tag"),
                    **({"order_id": st.pop("order_id")} if "order_id" in st else {}),
                    "dateTimeReceived": received, **st}
        if kind == "edit":
            if not (get("order_id") or get("cliOrdId")):
                return {"status": "requiredArgumentMissing", "orderEvents": []}
            out = edit_order(sim, account, get, id_key="order_id")
            _count_reject(out)
            ed: dict[str, Any] = {"status": out.status, "order_tag": get("order_tag")}
            if out.order_id:
                ed["order_id"] = out.order_id
            ed["orderEvents"] = [order_event(e) for e in out.order_events]
            return ed
        if kind == "cancel":
            oid, cid = get("order_id"), get("cliOrdId")
            if not (oid or cid):
                return {"status": "requiredArgumentMissing", "orderEvents": []}
            out = sim.engine.cancel(account, order_id=oid or None, cli_ord_id=cid or None)
            c: dict[str, Any] = {"status": out.status}
            if out.order_id:
                c["order_id"] = out.order_id
            elif cid:
                c["cliOrdId"] = cid
            c["orderEvents"] = [order_event(e, stringly_cancel=True) for e in out.order_events]
            return c
    except P.ParamError as e:
        return {"status": e.code.split(":")[0], "orderEvents": []}
    return {"status": "invalidArgument", "orderEvents": []}
