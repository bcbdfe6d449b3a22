"""The private-feed parsers against real and documented Kraken payloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.kraken.private import balances, fills, frames, open_orders, open_positions
from common.kraken.private.challenge import AUTH_FAILED, ChallengeLogin, LoginError, LoginState
from common.kraken.private.wire import ParseError
from common.messages import CancelReason, Liquidity, OrderStatus, OrderType, Side
from common.oms.inputs import OrderClosed, OrderView

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kraken" / "private"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_open_orders_snapshot_stop_order() -> None:
    [v] = open_orders.parse_snapshot(load("nautilus__ws_futures_open_orders_snapshot.json"))
    assert v.exchange_order_id == "723ba95f-13b7-418b-8fcf-ab7ba6620555"
    assert v.side is Side.SELL  # direction 1
    assert v.order_type is OrderType.STOP
    assert (v.remaining, v.filled, v.price, v.stop_price) == (1000, 0, 34900, 13789)


def test_open_orders_verbose_snapshot() -> None:
    [v] = open_orders.parse_snapshot(load("ccxt__ws_open_orders_verbose_snapshot.json"))
    assert v.side is Side.BUY and v.stop_price is None  # 0.0 means "no stop price"


def test_new_order_delta_is_a_view_with_remaining_qty() -> None:
    v = open_orders.parse_delta(load("nautilus__ws_futures_open_orders_delta.json"))
    assert isinstance(v, OrderView)
    assert (v.symbol, v.side, v.remaining, v.filled, v.reduce_only) == ("PI_XBTUSD", Side.SELL, 304.0, 0.0, True)
    assert v.update_time_ms == 1567702877410


def test_full_fill_removal_is_a_fill_not_a_cancel() -> None:
    v = open_orders.parse_delta(load("nautilus__ws_futures_open_orders_delta_full_fill.json"))
    assert isinstance(v, OrderView)
    assert (v.remaining, v.filled) == (0.0, 0.0001)


def test_partial_fill_with_is_cancel_is_a_fill() -> None:
    v = open_orders.parse_delta(
        b'{"feed":"open_orders","order":{"instrument":"PF_XBTUSD","time":1,"last_update_time":2,"qty":0.5,'
        b'"filled":0.5,"limit_price":100.0,"stop_price":0.0,"type":"limit","order_id":"x","direction":0,'
        b'"reduce_only":false},"is_cancel":true,"reason":"partial_fill"}'
    )
    assert isinstance(v, OrderView) and v.remaining == 0.5


def test_bare_user_cancel() -> None:
    c = open_orders.parse_delta(load("ccxt__ws_open_orders_cancel_no_order_obj.json"))
    assert isinstance(c, OrderClosed)
    assert (c.exchange_order_id, c.status, c.reason, c.view) == (
        "ea8a7144-37db-449b-bb4a-b53c814a0f43",
        OrderStatus.CANCELLED,
        CancelReason.USER,
        None,
    )


@pytest.mark.parametrize(
    "name", ["ccxt__ws_open_orders_verbose_post_failed.json", "nautilus__ws_futures_open_orders_cancel_post_only.json"]
)
def test_post_only_failure_is_a_rejection(name: str) -> None:
    c = open_orders.parse_delta(load(name))
    assert isinstance(c, OrderClosed)
    assert (c.status, c.reason) == (OrderStatus.REJECTED, CancelReason.POST_ONLY_WOULD_EXECUTE)


def test_post_only_failure_carries_cli_ord_id_without_order_object() -> None:
    c = open_orders.parse_delta(load("nautilus__ws_futures_open_orders_cancel_post_only.json"))
    assert isinstance(c, OrderClosed) and c.client_order_id == "O-20250306-001"


@pytest.mark.parametrize(
    ("reason", "status", "mapped"),
    [
        ("dead_man_switch", OrderStatus.CANCELLED, CancelReason.DEAD_MAN_SWITCH),
        ("ioc_order_failed_because_it_would_not_be_executed", OrderStatus.CANCELLED, CancelReason.IOC_NOT_EXECUTED),
        ("contract_expired", OrderStatus.EXPIRED, CancelReason.CONTRACT_EXPIRED),
        ("would_execute_self", OrderStatus.CANCELLED, CancelReason.SELF_TRADE),
        ("something_new", OrderStatus.CANCELLED, CancelReason.OTHER),
    ],
)
def test_cancel_reasons(reason: str, status: OrderStatus, mapped: CancelReason) -> None:
    c = open_orders.parse_delta(f'{{"feed":"open_orders","order_id":"a","is_cancel":true,"reason":"{reason}"}}')
    assert isinstance(c, OrderClosed) and (c.status, c.reason, c.text) == (status, mapped, reason)


def test_edit_is_a_view() -> None:
    v = open_orders.parse_delta(load("ccxt__ws_open_orders_edited_by_user_2023.json"))
    assert isinstance(v, OrderView) and v.remaining == 1.1 and v.text == "edited_by_user"


@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        b"not json",
        b'{"feed":"open_orders","is_cancel":false,"reason":"new_placed_order_by_user"}',
        b'{"feed":"open_orders","is_cancel":true,"reason":"cancelled_by_user"}',
        b'{"feed":"open_orders","order":{"instrument":"X","order_id":"a","qty":1,"direction":7}}',
    ],
)
def test_bad_open_orders_raise_parse_error(payload: bytes) -> None:
    with pytest.raises(ParseError):
        open_orders.parse_delta(payload)


def test_rest_open_orders_lowercase_symbols_and_cli_ord_id_spellings() -> None:
    views = open_orders.parse_rest(load("nautilus__http_futures_open_orders.json"))
    assert [v.symbol for v in views] == ["PI_ETHUSD", "PI_ETHUSD", "PI_XBTUSD"]
    assert views[2].client_order_id == "my-client-order-123"
    assert (views[2].remaining, views[2].filled, views[2].side) == (5000.0, 2000.0, Side.SELL)
    assert views[1].order_type is OrderType.TAKE_PROFIT
    assert views[0].update_time_ms == 1680880684699
    sdk = open_orders.parse_rest(load("sdk__rest_openorders.json"))
    assert sdk[0].symbol == "PI_ETHUSD"


def test_rest_open_orders_trigger_without_unfilled_size() -> None:
    [v] = open_orders.parse_rest(
        b'{"result":"success","openOrders":[{"order_id":"t","symbol":"PF_XBTUSD","side":"buy",'
        b'"orderType":"stop","stopPrice":5,"receivedTime":"2026-01-01T00:00:00.000Z","status":"untouched",'
        b'"filledSize":0,"reduceOnly":false,"lastUpdateTime":"2026-01-01T00:00:00.000Z"}]}'
    )
    assert v.remaining is None and v.order_type is OrderType.STOP


def test_rest_error_answer() -> None:
    with pytest.raises(ParseError):
        open_orders.parse_rest(b'{"result":"error","error":"authenticationError"}')


def test_fills_delta() -> None:
    [f], rejected = fills.parse(load("nautilus__ws_futures_fills_delta.json"))
    assert rejected == []
    assert (f.side, f.quantity, f.price, f.liquidity, f.fee, f.fee_currency) == (
        Side.BUY,
        0.001,
        3162.0,
        Liquidity.TAKER,
        0.001581,
        "USD",
    )
    assert f.remaining_order_quantity == 0.0 and f.order_type is OrderType.MARKET
    assert f.client_order_id == "b661bad0-7037-4b73-9e07-a65b515e4ef7"


def test_fills_snapshot_maker_rebate() -> None:
    fs, _ = fills.parse(load("nautilus__ws_futures_fills_snapshot.json"))
    assert [f.liquidity for f in fs] == [Liquidity.MAKER, Liquidity.TAKER]
    assert fs[0].fee < 0


def test_rest_fills_both_shapes() -> None:
    [f], _ = fills.parse_rest(load("sdk__rest_fills.json"))
    assert (f.symbol, f.side, f.quantity, f.remaining_order_quantity) == ("PI_ETHUSD", Side.BUY, 5, None)
    assert f.time_ms == 1680880066540
    fs, _ = fills.parse_rest(load("nautilus__http_futures_fills.json"))
    assert fs[1].client_order_id == "my-order-ref-456" and fs[2].side is Side.SELL


def test_one_bad_fill_does_not_lose_the_others() -> None:
    doc = json.loads(load("nautilus__ws_futures_fills_snapshot.json"))
    doc["fills"].insert(1, {"instrument": "PF_XBTUSD", "fill_id": "no-qty"})
    doc["fills"].append({**doc["fills"][0], "fill_id": "zero", "qty": 0})
    good, rejected = fills.parse(json.dumps(doc))
    assert [f.fill_id for f in good] == [doc["fills"][0]["fill_id"], doc["fills"][2]["fill_id"]]
    assert rejected == ["fill", "fill_qty"]
    rest = {"result": "success", "fills": [{"fill_id": "a", "symbol": "PF_XBTUSD", "side": "up", "order_id": "o",
                                            "size": 1, "price": 1}, {"fill_id": "b"}]}
    assert fills.parse_rest(json.dumps(rest)) == ([], ["rest_fill", "bad_side"])


def test_liquidity_of_liquidations() -> None:
    assert fills.liquidity_of("takerAfterEdit") is Liquidity.TAKER
    assert fills.liquidity_of("liquidation") is Liquidity.OTHER


def test_open_positions() -> None:
    [p] = open_positions.parse(load("ccxt__ws_open_positions_2023.json"))
    assert (p.symbol, p.position, p.average_price, p.time_ms) == ("PF_LTCUSD", 0.5, 70.53, 1698608414910)


def test_balances_snapshot_and_partial_deltas() -> None:
    snap = balances.parse(load("ccxt__ws_balances_snapshot_docs.json"))
    assert [(e.currency, e.balance) for e in snap] == [("USD", 0.0), ("EUR", 0.0)]
    assert balances.parse(load("ccxt__ws_balances_delta_holding.json")) == []
    [xbt] = balances.parse(load("ccxt__ws_balances_delta_single_collateral.json"))
    assert (xbt.currency, xbt.balance, xbt.available) == ("XBT", 0.1219368845, 0.1219368845)


def test_frames_envelope() -> None:
    assert frames.envelope(load("docs__ws_challenge_response.json")).event == "challenge"
    assert frames.envelope(load("nautilus__ws_futures_fills_delta.json")).feed == "fills"
    with pytest.raises(ParseError):
        frames.envelope(b"[1,2]")


def test_challenge_login_signs_with_the_documented_vector() -> None:
    vec = json.loads(load("docs__ws_challenge_signing_test_vector.json"))
    login = ChallengeLogin("key", vec["api_secret"], ["open_orders", "fills"])
    assert login.start() == {"event": "challenge", "api_key": "key"}
    subs = login.on_challenge(vec["challenge"])
    assert [s["feed"] for s in subs] == ["open_orders", "fills"]
    assert {s["signed_challenge"] for s in subs} == {vec["signed_challenge"]}
    assert {s["original_challenge"] for s in subs} == {vec["challenge"]}
    assert not login.on_subscribed("open_orders")
    assert login.on_subscribed("fills") and login.state is LoginState.SUBSCRIBED


def test_challenge_is_forgotten_on_every_new_connection() -> None:
    login = ChallengeLogin("key", "c2VjcmV0", ["fills"])
    login.start()
    login.on_challenge("first")
    login.on_subscribed("fills")
    login.start()  # reconnect
    assert login.challenge is None and login.state is LoginState.CHALLENGE_SENT
    assert login.on_challenge("second")[0]["original_challenge"] == "second"
    assert login.challenges_requested == 2


def test_challenge_login_errors() -> None:
    login = ChallengeLogin("key", "c2VjcmV0", ["fills"])
    with pytest.raises(LoginError):
        login.on_challenge("unasked")
    login.start()
    with pytest.raises(LoginError):
        login.on_alert(AUTH_FAILED)
    login.on_alert("Already subscribed to feed, re-requesting")  # harmless
    with pytest.raises(ValueError):
        ChallengeLogin("key", "not base64!", ["fills"])
