"""The running simulator: engine, accounts and keys, WebSocket hub, faults, and the one place
engine events are turned into WebSocket messages (:meth:`Sim.publish`)."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator

import orjson

from common.kraken.ratelimit import RateBudget
from services.sim.account_views import balances_ws, open_positions_ws
from services.sim.engine.accounts import Account
from services.sim.engine.engine import Engine, EngineParams
from services.sim.engine.events import (
    BalanceUpdate,
    BookDelta,
    Event,
    FillUpdate,
    OrderUpdate,
    PositionUpdate,
    PublicTrade,
)
from services.sim.faults import Faults
from services.sim.rest.credentials import Credentials
from services.sim.settings import SimAccountSettings, SimSettings
from services.sim.ws import private_feeds, public_feeds
from services.sim.ws.frames import text_frame
from services.sim.ws.hub import Hub

log = logging.getLogger("kgw.sim")

DEFAULT_ACCOUNT = "default"
DEFAULT_KEY_ENV = "KRAKEN_FUTURES_API_KEY"
DEFAULT_SECRET_ENV = "KRAKEN_FUTURES_API_SECRET"


def now_ms() -> int:
    return int(time.time() * 1000)


class Sim:
    """Everything the REST, WebSocket and admin layers share."""

    def __init__(self, settings: SimSettings, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        params = EngineParams(maker_fee=settings.maker_fee, taker_fee=settings.taker_fee,
                              self_trade=settings.self_trade)
        instruments = [i.instrument() for i in settings.instruments]
        self.engine = Engine(instruments, now_ms, params=params, seed=settings.seed,
                             book_seq_start=1000 * (settings.seed % 1000) + 1)
        self.level_sizes = {i.symbol.upper(): i.level_size for i in settings.instruments}
        self.faults = Faults(private_order=settings.private_order,
                             private_hold_ms=settings.private_hold_ms)
        self.hub = Hub(self.faults, settings.ws_send_buffer_limit)
        self.credentials = Credentials(settings.nonce_tolerance)
        self.buckets: dict[str, RateBudget] = {}
        self.feed_seq: dict[tuple[str, str], int] = {}
        self.held: list[Event] | None = None
        self._load_accounts(os.environ if env is None else env)

    # -------------------------------------------------------------- accounts

    def _load_accounts(self, env: dict[str, str] | os._Environ[str]) -> None:
        wanted: list[tuple[str, SimAccountSettings]] = []
        if env.get(DEFAULT_KEY_ENV) and env.get(DEFAULT_SECRET_ENV):
            d = self.settings.default_account
            wanted.append((DEFAULT_ACCOUNT, SimAccountSettings(
                api_key_env=DEFAULT_KEY_ENV, api_secret_env=DEFAULT_SECRET_ENV, flex=d.flex,
                margin=d.margin, cash=d.cash)))
        wanted.extend(self.settings.accounts.items())
        for name, a in wanted:
            key, secret = env.get(a.api_key_env, ""), env.get(a.api_secret_env, "")
            if not key or not secret:
                log.warning("account skipped: credentials not in the environment",
                            extra={"fields": {"account": name, "api_key_env": a.api_key_env}})
                continue
            if key in self.credentials.by_key:
                continue
            self.credentials.add(name, key, secret)
            self.engine.add_account(Account(name, api_key=key, flex=dict(a.flex),
                                            margin=dict(a.margin), cash=dict(a.cash)))
            log.info("account ready", extra={"fields": {"account": name}})

    def bucket(self, api_key: str, now: float) -> RateBudget:
        b = self.buckets.get(api_key)
        if b is None:
            b = self.buckets[api_key] = RateBudget(self.settings.rate_budget,
                                                    self.settings.rate_window, now)
        return b

    def next_feed_seq(self, account: str, feed: str) -> int:
        key = (account, feed)
        self.feed_seq[key] = self.feed_seq.get(key, -1) + 1
        return self.feed_seq[key]

    # -------------------------------------------------------------- publishing

    @contextlib.contextmanager
    def holding_private(self) -> Iterator[None]:
        """Hold private WebSocket updates (``rest_first``) until :meth:`release_private`."""
        self.held = [] if self.held is None else self.held
        yield

    def release_private(self) -> None:
        held, self.held = self.held, None
        if held:
            self._dispatch(held)
            self.hub.flush()

    def publish(self) -> None:
        """Send everything the engine emitted since the last call, in emission order."""
        events = self.engine.drain()
        if events:
            self._dispatch(events)
        self.hub.flush()

    def _dispatch(self, events: list[Event]) -> None:
        hub = self.hub
        touched: dict[str, set[str]] = {}
        for ev in events:
            if isinstance(ev, BookDelta):
                subs = hub.public.get(("book", ev.symbol))
                if subs:
                    frame = text_frame(orjson.dumps(public_feeds.book_delta(ev)))
                    hub.fanout(subs, frame, "book", ev.symbol)
            elif isinstance(ev, PublicTrade):
                hub.broadcast(hub.subscribers("trade", ev.symbol), public_feeds.trade(ev),
                              "trade", ev.symbol)
            elif self.held is not None:
                self.held.append(ev)
            elif isinstance(ev, OrderUpdate):
                if not ev.verbose_only:
                    hub.broadcast(hub.private_subscribers(ev.account, "open_orders"),
                                  private_feeds.open_orders_delta(ev, False), "open_orders")
                hub.broadcast(hub.private_subscribers(ev.account, "open_orders_verbose"),
                              private_feeds.open_orders_delta(ev, True), "open_orders_verbose")
            elif isinstance(ev, FillUpdate):
                hub.broadcast(hub.private_subscribers(ev.account, "fills"),
                              private_feeds.fills_delta(ev.account, ev.fill), "fills")
            elif isinstance(ev, PositionUpdate | BalanceUpdate):
                kind = "open_positions" if isinstance(ev, PositionUpdate) else "balances"
                touched.setdefault(ev.account, set()).add(kind)
        for account, kinds in touched.items():
            for kind in sorted(kinds):
                subs = hub.private_subscribers(account, kind)
                if subs:
                    hub.broadcast(subs, self.account_message(account, kind, snapshot=False),
                                  kind)

    def account_message(self, account: str, kind: str, *, snapshot: bool) -> dict[str, object]:
        """``open_positions`` or ``balances[_snapshot]`` for one account."""
        acct = self.engine.accounts[account]
        seq = self.next_feed_seq(account, kind)
        if kind == "open_positions":
            return open_positions_ws(self.engine, acct, now_ms(), seq)
        return balances_ws(self.engine, acct, now_ms(), seq, snapshot)
