"""The order-entry router: client DEALERs in, Kraken REST out, acks and updates back.

Wiring (one asyncio loop):

- :class:`OrderServer` (ROUTER, CURVE optional) decodes requests; :meth:`Router.handle`
  validates them (:mod:`.validation`, :mod:`.registry`) and hands jobs to each account's
  :class:`Dispatcher`; outcomes become acks (:mod:`.outcomes`).
- A :class:`Publisher` on ``bus.router_pub`` carries every request (``... .request.``) and
  every ack (``... .ack.``), and ``sys.router.gateway.`` status.
- A :class:`Subscriber` on the drop-copy PUB routes OrderUpdate / TradeUpdate to the
  connection of the user named by their cliOrdId, each once (:mod:`.delivery`). At start and
  on every RESTART, GAP or ALIVE of that subscription the router resynchronizes (Clone
  pattern): it downloads the order and trade topics of every account from the drop-copy
  download service (:mod:`.download`), forwards what the owners have not seen, and asks
  Kraken (REST ``orders/status``, then ``fills``) about the orders that are no longer open but
  whose final update was never forwarded, then settles them.
- Per account: a session task (download open orders, arm the dead man's switch, READY) and
  the switch refresh; shared: instrument rules refresh; client liveness sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

import orjson
import zmq

from common import topics
from common.bus import BusEvent, EventKind, Publisher, Received, Subscriber
from common.config import Config
from common.kraken import clordid
from common.kraken.orders import (
    cancelallorders,
    cancelallordersafter,
    cancelorder,
    editorder,
    instruments,
    openorders,
    orderstatus,
    sendorder,
)
from common.kraken.orders.codes import envelope_error_code
from common.kraken.orders.instruments import InstrumentRules
from common.kraken.private import fills as kraken_fills
from common.kraken.private.wire import ParseError
from common.kraken.ratelimit import RateBudget, cost
from common.kraken.rest import Failure, KrakenRest, RestError
from common.messages import (
    CancelAllOrders,
    CancelAllOrdersAck,
    CancelOrder,
    CreateOrder,
    DecodeError,
    ErrorCode,
    GatewayStatus,
    Heartbeat,
    Message,
    ModifyOrder,
    OrderAck,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Origin,
    RequestStatus,
    RequestType,
    Side,
    SnapshotEntry,
    TradeUpdate,
    decode,
)
from common.oms.inputs import FillEvent
from common.runtime import ServiceContext

from . import metrics, outcomes
from .clients import Client, Clients
from .curve import OrderServer, UserAuthenticator
from .delivery import Delivery, Ledger, from_rest
from .dispatcher import Dispatcher, Job, JobOutcome
from .download import DownloadClient
from .outbox import Outbox
from .permissions import Permissions, User
from .registry import OrderEntry, OrderState, Registry
from .session import AccountSession, SessionState
from .settings import RouterSettings
from .validation import Refusal, check_access, check_create, check_modify, check_symbol

log = logging.getLogger("kgw.router")

LOOPBACK_PREFIXES = ("tcp://127.", "tcp://localhost:", "tcp://[::1]:", "ipc://", "inproc://")
KRAKEN_ORDER_TYPES = {"lmt": OrderType.LIMIT, "post": OrderType.LIMIT, "ioc": OrderType.LIMIT,
                      "stp": OrderType.STOP, "stop": OrderType.STOP, "take_profit": OrderType.TAKE_PROFIT}
OPEN_UPDATE_STATUSES = frozenset({OrderStatus.WORKING, OrderStatus.PARTIALLY_FILLED})
FINAL_UPDATE_STATUSES = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED,
                                   OrderStatus.EXPIRED})
ACCEPTED_TYPES = (CreateOrder, ModifyOrder, CancelOrder, CancelAllOrders, Heartbeat)
LATENCY_SAMPLES = 10_000
RESYNC_EVENTS = frozenset({EventKind.RESTART, EventKind.GAP, EventKind.ALIVE})
ORDERS_STATUS_CHUNK = 50
"""cliOrdIds asked in one ``orders/status`` call."""
REST_RETRY_PAUSE = 1.0
"""Seconds before a resynchronization is tried again after Kraken's REST failed."""


