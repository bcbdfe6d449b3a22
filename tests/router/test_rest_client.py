"""common/kraken/rest.py against a real simulator over loopback HTTP: signing, nonces,
envelope errors, timeouts, HTTP 5xx and refused connections each mapped to their Failure."""

from __future__ import annotations

import asyncio
import itertools
from urllib.parse import quote, urlencode

from hypothesis import given
from hypothesis import strategies as st

from common.kraken.orders import cancelallorders, openorders, sendorder
from common.kraken.rest import Failure, KrakenRest, encode_batch, encode_params, nonce_owner
from tests.router.conftest import Sim
from tests.support.processes import free_port


def test_encode_params() -> None:
    assert encode_params({"a": "x y", "b": True, "c": None, "d": ["1", "2"]}) == "a=x%20y&b=true&d=1&d=2"
    assert encode_batch([{"order": "cancel", "cliOrdId": "k1.u.1"}]).startswith("json=%7B%22batchOrder")
    assert encode_params({"symbol": "PF_XBTUSD", "size": "0.01", "cliOrdId": "k1.u.7"}) == (
        "symbol=PF_XBTUSD&size=0.01&cliOrdId=k1.u.7"
    )


@given(st.dictionaries(st.text(min_size=1), st.one_of(st.text(), st.integers(), st.lists(st.text()))))
def test_encode_params_fast_path_is_exactly_urlencode(params: dict[str, object]) -> None:
    """The unreserved-characters fast path must sign and send the very bytes urlencode would."""
    items = [(k, str(x)) for k, v in params.items() for x in (v if isinstance(v, list) else [v])]
    assert encode_params(params) == urlencode(items, quote_via=quote)  # type: ignore[arg-type]


def test_nonce_owner_is_one_per_key_and_strictly_increasing() -> None:
    a, b = nonce_owner("key-a"), nonce_owner("key-a")
    assert a is b and a is not nonce_owner("key-b")
    seq = [int(a.next()) for _ in range(1000)]
    assert all(y > x for x, y in itertools.pairwise(seq))


async def test_signed_calls_against_sim(sim: Sim) -> None:
    rest = KrakenRest(sim.rest_url, sim.key, sim.secret, timeout=3.0)
    try:
        inst = await rest.get("instruments", signed=False)
        assert inst.ok
        r = await rest.post("sendorder", {"orderType": "lmt", "symbol": "PF_XBTUSD", "side": "buy",
                                          "size": "0.001", "limitPrice": "30000", "cliOrdId": "k1.rest.1"})
        res = sendorder.parse(r.raise_for_error())
        assert res.accepted and res.open and res.cli_ord_id == "k1.rest.1"
        oo = openorders.parse((await rest.get("openorders")).raise_for_error())
        assert "k1.rest.1" in {o.cli_ord_id for o in oo}
        batch = await rest.post_batch([{"order": "cancel", "cliOrdId": "k1.rest.1"}])
        assert batch.ok and batch.body is not None and batch.body["batchStatus"][0]["status"] == "cancelled"
        ca = cancelallorders.parse((await rest.post("cancelallorders")).raise_for_error())
        assert ca.cancelled == ()
        # concurrent calls share the key's nonce owner and all authenticate
        replies = await asyncio.gather(*(rest.get("openorders") for _ in range(20)))
        assert all(x.ok for x in replies)
    finally:
        await rest.close()


async def test_failures_are_classified(sim: Sim) -> None:
    bad = KrakenRest(sim.rest_url, sim.key, "c2VjcmV0", timeout=3.0)
    rest = KrakenRest(sim.rest_url, sim.key, sim.secret, timeout=0.5)
    nowhere = KrakenRest(f"http://127.0.0.1:{free_port()}/derivatives/api/v3", sim.key, sim.secret, timeout=1.0)
    try:
        r = await bad.get("openorders")
        assert (r.failure, r.error) == (Failure.KRAKEN, "authenticationError")
        sim.admin("fault/http_error", {"status": 503})
        r = await rest.get("openorders")
        assert r.failure is Failure.HTTP and r.http_status == 503
        sim.admin("fault/rest_delay", {"seconds": 1.5})
        r = await rest.get("openorders")
        assert r.failure is Failure.TIMEOUT
        sim.admin("fault/rate_limit")
        r = await rest.get("openorders")
        assert (r.failure, r.error) == (Failure.KRAKEN, "apiLimitExceeded")
        r = await nowhere.get("openorders")
        assert r.failure is Failure.DISCONNECTED
    finally:
        sim.admin("fault/clear", {})
        for c in (bad, rest, nowhere):
            await c.close()
