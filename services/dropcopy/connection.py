"""One account's private WebSocket connection to Kraken Futures, and its download.

State machine (published as StreamStatus by the owner through ``on_state``)::

    DISCONNECTED -> CONNECTING -> LOGIN_SENT -> DOWNLOADING -> READY
                                  challenge     snapshots,      live
                                  outstanding   REST reconcile

- CONNECTING -> LOGIN_SENT: the socket is open; a **fresh** challenge is requested (every
  connection, section 4.3: reusing the previous connection's challenge is the classic bug).
- LOGIN_SENT -> DOWNLOADING: the challenge arrived; the download begins (DownloadBegin) and the
  signed subscriptions go out. The download starts before the first subscription is sent, so
  no snapshot can arrive outside it.
- DOWNLOADING -> READY: every subscription acknowledged and every snapshot in
  (``open_orders[_verbose]_snapshot``, ``fills_snapshot``, ``open_positions``,
  ``balances_snapshot``); then REST ``fills`` and ``openorders`` reconcile what happened while
  disconnected; then the held messages and the full state are published and DownloadEnd.
- any failure -> DISCONNECTED, and the stream reconnects with capped, jittered backoff.

A login or download that takes longer than its timeout restarts the connection. Frames that
cannot be parsed are counted (``kgw_ws_stream_parse_errors_total``) and dropped; they never
take the connection down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson

from common.kraken.private import balances, fills, frames, open_orders, open_positions
from common.kraken.private.challenge import FEEDS, ChallengeLogin, LoginError
from common.kraken.private.wire import ParseError
from common.kraken.rest import KrakenRest
from common.kraken.stream import State, Stream
from common.oms.account_state import AccountState, Out
from services.dropcopy import metrics
from services.dropcopy.settings import DropcopySettings

log = logging.getLogger("kgw.dropcopy.connection")

HEARTBEAT = {"event": "subscribe", "feed": "heartbeat"}

#: snapshots a download can finish without (after ``download_timeout``): the order and fill
#: snapshots are what makes the published state right, positions and balances only refresh it
OPTIONAL_SNAPSHOTS = frozenset({"open_positions", "balances_snapshot"})


class Sink(Protocol):
    """Where a connection's results go (the service publishes them on the bus)."""

    def publish(self, account: str, out: list[Out], receive_time: int) -> None: ...
    def stream_status(self, conn: PrivateConnection, state: State, text: str) -> None: ...
    def download_begin(self, account: str) -> None: ...
    def download_end(self, account: str) -> None: ...


