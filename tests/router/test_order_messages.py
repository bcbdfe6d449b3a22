"""Request builders and answer parsers of common/kraken/orders, on real and documented
Kraken payloads (tests/fixtures/kraken/) and on edge cases of the grid arithmetic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from common.kraken.orders import (
    batchorder,
    cancelallorders,
    cancelallordersafter,
    cancelorder,
    decimals,
    editorder,
    instruments,
    openorders,
    sendorder,
)
from common.kraken.orders.codes import envelope_error_code
from common.messages import CreateOrder, ErrorCode, ModifyOrder, OrderType, Side, TimeInForce, TriggerSignal

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "kraken"


def load(name: str) -> dict[str, Any]:
    doc = json.loads((FIX / name).read_text())
    assert isinstance(doc, dict)
    return doc


RULES = instruments.InstrumentRules("PF_XBTUSD", 1.0, 0.0001, 0.0001, 1000.0, True, False)


def test_instruments_real_2021_lowercase_and_2025_uppercase() -> None:
    old = instruments.parse(load("rest_instruments_2021_real_cryptofeed.json"))
    assert "PI_XBTUSD" in old and old["PI_XBTUSD"].tick_size == 0.5 and old["PI_XBTUSD"].size_step == 1.0
    assert not any(s.startswith("IN_") for s in old)  # index entries have no rules
    new = instruments.parse(load("nautilus__http_futures_instruments.json"))
    eth = new["PF_ETHUSD"]
    assert eth.size_step == pytest.approx(0.001) and eth.tick_size == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [(50000.0, 1.0, "50000"), (0.1 + 0.2, 0.1, "0.3"), (0.0001, 0.0001, "0.0001"), (3000.0, 1000.0, "3000"),
     (1e-9, 1e-10, "0.000000001"), (60000.5, 0.5, "60000.5")],
)
def test_wire_prints_exact_decimals(value: float, step: float, expected: str) -> None:
    assert decimals.wire(value, step) == expected
    assert decimals.steps(value, step) is not None


@pytest.mark.parametrize(("value", "step"), [(50000.3, 1.0), (0.00015, 0.0001), (1500.0, 1000.0), (float("nan"), 1.0)])
def test_off_grid_values_are_detected(value: float, step: float) -> None:
    assert decimals.steps(value, step) is None


def order(**kw: Any) -> CreateOrder:
    fields: dict[str, Any] = {"account": "main", "order_id": 7, "symbol": "PF_XBTUSD", "side": Side.BUY,
                              "quantity": 0.0012, **kw}
    return CreateOrder(**fields)


def test_sendorder_build_every_type() -> None:
    lmt = sendorder.build(order(order_type=OrderType.LIMIT, price=50000.0), "k1.u.7", RULES)
    assert lmt == {"orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy", "size": "0.0012",
                   "limitPrice": "50000", "cliOrdId": "k1.u.7"}
    post = sendorder.build(order(order_type=OrderType.LIMIT, price=5e4, post_only=True), "c", RULES)
    assert post["orderType"] == "post"
    ioc = sendorder.build(order(order_type=OrderType.LIMIT, price=5e4,
                                      time_in_force=TimeInForce.IOC), "c", RULES)
    assert ioc["orderType"] == "ioc"
    mkt = sendorder.build(order(order_type=OrderType.MARKET), "c", RULES)
    assert mkt["orderType"] == "mkt" and "limitPrice" not in mkt
    stp = sendorder.build(order(order_type=OrderType.STOP, stop_price=40000.0, reduce_only=True,
                                      trigger_signal=TriggerSignal.MARK), "c", RULES)
    assert (stp["orderType"], stp["stopPrice"], stp["reduceOnly"]) == ("stp", "40000", "true")
    assert stp["triggerSignal"] == "mark"
    tp = sendorder.build(order(order_type=OrderType.TAKE_PROFIT, stop_price=7e4, price=70001.0), "c",
                         RULES)
    assert (tp["orderType"], tp["limitPrice"]) == ("take_profit", "70001")


def test_sendorder_parse_placed_market_trigger_and_reject() -> None:
    placed = sendorder.parse(load("sdk__rest_sendorder_lmt_place.json"))
    assert placed.accepted and placed.open and placed.exchange_order_id
    mkt = sendorder.parse(load("ccxt__rest_sendorder_mkt_execution_2026.json"))
    assert mkt.accepted and not mkt.open and mkt.executed == pytest.approx(0.001)
    assert mkt.exchange_order_id == "a133a4f9-254d-4806-8176-9acc936b6944"
    trig = sendorder.parse(load("sdk__rest_sendorder_take_profit_trigger_place.json"))
    assert trig.accepted and trig.open
    rej = sendorder.parse({"result": "success", "sendStatus": {"status": "postWouldExecute", "orderEvents": []}})
    assert not rej.accepted and rej.error is ErrorCode.POST_ONLY_WOULD_EXECUTE and rej.status == "postWouldExecute"
    odd = sendorder.parse({"result": "success", "sendStatus": {"status": "tooManySmallOrders"}})
    assert odd.error is ErrorCode.EXCHANGE_REJECTED


def test_stop_market_trigger_stays_open() -> None:
    body = {"sendStatus": {"status": "placed", "order_id": "x", "orderEvents": [
        {"type": "PLACE", "orderTrigger": {"uid": "x", "clientId": "k1.u.1", "type": "ioc", "quantity": 1}}]}}
    r = sendorder.parse(body)
    assert r.open and r.cli_ord_id == "k1.u.1"


def test_editorder_build_and_parse() -> None:
    p = editorder.build(ModifyOrder(account="main", order_id=1, price=50001.0), "k1.u.1", RULES)
    assert p == {"cliOrdId": "k1.u.1", "limitPrice": "50001"}
    nf = editorder.parse(load("sdk__rest_editorder_orderForEditNotFound.json"))
    assert not nf.accepted and nf.error is ErrorCode.UNKNOWN_ORDER
    assert nf.exchange_order_id == "fc589be9-5095-48f0-b6f1-a2dfad6d9677"  # editStatus.orderId, camel case


def test_cancelorder_parse() -> None:
    assert cancelorder.build("k1.u.1") == {"cliOrdId": "k1.u.1"}
    nf = cancelorder.parse(load("sdk__rest_cancelorder_notFound.json"))
    assert not nf.accepted and nf.error is ErrorCode.UNKNOWN_ORDER
    ok = cancelorder.parse({"cancelStatus": {"status": "cancelled", "order_id": "a"}})
    assert ok.accepted and ok.exchange_order_id == "a"
    filled = cancelorder.parse({"cancelStatus": {"status": "filled", "order_id": "a"}})
    assert filled.error is ErrorCode.ORDER_FINISHED


def test_cancelallorders_counts_from_list_even_with_noOrdersToCancel() -> None:
    r = cancelallorders.parse(load("nautilus_test__rest_cancelallorders_noOrdersToCancel_2026_production.json"))
    assert r.status == "noOrdersToCancel" and len(r.cancelled) == 1
    assert r.cancelled[0][1] == "5f173994-f660-4809-b97a-586221fe5926"
    s = cancelallorders.parse(load("ccxt__rest_cancelallorders_2024_string_numbers.json"))
    assert s.status == "cancelled" and len(s.cancelled) == 1
    assert cancelallorders.build(None) == {} and cancelallorders.build("PF_XBTUSD") == {"symbol": "PF_XBTUSD"}


def test_cancelallordersafter() -> None:
    armed = cancelallordersafter.parse(load("docs__rest_cancelallordersafter_enabled.json"))
    assert armed == "2018-06-19T16:52:23.839Z"
    assert cancelallordersafter.parse(load("sdk__rest_cancelallordersafter_disabled.json")) is None
    assert cancelallordersafter.build(30) == {"timeout": "30"}


def test_batchorder_mixed_positions_and_string_numbers() -> None:
    items = [batchorder.BatchItem("send", {"orderType": "lmt"}), batchorder.BatchItem("send", {"orderType": "stp"}),
             batchorder.BatchItem("cancel", {"order_id": "e35d"}), batchorder.BatchItem("cancel", {"cliOrdId": "my"})]
    built = batchorder.build(items)
    assert built[0]["order_tag"] == "1" and "order_tag" not in built[2]
    res = batchorder.parse(load("sdk__rest_batchorder_mixed.json"), items)
    assert [r.accepted for r in res] == [False, True, False, False]
    assert res[0].error is ErrorCode.INSUFFICIENT_FUNDS and res[1].open
    one = [batchorder.BatchItem("cancel", {"cliOrdId": "x"})]
    assert batchorder.parse(load("ccxt__rest_batchorder_cancel_2023_string_numbers.json"), one)[0].accepted
    short = batchorder.parse({"batchStatus": []}, one)
    assert short[0].status in batchorder.UNANSWERED


def test_openorders_both_client_id_spellings() -> None:
    orders = openorders.parse(load("nautilus__http_futures_open_orders.json"))
    assert orders and all(o.symbol == o.symbol.upper() for o in orders)
    body = {"openOrders": [{"order_id": "a", "cli_ord_id": "k1.u.3", "symbol": "pf_xbtusd", "side": "buy",
                            "orderType": "stop", "filledSize": "0"},
                           {"order_id": "b", "cliOrdId": "k1.u.4", "unfilledSize": 2}, {"junk": 1}]}
    parsed = openorders.parse(body)
    assert [o.cli_ord_id for o in parsed] == ["k1.u.3", "k1.u.4"] and parsed[0].unfilled is None


def test_envelope_error_codes() -> None:
    assert envelope_error_code(load("docs__rest_error_apiLimitExceeded.json")["error"]) is ErrorCode.RATE_LIMITED
    assert envelope_error_code("invalidArgument: limitPrice") is ErrorCode.EXCHANGE_REJECTED
    assert envelope_error_code("authenticationError") is ErrorCode.AUTHENTICATION_FAILED