class Router:
    """The router service; ``credentials`` maps account -> (api_key, api_secret)."""

    def __init__(self, cfg: Config, settings: RouterSettings, credentials: dict[str, tuple[str, str]],
                 curve_secret: bytes | None = None) -> None:
        self.cfg = cfg
        self.settings = settings
        self.exchange = cfg.gateway.exchange
        self.permissions = Permissions(settings)
        self.registry = Registry(settings.finished_order_ids)
        self.clients = Clients(settings.client_timeout)
        self.instruments: dict[str, InstrumentRules] = {}
        self.accounts = set(credentials)
        self.sessions = {a: AccountSession(a) for a in credentials}
        self.rest = {
            a: KrakenRest(cfg.gateway.rest_url, key, secret, timeout=settings.request_timeout,
                          connect_timeout=settings.connect_timeout, max_connections=settings.max_in_flight + 4)
            for a, (key, secret) in credentials.items()
        }
        self.public_rest = KrakenRest(cfg.gateway.rest_url, timeout=10.0)
        self.dispatchers = {
            a: Dispatcher(a, self.rest[a], RateBudget(settings.rate_budget, settings.rate_window, time.monotonic()),
                          policy=settings.rate_limit_policy, max_wait=settings.rate_queue_max_wait,
                          max_in_flight=settings.max_in_flight, batch_max=settings.batch_max)
            for a in credentials
        }
        self.latency: deque[int] = deque(maxlen=LATENCY_SAMPLES)
        for d in self.dispatchers.values():
            d.on_sent = self._probe
        self.curve = curve_secret is not None
        self.authenticator = UserAuthenticator(self.permissions) if self.curve else None
        self.server = OrderServer("router", cfg.bus.router_orders, self.handle, accepted=ACCEPTED_TYPES,
                                  max_message_size=settings.max_message_size, curve_server_secret=curve_secret)
        self.pub = Publisher("router", cfg.bus.router_pub, sndhwm=cfg.bus.sndhwm,
                             heartbeat_interval=cfg.bus.heartbeat_interval)
        self.outbox = Outbox(self.server.send_now, self.pub.publish)
        self.server.outbox = self.outbox
        self.server.on_drain_start = self.outbox.hold
        self.server.on_drain_end = self._drained
        self.update_prefixes = [topics.oms(self.exchange, a, k) for a in credentials for k in ("order", "trade")]
        self.sub = Subscriber({"dropcopy": cfg.bus.dropcopy_pub}, self.update_prefixes, rcvhwm=cfg.bus.rcvhwm,
                              heartbeat_timeout=cfg.bus.heartbeat_timeout, name="router.dropcopy")
        self.ledger = Ledger(settings.forwarded_trade_ids, settings.forwarded_orders)
        self.download = DownloadClient(cfg.bus.dropcopy_download, timeout=settings.download_timeout)
        self._resync_wanted = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._side_tasks: set[asyncio.Task[Any]] = set()
        self.ctx: ServiceContext | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self, ctx: ServiceContext | None = None) -> None:
        self.ctx = ctx
        if self.authenticator is not None:
            self.authenticator.begin()
        if not self.settings.dead_man_switch:
            log.warning("DEAD MAN'S SWITCH DISABLED: orders stay on Kraken if the router dies "
                        "([router] dead_man_switch = false)")
        await self.pub.start()
        await self.sub.start()
        await self.download.start()
        await self.server.start()
        loop = asyncio.get_running_loop()
        self._resync_wanted.set()  # late joiner: whatever was published before we subscribed
        self._tasks = [loop.create_task(self._instruments_loop(), name="router-instruments"),
                       loop.create_task(self._updates_loop(), name="router-updates"),
                       loop.create_task(self._resync_loop(), name="router-resync"),
                       loop.create_task(self._clients_loop(), name="router-clients")]
        for a in self.sessions:
            self._tasks.append(loop.create_task(self._session_loop(a), name=f"router-session-{a}"))

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for d in self.dispatchers.values():
            await d.close()
        self.outbox.release()
        await self.server.close()
        await self.sub.close()
        await self.download.close()
        await self.pub.close()
        for r in [*self.rest.values(), self.public_rest]:
            await r.close()
        if self.authenticator is not None:
            self.authenticator.stop()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    def _probe(self, received_ns: int, sent_ns: int) -> None:
        if received_ns:
            self.latency.append(sent_ns - received_ns)

    def latency_figures(self) -> dict[str, float]:
        """p50 / p99 in microseconds of request read -> REST call handed to the HTTP client."""
        if not self.latency:
            return {}
        s = sorted(self.latency)
        return {"n": len(s), "p50_us": s[len(s) // 2] / 1e3, "p99_us": s[min(len(s) - 1, int(len(s) * 0.99))] / 1e3}

    def _status_changed(self) -> None:
        ready = bool(self.sessions) and all(s.ready for s in self.sessions.values()) and bool(self.instruments)
        text = ", ".join(f"{a}={s.state.value}" for a, s in self.sessions.items())
        for a, s in self.sessions.items():
            metrics.READY.labels(a).set(1 if s.ready and self.instruments else 0)
        self.outbox.publish(topics.sys("router", "gateway"), GatewayStatus(service="router", ready=ready, text=text))
        if self.ctx is not None:
            self.ctx.set_ready(ready, accounts=text, instruments=len(self.instruments))

    # ------------------------------------------------------------------ exchange side

    async def _instruments_loop(self) -> None:
        while True:
            reply = await self.public_rest.get("instruments", signed=False)
            if reply.ok and reply.body is not None:
                rules = instruments.parse(reply.body)
                if rules:
                    first = not self.instruments
                    self.instruments = rules
                    if first:
                        log.info("instrument rules loaded", extra={"fields": {"symbols": len(rules)}})
                        self._status_changed()
                await asyncio.sleep(self.settings.instruments_refresh)
            else:
                log.warning("instruments fetch failed", extra={"fields": {"error": reply.error}})
                await asyncio.sleep(1.0)

    async def _session_loop(self, account: str) -> None:
        session = self.sessions[account]
        while True:
            session.to(SessionState.DOWNLOADING, "downloading open orders")
            self._status_changed()
            err = await self._recover(account)
            if err is None and self.settings.dead_man_switch:
                err = await self._refresh_dms(account)
            if err is not None:
                session.to(SessionState.FAILED, err)
                self._status_changed()
                log.warning("account not ready", extra={"fields": {"account": account, "reason": err}})
                await asyncio.sleep(1.0)
                continue
            session.to(SessionState.READY, "ready")
            self._status_changed()
            while session.ready:
                await asyncio.sleep(self.settings.dms_refresh)
                if self.settings.dead_man_switch:
                    err = await self._refresh_dms(account)
                    if session.dms_result(err is None):
                        session.to(SessionState.FAILED, f"dead man's switch refresh failed: {err}")
                        self._status_changed()
                        log.error("dead man's switch not refreshed; account not ready",
                                  extra={"fields": {"account": account, "error": err}})

    async def _refresh_dms(self, account: str) -> str | None:
        """Arm/refresh Kraken's cancelallordersafter; None when armed."""
        self.dispatchers[account].budget.reserve(cost("cancelallordersafter"), time.monotonic())
        reply = await self.rest[account].post("cancelallordersafter",
                                              cancelallordersafter.build(self.settings.dms_timeout))
        ok = reply.ok and reply.body is not None and cancelallordersafter.parse(reply.body) is not None
        metrics.DMS.labels(account, str(ok).lower()).inc()
        return None if ok else (reply.error or "switch not armed")

    async def _recover(self, account: str) -> str | None:
        """Rebuild the registry from Kraken's open orders (router restart)."""
        self.dispatchers[account].budget.reserve(cost("openorders"), time.monotonic())
        reply = await self.rest[account].get("openorders")
        if not reply.ok or reply.body is None:
            return f"openorders: {reply.error}"
        n = 0
        for o in openorders.parse(reply.body):
            owner = clordid.parse(o.cli_ord_id)
            if owner is None or o.cli_ord_id is None or owner in self.registry.orders:
                continue
            user, order_id = owner
            entry = OrderEntry(user, order_id, account, o.symbol, KRAKEN_ORDER_TYPES.get(o.order_type, OrderType.LIMIT),
                               o.cli_ord_id, None, OrderState.WORKING, o.exchange_order_id,
                               side=Side.SELL if o.side.lower() == "sell" else Side.BUY,
                               quantity=None if o.unfilled is None else o.unfilled + o.filled,
                               price=o.limit_price, stop_price=o.stop_price, reduce_only=o.reduce_only)
            if self.registry.add(entry) is None:
                entry.in_flight.clear()
                self.ledger.placed(entry)
                n += 1
        if n:
            log.info("open orders recovered", extra={"fields": {"account": account, "orders": n}})
        return None

    # ------------------------------------------------------------------ acks and publishing

    def _topic(self, account: str, kind: str) -> str:
        return topics.oms(self.exchange, account if account in self.accounts else "_invalid", kind)

    def _send(self, peer: bytes | None, account: str, msg: OrderAck | CancelAllOrdersAck) -> None:
        metrics.ACKS.labels(msg.status.value, msg.error.value if msg.error else "").inc()
        if peer is not None:
            self.server.reply(peer, msg)
        self.outbox.publish(self._topic(account, "ack"), msg)

    def _ack(self, peer: bytes | None, req: CreateOrder | ModifyOrder | CancelOrder, kind: RequestType,
             origin: Origin, status: RequestStatus, error: ErrorCode | None = None, text: str = "",
             entry: OrderEntry | None = None, exchange_order_id: str | None = None) -> None:
        self._send(peer, req.account, OrderAck(
            account=req.account, order_id=req.order_id, request_id=req.request_id, request_type=kind,
            origin=origin, status=status, error=error, text=text,
            exchange_order_id=exchange_order_id or (entry.exchange_order_id if entry else None),
            client_order_id=entry.cli_ord_id if entry else None))

    def _refuse(self, peer: bytes, req: CreateOrder | ModifyOrder | CancelOrder, kind: RequestType,
                refusal: Refusal, entry: OrderEntry | None = None) -> None:
        self._ack(peer, req, kind, Origin.GATEWAY, RequestStatus.REJECTED, refusal.error, refusal.text, entry)

    # ------------------------------------------------------------------ client requests

    def _drained(self) -> None:
        """End of one drain of the order socket: start the REST calls its requests queued, then
        send its replies and publications once those calls are written (:mod:`.outbox`)."""
        if sum(d.flush() for d in self.dispatchers.values()):
            self.outbox.release_soon()
        else:
            self.outbox.release()

    def _user(self, peer: bytes) -> User | None:
        name = self.server.peer_user.get(peer) if self.curve else self.settings.default_user
        return self.permissions.users.get(name) if name else None

    def handle(self, peer: bytes, msg: Message) -> None:
        metrics.REQUESTS.labels(type(msg).__name__).inc()
        user = self._user(peer)
        if user is None:  # CURVE passed but the user was removed from config: never trade
            self.server.reply(peer, OrderAck(account="", order_id=0, request_type=RequestType.CREATE_ORDER,
                                             origin=Origin.GATEWAY, status=RequestStatus.REJECTED,
                                             error=ErrorCode.NOT_AUTHORIZED, text="unknown user"))
            return
        client = self.clients.seen(peer, user.name, time.monotonic())
        if isinstance(msg, Heartbeat):
            self.server.reply(peer, Heartbeat(service="router", interval_ms=int(self.settings.client_timeout * 200)))
            return
        assert isinstance(msg, (CreateOrder, ModifyOrder, CancelOrder, CancelAllOrders))
        self.outbox.publish(self._topic(msg.account, "request"), msg)
        if msg.account in self.accounts:
            client.accounts.add(msg.account)
        if isinstance(msg, CreateOrder):
            self._create(peer, user, msg)
        elif isinstance(msg, ModifyOrder):
            self._modify(peer, user, msg)
        elif isinstance(msg, CancelOrder):
            self._cancel(peer, user, msg)
        else:
            self._cancel_all(peer, user, msg)

    def _not_ready(self, account: str) -> Refusal | None:
        s = self.sessions[account]
        if not s.ready or not self.instruments:
            return Refusal(ErrorCode.GATEWAY_NOT_READY, f"account {account} is {s.state.value}: {s.reason}")
        return None

    def _create(self, peer: bytes, user: User, req: CreateOrder) -> None:
        kind = RequestType.CREATE_ORDER
        symbol = req.symbol.upper()
        refusal = check_access(user, req.account, symbol, self.sessions) or self._not_ready(req.account)
        if refusal is not None:
            return self._refuse(peer, req, kind, refusal)
        rules = check_symbol(symbol, self.instruments)
        if isinstance(rules, Refusal):
            return self._refuse(peer, req, kind, rules)
        refusal = check_create(req, rules)
        if refusal is not None:
            return self._refuse(peer, req, kind, refusal)
        cid = clordid.make(user.name, req.order_id)
        entry = OrderEntry(user.name, req.order_id, req.account, rules.symbol, req.order_type, cid, peer,
                           side=req.side, quantity=req.quantity, price=req.price, stop_price=req.stop_price,
                           time_in_force=req.time_in_force, reduce_only=req.reduce_only)
        refusal = self.registry.add(entry)
        if refusal is not None:
            return self._refuse(peer, req, kind, refusal)
        self.ledger.watch(entry)
        job = Job("send", sendorder.build(req, cid, rules), lambda o: self._created(peer, req, entry, o),
                  self.server.last_recv_ns)
        refusal = self.dispatchers[req.account].submit(job)
        if refusal is not None:
            self.registry.end(entry, kind, OrderState.FINISHED)
            return self._refuse(peer, req, kind, refusal, entry)
        self._ack(peer, req, kind, Origin.GATEWAY, RequestStatus.FORWARDED, entry=entry)

    def _created(self, peer: bytes, req: CreateOrder, entry: OrderEntry, o: JobOutcome) -> None:
        v = outcomes.for_create(o)
        if v.exchange_order_id:
            entry.exchange_order_id = v.exchange_order_id
        self.registry.end(entry, RequestType.CREATE_ORDER, v.state)
        if v.status is RequestStatus.ACCEPTED or v.state is OrderState.UNCERTAIN:
            self.ledger.placed(entry)  # from now on its final update is owed to the client
        self._ack(peer, req, RequestType.CREATE_ORDER, Origin.EXCHANGE, v.status, v.error, v.text, entry)
        if entry.cancel_when_answered and entry.state is not OrderState.FINISHED:
            self._internal_cancel(entry, "client gone")

    def _open_entry(self, peer: bytes, user: User, req: ModifyOrder | CancelOrder,
                    kind: RequestType) -> OrderEntry | None:
        if req.account not in self.accounts:
            self._refuse(peer, req, kind, Refusal(ErrorCode.INVALID_ACCOUNT, f"unknown account {req.account!r}"))
            return None
        if req.account not in user.accounts:
            self._refuse(peer, req, kind, Refusal(ErrorCode.NOT_AUTHORIZED,
                                                  f"user {user.name!r} may not trade on account {req.account!r}"))
            return None
        found = self.registry.lookup(user.name, req.order_id)
        if isinstance(found, Refusal):
            self._refuse(peer, req, kind, found)
            return None
        if found.account != req.account:
            self._refuse(peer, req, kind, Refusal(ErrorCode.UNKNOWN_ORDER,
                                                  f"order {req.order_id} is not on account {req.account}"))
            return None
        refusal = check_access(user, req.account, found.symbol, self.sessions) or self._not_ready(req.account)
        if refusal is not None:
            self._refuse(peer, req, kind, refusal, found)
            return None
        return found

    def _modify(self, peer: bytes, user: User, req: ModifyOrder) -> None:
        kind = RequestType.MODIFY_ORDER
        entry = self._open_entry(peer, user, req, kind)
        if entry is None:
            return
        rules = check_symbol(entry.symbol, self.instruments)
        refusal = rules if isinstance(rules, Refusal) else check_modify(req, rules, entry.order_type)
        if refusal is None:
            refusal = self.registry.begin(entry, kind)
        if refusal is not None:
            return self._refuse(peer, req, kind, refusal, entry)
        assert isinstance(rules, InstrumentRules)
        entry.peer = peer
        job = Job("edit", editorder.build(req, entry.cli_ord_id, rules),
                  lambda o: self._answered(peer, req, entry, kind, outcomes.for_modify(o)), self.server.last_recv_ns)
        self._submit(peer, req, entry, kind, job)

    def _cancel(self, peer: bytes, user: User, req: CancelOrder) -> None:
        kind = RequestType.CANCEL_ORDER
        entry = self._open_entry(peer, user, req, kind)
        if entry is None:
            return
        refusal = self.registry.begin(entry, kind)
        if refusal is not None:
            return self._refuse(peer, req, kind, refusal, entry)
        entry.peer = peer
        job = Job("cancel", cancelorder.build(entry.cli_ord_id),
                  lambda o: self._answered(peer, req, entry, kind, outcomes.for_cancel(o)), self.server.last_recv_ns)
        self._submit(peer, req, entry, kind, job)

    def _submit(self, peer: bytes, req: ModifyOrder | CancelOrder, entry: OrderEntry, kind: RequestType,
                job: Job) -> None:
        refusal = self.dispatchers[req.account].submit(job)
        if refusal is not None:
            self.registry.end(entry, kind, None)
            return self._refuse(peer, req, kind, refusal, entry)
        self._ack(peer, req, kind, Origin.GATEWAY, RequestStatus.FORWARDED, entry=entry)

    def _answered(self, peer: bytes | None, req: ModifyOrder | CancelOrder, entry: OrderEntry, kind: RequestType,
                  v: outcomes.Verdict) -> None:
        self.registry.end(entry, kind, v.state)
        if isinstance(req, ModifyOrder) and v.status is RequestStatus.ACCEPTED:
            entry.quantity = req.quantity if req.quantity is not None else entry.quantity
            entry.price = req.price if req.price is not None else entry.price
            entry.stop_price = req.stop_price if req.stop_price is not None else entry.stop_price
        self._ack(peer, req, kind, Origin.EXCHANGE, v.status, v.error, v.text, entry, v.exchange_order_id)

    def _cancel_all(self, peer: bytes, user: User, req: CancelAllOrders) -> None:
        symbol = req.symbol.upper() if req.symbol else None
        refusal = check_access(user, req.account, symbol, self.sessions) or self._not_ready(req.account)
        if refusal is None:
            charged = self.dispatchers[req.account].charge(cost("cancelallorders"))
            refusal = charged if isinstance(charged, Refusal) else None
        if refusal is not None:
            self._send(peer, req.account, CancelAllOrdersAck(
                account=req.account, request_id=req.request_id, origin=Origin.GATEWAY,
                status=RequestStatus.REJECTED, error=refusal.error, text=refusal.text))
            return
        self._send(peer, req.account, CancelAllOrdersAck(account=req.account, request_id=req.request_id,
                                                         origin=Origin.GATEWAY, status=RequestStatus.FORWARDED))
        self._spawn(self._run_cancel_all(peer, req.account, req.request_id, symbol))

    async def _run_cancel_all(self, peer: bytes | None, account: str, request_id: str, symbol: str | None) -> int:
        reply = await self.rest[account].post("cancelallorders", cancelallorders.build(symbol))
        if reply.ok and reply.body is not None:
            result = cancelallorders.parse(reply.body)
            for exchange_id, cid in result.cancelled:
                entry = self.registry.by_cli_ord_id(cid)
                if entry is None:
                    entry = next((e for e in self.registry.of_account(account) if e.exchange_order_id == exchange_id),
                                 None)
                if entry is not None:
                    self.registry.set_state(entry, OrderState.FINISHED)
            ack = CancelAllOrdersAck(account=account, request_id=request_id, origin=Origin.EXCHANGE,
                                     status=RequestStatus.ACCEPTED, text=result.status,
                                     number_of_affected_orders=len(result.cancelled))
        else:
            if reply.failure is Failure.KRAKEN:
                v = outcomes.Verdict(RequestStatus.REJECTED, envelope_error_code(reply.error), reply.error, None)
            else:
                v = outcomes.for_cancel(JobOutcome(None, reply.failure, reply.error))
            ack = CancelAllOrdersAck(account=account, request_id=request_id, origin=Origin.EXCHANGE,
                                     status=v.status, error=v.error, text=v.text)
        self._send(peer, account, ack)
        return ack.number_of_affected_orders

    # ------------------------------------------------------------------ disconnects

    async def _clients_loop(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.settings.client_timeout / 4))
            for c in self.clients.expire(time.monotonic()):
                self._client_gone(c)

    def _client_gone(self, c: Client) -> None:
        metrics.CLIENTS_GONE.inc()
        self.server.forget_peer(c.peer)
        self.server.peer_user.pop(c.peer, None)
        policy = self.settings.disconnect_policy
        log.warning("client gone", extra={"fields": {"user": c.user, "policy": policy}})
        if policy == "own_orders":
            for entry in self.registry.of_peer(c.peer):
                if RequestType.CREATE_ORDER in entry.in_flight:
                    entry.cancel_when_answered = True
                else:
                    self._internal_cancel(entry, "client gone")
        elif policy == "account":
            for account in c.accounts:
                self.dispatchers[account].budget.reserve(cost("cancelallorders"), time.monotonic())
                self._spawn(self._run_cancel_all(None, account, "cancel-on-disconnect", None))

    def _internal_cancel(self, entry: OrderEntry, why: str) -> None:
        """A gateway-initiated cancel (disconnect policy): charged even over budget, acked on
        the bus only."""
        if self.registry.begin(entry, RequestType.CANCEL_ORDER) is not None:
            return
        req = CancelOrder(account=entry.account, order_id=entry.order_id, request_id=f"gateway: {why}")
        job = Job("cancel", cancelorder.build(entry.cli_ord_id),
                  lambda o: self._answered(None, req, entry, RequestType.CANCEL_ORDER, outcomes.for_cancel(o)))
        self.dispatchers[entry.account].submit(job, force=True)

    # ------------------------------------------------------------------ drop-copy updates

    async def _updates_loop(self) -> None:
        async for batch in self.sub.batches():
            resync = False
            for item in batch:
                if isinstance(item, Received):
                    self._route_update(item)
                elif isinstance(item, BusEvent) and item.kind in RESYNC_EVENTS:
                    log.info("drop-copy subscription interrupted; resynchronizing", extra={"fields": {
                        "event": item.kind.value, "topic": item.topic, "expected": item.expected,
                        "received": item.received}})
                    resync = True
            if resync:
                self._resync_wanted.set()

    def _route_update(self, item: Received) -> None:
        try:
            msg = decode(item.payload)
        except DecodeError:
            return
        if isinstance(msg, (OrderUpdate, TradeUpdate)):
            self._deliver(msg)

    def _deliver(self, msg: OrderUpdate | TradeUpdate, source: str = "") -> None:
        """Forward ``msg`` to its owner unless the owner already has it (:class:`Ledger`), and
        keep the registry in step with an order's status. ``source`` names a
        resynchronization (``download``, ``rest``) for the metrics, empty for the live bus."""
        owner = clordid.parse(msg.client_order_id)
        if owner is None:
            return
        if not self.ledger.admit(msg):
            metrics.DUPLICATES.labels(type(msg).__name__).inc()
            return
        entry = self.registry.orders.get(owner)
        if entry is not None and isinstance(msg, OrderUpdate):
            if msg.exchange_order_id and not entry.exchange_order_id:
                entry.exchange_order_id = msg.exchange_order_id
            if msg.status in FINAL_UPDATE_STATUSES and not entry.in_flight:
                self.registry.set_state(entry, OrderState.FINISHED)
            elif msg.status in OPEN_UPDATE_STATUSES and entry.state is OrderState.UNCERTAIN:
                self.registry.set_state(entry, OrderState.WORKING)
        if source:
            metrics.RECOVERED.labels(source).inc()
        peer = entry.peer if entry is not None and self.clients.alive(entry.peer) else self.clients.peer_of(owner[0])
        if peer is not None:
            metrics.UPDATES_ROUTED.labels(type(msg).__name__).inc()
            self.server.reply(peer, msg)

    async def _resync_loop(self) -> None:
        """One resynchronization at a time; events during one ask for another after it."""
        failing = False
        while True:
            await self._resync_wanted.wait()
            self._resync_wanted.clear()
            got = await self.download.fetch(self.update_prefixes)
            if isinstance(got, str):
                metrics.RESYNCS.labels("download_failed").inc()
                if not failing:
                    log.warning("drop-copy download failed; asking again", extra={"fields": {"error": got}})
                failing = True
                self._resync_wanted.set()
                continue
            if failing:
                log.info("drop-copy download answered again")
            failing = False
            try:
                ok = await self._reconcile(got)
            except Exception:  # a bug here must not end resynchronization for good
                log.exception("resynchronization failed")
                ok = False
            metrics.RESYNCS.labels("done" if ok else "rest_failed").inc()
            if not ok:
                await asyncio.sleep(REST_RETRY_PAUSE)
                self._resync_wanted.set()

    async def _reconcile(self, entries: list[SnapshotEntry]) -> bool:
        """Forward what a download shows, then ask Kraken about the orders owed a final update
        that it does not show open; False if Kraken could not be asked."""
        open_ids = self._apply_download(entries)
        ok = True
        for account in self.sessions:
            owed = self.ledger.owed(account, open_ids.get(account, set()))
            if owed:
                ok = await self._ask_kraken(account, owed) and ok
        return ok

    def _apply_download(self, entries: list[SnapshotEntry]) -> dict[str, set[str]]:
        """Forward what the download shows that the owners have not seen (fills first, then
        order states); the cliOrdIds of the open orders of each account."""
        open_ids: dict[str, set[str]] = {}
        messages = [e.message for e in entries if isinstance(e.message, (OrderUpdate, TradeUpdate))]
        messages.sort(key=lambda m: isinstance(m, OrderUpdate))
        for msg in messages:
            assert isinstance(msg, (OrderUpdate, TradeUpdate))
            if isinstance(msg, OrderUpdate) and msg.status in OPEN_UPDATE_STATUSES and msg.client_order_id:
                open_ids.setdefault(msg.account, set()).add(msg.client_order_id)
            self._deliver(msg, "download")
        return open_ids

    async def _ask_kraken(self, account: str, owed: list[Delivery]) -> bool:
        """Ask Kraken about orders no longer open whose final update was never forwarded, and
        forward what it says (what the drop-copy forwarded meanwhile is not sent again); False
        if Kraken could not be asked."""
        rest, budget = self.rest[account], self.dispatchers[account].budget
        statuses: dict[str, orderstatus.StatusEntry] = {}
        for i in range(0, len(owed), ORDERS_STATUS_CHUNK):
            chunk = [d.cli_ord_id for d in owed[i:i + ORDERS_STATUS_CHUNK]]
            budget.reserve(cost("orders/status"), time.monotonic())
            reply = await rest.post("orders/status", orderstatus.build(chunk))
            if not reply.ok or reply.body is None:
                log.warning("orders/status failed", extra={"fields": {"account": account, "error": reply.error}})
                return False
            statuses.update((s.cli_ord_id, s) for s in orderstatus.parse(reply.body) if s.cli_ord_id)
        fills: list[FillEvent] = []
        if any(d.cli_ord_id not in statuses or statuses[d.cli_ord_id].status is not None for d in owed):
            budget.reserve(cost("fills"), time.monotonic())
            reply = await rest.get("fills")
            try:
                fills, rejected = kraken_fills.parse_rest(orjson.dumps(reply.raise_for_error()))
                if rejected:
                    log.warning("unusable fill entries skipped", extra={"fields": {"reasons": rejected[:10]}})
            except (RestError, ParseError) as e:
                log.warning("fills failed", extra={"fields": {"account": account, "error": str(e)}})
                return False
        for d in owed:
            if d.final or d.entry is None:
                continue  # the drop-copy forwarded it while we were asking
            found = from_rest(d, statuses.get(d.cli_ord_id), fills, self.exchange)
            entry = d.entry
            if found.exchange_order_id and not entry.exchange_order_id:
                entry.exchange_order_id = found.exchange_order_id
            if found.still_open:
                if entry.state is OrderState.UNCERTAIN:
                    self.registry.set_state(entry, OrderState.WORKING)
                continue
            for trade in found.trades:
                self._deliver(trade, "rest")
            if found.final is not None:
                self._deliver(found.final, "rest")
            if not entry.in_flight:
                self.registry.set_state(entry, OrderState.FINISHED)
            log.info("order settled from Kraken REST", extra={"fields": {
                "account": account, "client_order_id": d.cli_ord_id,
                "status": found.final.status.value if found.final else None}})
        return True


def check_endpoint(settings: RouterSettings, endpoint: str) -> None:
    """Refuse to serve without CURVE anywhere but loopback."""
    if not settings.curve and not endpoint.startswith(LOOPBACK_PREFIXES):
        raise ValueError(f"[router] curve = false is allowed on loopback only, not {endpoint}")


def curve_secret_from_env(settings: RouterSettings, environ: dict[str, str]) -> bytes | None:
    """The router's CURVE secret key from the environment (None when CURVE is off)."""
    if not settings.curve:
        return None
    value = environ.get(settings.curve_secret_key_env, "")
    if len(value) != 40:
        raise ValueError(f"{settings.curve_secret_key_env} must hold the router's 40-character Z85 CURVE secret "
                         "(kgw keygen)")
    secret = value.encode()
    if settings.curve_public_key and zmq.curve_public(secret).decode() != settings.curve_public_key:
        raise ValueError("[router] curve_public_key does not match the secret key in "
                         f"{settings.curve_secret_key_env}")
    return secret
