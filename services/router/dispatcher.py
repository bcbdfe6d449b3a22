"""Per-account REST order dispatch: rate budget, concurrency, batching, timeouts.

Requests that passed validation become :class:`Job` s. A job is charged to the account's
:class:`RateBudget` when submitted (``reject`` policy: refused at once when over budget;
``queue`` policy: held until it fits, at most ``rate_queue_max_wait`` seconds). Jobs are sent when
the router has read every request waiting on its socket (:meth:`Dispatcher.flush`, at the end of
that drain; otherwise at the end of the event-loop turn): one job alone goes to its own endpoint
(sendorder / editorder / cancelorder); several queued together (a burst, or requests waiting
for one of ``max_in_flight`` busy slots) go as one ``batchorder`` (cost 9 + n instead of
10 n; the difference is refunded). Every job gets exactly one :class:`JobOutcome`; nothing is
ever retried, so nothing is ever sent twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from common.kraken.orders import batchorder, cancelorder, editorder, sendorder
from common.kraken.orders.batchorder import BatchItem, Kind
from common.kraken.orders.result import OrderResult, envelope_failure
from common.kraken.ratelimit import RateBudget, cost
from common.kraken.rest import Failure, KrakenRest, RestReply
from common.messages import ErrorCode

from . import metrics
from .validation import Refusal

log = logging.getLogger("kgw.router.dispatch")

ENDPOINTS: dict[Kind, str] = {"send": "sendorder", "edit": "editorder", "cancel": "cancelorder"}
PARSERS: dict[Kind, Callable[[dict[str, object]], OrderResult]] = {
    "send": sendorder.parse, "edit": editorder.parse, "cancel": cancelorder.parse,
}


@dataclass(slots=True)
class JobOutcome:
    """What became of a job: ``result`` when Kraken answered about this order, else
    ``failure`` (transport, HTTP or whole-call error) with ``text``."""

    result: OrderResult | None
    failure: Failure | None = None
    text: str = ""


@dataclass(slots=True)
class Job:
    kind: Kind
    params: dict[str, str]
    done: Callable[[JobOutcome], None]
    received_ns: int = 0


class Dispatcher:
    """REST order calls of one account (see module docstring for the tunables)."""

    def __init__(
        self,
        account: str,
        rest: KrakenRest,
        budget: RateBudget,
        *,
        policy: str = "reject",
        max_wait: float = 2.0,
        max_in_flight: int = 8,
        batch_max: int = 20,
    ) -> None:
        self.account = account
        self.rest = rest
        self.budget = budget
        self.policy = policy
        self.max_wait = max_wait
        self.max_in_flight = max_in_flight
        self.batch_max = batch_max
        self.queue: deque[Job] = deque()
        self.in_flight = 0
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.last_sent_ns = 0
        #: called with (received_ns, handed_ns) of each single-order call (latency probe):
        #: request read, and the signed request handed to aiohttp (``time.perf_counter_ns``)
        self.on_sent: Callable[[int, int], None] | None = None

    def charge(self, tokens: float) -> Refusal | float | None:
        """Charge ``tokens`` by policy: None = go now, float = go after that many seconds,
        Refusal = over budget."""
        now = time.monotonic()
        if self.policy == "queue":
            delay = self.budget.delay_for(tokens, now)
            if delay > self.max_wait:
                return Refusal(ErrorCode.RATE_LIMITED, f"rate budget needs {delay:.2f}s > {self.max_wait}s")
            self.budget.reserve(tokens, now)
            return delay if delay > 0 else None
        if not self.budget.try_take(tokens, now):
            return Refusal(ErrorCode.RATE_LIMITED, f"rate budget exhausted ({self.budget.available(now):.0f} left)")
        return None

    def submit(self, job: Job, *, force: bool = False) -> Refusal | None:
        """Queue a job (or refuse it RATE_LIMITED). Its outcome arrives through ``job.done``.
        ``force`` (gateway safety cancels): never refused; sent as soon as the budget allows."""
        tokens = cost(ENDPOINTS[job.kind])
        if force:
            delay = self.budget.reserve(tokens, time.monotonic())
            charged: Refusal | float | None = delay if delay > 0 else None
        else:
            charged = self.charge(tokens)
        if isinstance(charged, Refusal):
            metrics.RATE_LIMITED.labels(self.account).inc()
            return charged
        if charged is None:
            self._enqueue(job)
        else:
            asyncio.get_running_loop().call_later(charged, self._enqueue, job)
        return None

    def _enqueue(self, job: Job) -> None:
        self.queue.append(job)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> int:
        """Start calls for the queued jobs while fewer than ``max_in_flight`` are busy; the
        number of calls started."""
        self._flush_scheduled = False
        started = 0
        while self.queue and self.in_flight < self.max_in_flight:
            n = min(len(self.queue), self.batch_max)
            jobs = [self.queue.popleft() for _ in range(n)]
            if n > 1:
                self.budget.refund(10 * n - cost("batchorder", batch_size=n), time.monotonic())
            self.in_flight += 1
            task = asyncio.get_running_loop().create_task(self._call(jobs))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def _call(self, jobs: list[Job]) -> None:
        try:
            if len(jobs) == 1:
                job = jobs[0]
                reply = await self.rest.post(ENDPOINTS[job.kind], job.params)
                if self.on_sent is not None and reply.handed_ns:
                    self.on_sent(job.received_ns, reply.handed_ns)
                metrics.REST_LATENCY.labels(ENDPOINTS[job.kind]).observe((reply.done_ns - reply.sent_ns) / 1e9)
                outcomes = [self._single(job.kind, reply)]
            else:
                items = [BatchItem(j.kind, j.params) for j in jobs]
                reply = await self.rest.post_batch(batchorder.build(items))
                metrics.REST_LATENCY.labels("batchorder").observe((reply.done_ns - reply.sent_ns) / 1e9)
                metrics.BATCHED.inc(len(jobs))
                outcomes = self._batch(items, reply)
        except Exception as e:  # a bug here must still answer every job
            log.exception("order call failed")
            outcomes = [JobOutcome(None, Failure.LOST, f"internal error: {type(e).__name__}")] * len(jobs)
        finally:
            self.in_flight -= 1
            if self.queue and not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self.flush)
        for job, outcome in zip(jobs, outcomes, strict=True):
            try:
                job.done(outcome)
            except Exception:
                log.exception("outcome handler failed")

    @staticmethod
    def _single(kind: Kind, reply: RestReply) -> JobOutcome:
        if reply.ok and reply.body is not None:
            return JobOutcome(PARSERS[kind](reply.body))
        if reply.failure is Failure.KRAKEN:
            return JobOutcome(envelope_failure(reply.error), Failure.KRAKEN, reply.error)
        return JobOutcome(None, reply.failure, reply.error)

    @staticmethod
    def _batch(items: list[BatchItem], reply: RestReply) -> list[JobOutcome]:
        if reply.ok and reply.body is not None:
            out = []
            for r in batchorder.parse(reply.body, items):
                if r.status in batchorder.UNANSWERED:  # Kraken did not say: outcome unknown
                    out.append(JobOutcome(None, Failure.BAD_RESPONSE, f"batchorder: {r.status}"))
                else:
                    out.append(JobOutcome(r))
            return out
        if reply.failure is Failure.KRAKEN:
            return [JobOutcome(envelope_failure(reply.error), Failure.KRAKEN, reply.error) for _ in items]
        return [JobOutcome(None, reply.failure, reply.error) for _ in items]

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