class PrivateConnection:
    """The private feeds of one account.

    account: the configured account name (``[accounts.<name>]``).
    api_key / api_secret: its credentials (never logged).
    ws_url: Kraken Futures WebSocket v1 URL.
    rest: REST client of the same key for reconciliation (None: WebSocket snapshots only).
    state: the account's sans-I/O state.
    sink: receives messages to publish and status changes.
    settings: the ``[dropcopy]`` section (timeouts, verbose, stream tunables).
    """

    def __init__(
        self,
        account: str,
        api_key: str,
        api_secret: str,
        *,
        ws_url: str,
        rest: KrakenRest | None,
        state: AccountState,
        sink: Sink,
        settings: DropcopySettings,
    ) -> None:
        self.account = account
        self.settings = settings
        self.state = state
        self.rest = rest
        self.sink = sink
        self.orders_feed = "open_orders_verbose" if settings.verbose else "open_orders"
        self.login = ChallengeLogin(api_key, api_secret, (self.orders_feed, *FEEDS))
        self.expected_snapshots = frozenset(
            {f"{self.orders_feed}_snapshot", "fills_snapshot", "open_positions", "balances_snapshot"}
        )
        self.stream = Stream(
            f"private-{account}",
            ws_url,
            on_connected=self._connected,
            on_frame=self._frame,
            on_disconnected=self._disconnected,
            on_state=self._state,
            settings=settings.stream,
        )
        self.generation = 0
        self.state_text = ""
        self.phase_started = time.monotonic()
        self.awaiting: set[str] = set()
        self._handlers: dict[str, Callable[[bytes, int], None]] = {}
        for feed in frames.OPEN_ORDERS_SNAPSHOTS:
            self._handlers[feed] = self._on_orders_snapshot
        for feed in frames.OPEN_ORDERS_DELTAS:
            self._handlers[feed] = self._on_order_delta
        for feed in frames.FILLS:
            self._handlers[feed] = self._on_fills
        for feed in frames.POSITIONS:
            self._handlers[feed] = self._on_positions
        for feed in frames.BALANCES:
            self._handlers[feed] = self._on_balances
        self._handlers["heartbeat"] = _ignore
        self._tasks: set[asyncio.Task[Any]] = set()
        self._run: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._reconcile: asyncio.Task[None] | None = None
        metrics.STATES.states[account] = state

    # ------------------------------------------------------------------ lifecycle

    @property
    def name(self) -> str:
        return self.stream.name

    @property
    def connection_state(self) -> State:
        return self.stream.state

    def start(self) -> None:
        self._run = asyncio.create_task(self.stream.run(), name=f"{self.name}-run")
        self._watch = asyncio.create_task(self._watchdog(), name=f"{self.name}-watchdog")

    async def stop(self) -> None:
        for t in (self._watch, self._reconcile, *self._tasks):
            if t is not None:
                t.cancel()
        await self.stream.stop()
        if self._run is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._run

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        task.set_name(f"{self.name}-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ stream hooks

    async def _connected(self, stream: Stream) -> None:
        self.generation += 1
        self.phase_started = time.monotonic()
        self.awaiting = set(self.expected_snapshots)
        request = self.login.start()  # forgets the previous connection's challenge
        metrics.CHALLENGES.labels(self.account).inc()
        stream.set_state(State.LOGIN_SENT, "challenge requested")
        await stream.send_json(request)
        await stream.send_json(HEARTBEAT)

    def _disconnected(self, stream: Stream, reason: str) -> None:
        if self._reconcile is not None:
            self._reconcile.cancel()
            self._reconcile = None

    def _state(self, stream: Stream, old: State, new: State, text: str) -> None:
        self.state_text = text
        self.sink.stream_status(self, new, text)

    def _frame(self, data: bytes, receive_time: int) -> None:
        try:
            env = frames.envelope(data)
            if env.event is not None:
                self._on_control(env, receive_time)
                return
            handler = self._handlers.get(env.feed or "")
            if handler is None:
                self.stream.parse_error("unknown_feed")
                return
            metrics.FRAMES.labels(self.account, env.feed).inc()
            handler(data, receive_time)
            if env.feed in self.awaiting:
                self.awaiting.discard(env.feed)
                self._check_downloaded()
        except ParseError as e:
            self.stream.parse_error(e.reason)
            log.warning("unusable frame", extra={"fields": {"stream": self.name, "reason": str(e)[:300]}})

    # ------------------------------------------------------------------ control

    def _on_control(self, env: frames.Envelope, receive_time: int) -> None:
        event = env.event
        if event == "challenge":
            if env.message is None:  # our own request echoed back, or a malformed answer
                return
            try:
                subscriptions = self.login.on_challenge(env.message)
            except LoginError as e:
                self._fail("unexpected_challenge", str(e))
                return
            self.state.begin_download(receive_time // 1_000_000)
            self.sink.download_begin(self.account)
            self.phase_started = time.monotonic()
            self.stream.set_state(State.DOWNLOADING, f"subscribing {', '.join(self.login.feeds)}")
            self._spawn(self._send_all(subscriptions), "subscribe")
        elif event == "subscribed":
            self.login.on_subscribed(env.feed or "")
            self._check_downloaded()
        elif event == "alert":
            try:
                self.login.on_alert(env.message or "")
            except LoginError as e:
                self._fail("refused", str(e))
                return
            log.info("alert", extra={"fields": {"stream": self.name, "message": (env.message or "")[:200]}})
        elif event == "error":
            self.stream.parse_error("error_event")
            log.warning("error event", extra={"fields": {"stream": self.name, "message": (env.message or "")[:200]}})
        # info, pong, unsubscribed: nothing to do

    async def _send_all(self, messages: list[dict[str, Any]]) -> None:
        try:
            for m in messages:
                await self.stream.send_json(m)
        except ConnectionError:
            pass  # the stream notices the loss and reconnects

    def _fail(self, reason: str, text: str) -> None:
        metrics.LOGIN_FAILURES.labels(self.account, reason).inc()
        log.warning("login failed", extra={"fields": {"stream": self.name, "reason": reason, "text": text[:200]}})
        self.stream.restart(f"login {reason}: {text}")

    # ------------------------------------------------------------------ data

    def _publish(self, out: list[Out], receive_time: int) -> None:
        if out:
            self.sink.publish(self.account, out, receive_time)

    def _on_orders_snapshot(self, data: bytes, receive_time: int) -> None:
        self._publish(self.state.on_orders(open_orders.parse_snapshot(data)), receive_time)

    def _on_order_delta(self, data: bytes, receive_time: int) -> None:
        event = open_orders.parse_delta(data)
        if isinstance(event, open_orders.OrderView):
            self._publish(self.state.on_order(event), receive_time)
        else:
            self._publish(self.state.on_order_closed(event), receive_time)

    def _on_fills(self, data: bytes, receive_time: int) -> None:
        self._publish(self.state.on_fills(self._usable(fills.parse(data))), receive_time)

    def _usable(self, parsed: fills.Parsed) -> list[fills.FillEvent]:
        """The good fills of a message; the rejected entries are counted by reason."""
        good, rejected = parsed
        for reason in rejected:
            self.stream.parse_error(reason)
        if rejected:
            log.warning("unusable fills", extra={"fields": {"stream": self.name, "reasons": rejected[:10]}})
        return good

    def _on_positions(self, data: bytes, receive_time: int) -> None:
        entries = open_positions.parse(data)
        self._publish(self.state.on_positions(entries, receive_time // 1_000_000), receive_time)

    def _on_balances(self, data: bytes, receive_time: int) -> None:
        self._publish(self.state.on_funds(balances.parse(data)), receive_time)

    # ------------------------------------------------------------------ download

    def _check_downloaded(self) -> None:
        if self.stream.state is not State.DOWNLOADING or self.awaiting or self._reconcile is not None:
            return
        if self.login.subscribed != set(self.login.feeds):
            return
        self._reconcile = self._spawn(self._finish_download(self.generation), "reconcile")

    async def _finish_download(self, generation: int) -> None:
        try:
            if self.settings.reconcile and self.rest is not None:
                body = await self._rest_get("fills")
                if body is not None:
                    self._publish(self.state.on_fills(self._usable(fills.parse_rest(body))), time.time_ns())
                body = await self._rest_get("openorders")
                if body is not None:
                    self._publish(self.state.on_orders(open_orders.parse_rest(body)), time.time_ns())
        except ParseError as e:
            metrics.RECONCILE_FAILURES.labels(self.account, e.reason).inc()
            log.warning("reconciliation answer unusable", extra={"fields": {"stream": self.name, "reason": str(e)}})
        if generation != self.generation or self.stream.state is not State.DOWNLOADING:
            return  # the connection changed meanwhile; the next download picks up from here
        out = self.state.end_download()
        self._publish(out, time.time_ns())
        self.sink.download_end(self.account)
        metrics.DOWNLOADS.labels(self.account).inc()
        self._reconcile = None
        self.stream.set_state(State.READY, f"{len(self.state.open_orders())} open orders")

    async def _rest_get(self, endpoint: str) -> bytes | None:
        """The body of a successful REST GET, or None after ``rest_attempts`` failures."""
        assert self.rest is not None
        s = self.settings
        for attempt in range(max(s.rest_attempts, 1)):
            reply = await self.rest.get(endpoint, timeout=s.rest_timeout)
            if reply.ok and reply.body is not None:
                return orjson.dumps(reply.body)
            metrics.RECONCILE_FAILURES.labels(self.account, endpoint).inc()
            log.warning(
                "reconciliation call failed",
                extra={"fields": {"stream": self.name, "endpoint": endpoint, "attempt": attempt + 1,
                                  "error": reply.error[:200]}},
            )
            await asyncio.sleep(s.rest_retry_delay)
        return None

    # ------------------------------------------------------------------ timeouts

    async def _watchdog(self) -> None:
        s = self.settings
        last_status = time.monotonic()
        while True:
            await asyncio.sleep(0.25)
            now = time.monotonic()
            state = self.stream.state
            elapsed = now - self.phase_started
            if state is State.LOGIN_SENT and elapsed > s.login_timeout:
                self._fail("timeout", f"no challenge after {s.login_timeout}s")
                self.phase_started = now
            elif state is State.DOWNLOADING and self._reconcile is None and elapsed > s.download_timeout:
                self.phase_started = now
                missing = sorted(self.awaiting | (set(self.login.feeds) - self.login.subscribed))
                if self.awaiting <= OPTIONAL_SNAPSHOTS and self.login.subscribed == set(self.login.feeds):
                    # every feed acknowledged and the order and fill snapshots in: finish without
                    # the account figures rather than reconnect forever if Kraken sends no
                    # initial message for them (their next update brings them)
                    metrics.LOGIN_FAILURES.labels(self.account, "snapshot_missing").inc()
                    log.warning("download finished without", extra={"fields": {"stream": self.name,
                                                                               "missing": missing}})
                    self.awaiting.clear()
                    self._check_downloaded()
                else:
                    self._fail("download_timeout", f"still waiting for {missing}")
            if s.status_interval > 0 and now - last_status >= s.status_interval:
                last_status = now
                self.sink.stream_status(self, state, self.state_text)


def _ignore(data: bytes, receive_time: int) -> None:
    pass
