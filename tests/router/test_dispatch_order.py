"""The order-entry fast path, without network: what a drain records is sent after the REST
calls it started, in order; a lone job starts its call at once; jobs that queue up go out as
one batchorder; every job gets exactly one outcome."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from common.kraken.ratelimit import RateBudget
from common.kraken.rest import KrakenRest, RestReply
from common.messages import Heartbeat, Message
from services.router.dispatcher import Dispatcher, Job, JobOutcome
from services.router.outbox import Outbox


class FakeRest(KrakenRest):
    """Records calls; each answers when the test resolves its future."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:1/derivatives/api/v3")
        self.calls: list[tuple[str, Any]] = []
        self.answers: list[asyncio.Future[RestReply]] = []

    async def _answer(self, endpoint: str, what: Any) -> RestReply:
        self.calls.append((endpoint, what))
        fut: asyncio.Future[RestReply] = asyncio.get_running_loop().create_future()
        self.answers.append(fut)
        return await fut

    async def post(self, endpoint: str, params: Any = None, *, timeout: float | None = None) -> RestReply:
        return await self._answer(endpoint, params)

    async def post_batch(self, batch: list[dict[str, Any]], *, timeout: float | None = None) -> RestReply:
        return await self._answer("batchorder", batch)


def ok(body: dict[str, Any]) -> RestReply:
    return RestReply(True, body, None, "", 200, 0, 0, handed_ns=time.perf_counter_ns())


def dispatcher(rest: FakeRest, max_in_flight: int = 8) -> Dispatcher:
    return Dispatcher("main", rest, RateBudget(1e9, 10.0, time.monotonic()), max_in_flight=max_in_flight)


def job(n: int, outcomes: list[tuple[int, JobOutcome]]) -> Job:
    return Job("cancel", {"cliOrdId": f"k1.u.{n}"}, lambda o: outcomes.append((n, o)), received_ns=1)


async def turns(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_outbox_keeps_order_and_releases_after_the_hops() -> None:
    sent: list[tuple[str, str, int]] = []
    box = Outbox(lambda peer, m: sent.append(("reply", peer.decode(), m.interval_ms)),  # type: ignore[attr-defined]
                 lambda topic, m: sent.append(("pub", topic, m.interval_ms)), hops=2)  # type: ignore[attr-defined]
    msgs: list[Message] = [Heartbeat(service="t", interval_ms=i) for i in range(4)]
    box.publish("a", msgs[0])
    assert sent == [("pub", "a", 0)]  # not holding: at once
    box.hold()
    box.publish("a", msgs[1])
    box.reply(b"p", msgs[2])
    box.publish("a", msgs[3])
    box.release_soon()
    box.release_soon()  # asked twice: released once
    await turns(1)
    assert len(sent) == 1 and box.holding
    await turns(1)
    assert sent == [("pub", "a", 0), ("pub", "a", 1), ("reply", "p", 2), ("pub", "a", 3)]
    assert not box.holding
    await turns(3)
    assert len(sent) == 4


async def test_lone_job_starts_its_own_call_on_flush() -> None:
    rest, outcomes = FakeRest(), []  # type: ignore[var-annotated]
    d = dispatcher(rest)
    probes: list[tuple[int, int]] = []
    d.on_sent = lambda r, s: probes.append((r, s))
    assert d.submit(job(1, outcomes)) is None
    assert d.flush() == 1
    assert d.flush() == 0  # nothing left: the end-of-turn flush finds nothing
    await turns(1)
    assert rest.calls == [("cancelorder", {"cliOrdId": "k1.u.1"})]
    rest.answers[0].set_result(ok({"cancelStatus": {"status": "cancelled", "order_id": "x"}}))
    await turns(2)
    assert [(n, o.result is not None and o.result.accepted) for n, o in outcomes] == [(1, True)]
    assert len(probes) == 1 and probes[0][1] > 0


async def test_jobs_queued_together_or_behind_busy_calls_go_as_one_batch_once() -> None:
    rest, outcomes = FakeRest(), []  # type: ignore[var-annotated]
    d = dispatcher(rest, max_in_flight=1)
    for n in (1, 2, 3):
        assert d.submit(job(n, outcomes)) is None
    assert d.flush() == 1  # a burst read in one drain: one batchorder
    await turns(1)
    assert [c[0] for c in rest.calls] == ["batchorder"] and len(rest.calls[0][1]) == 3
    for n in (4, 5):  # behind the one busy call
        assert d.submit(job(n, outcomes)) is None
    assert d.flush() == 0
    await turns(2)
    assert len(rest.calls) == 1
    cancelled = [{"order": "cancel", "status": "cancelled", "order_id": str(i)} for i in range(3)]
    rest.answers[0].set_result(ok({"batchStatus": cancelled}))
    await turns(3)
    assert [c[0] for c in rest.calls] == ["batchorder", "batchorder"] and len(rest.calls[1][1]) == 2
    rest.answers[1].set_result(ok({"batchStatus": cancelled[:2]}))
    await turns(3)
    assert sorted(n for n, _ in outcomes) == [1, 2, 3, 4, 5]  # each exactly once
    assert all(o.result is not None and o.result.accepted for _, o in outcomes)
