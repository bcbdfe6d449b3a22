"""``[dropcopy]``: typed settings of the drop-copy listener. Every field has a default.

Example::

    [dropcopy]
    accounts = ["main"]          # each names an [accounts.<name>] section (key and secret env vars)
    verbose = true               # open_orders_verbose: also post-only and IOC failures
    metrics_port = 9832

    [dropcopy.stream]            # reconnect, ping and silence tunables of each connection
    backoff_cap = 30.0
"""

from __future__ import annotations

import msgspec

from common.config import ServiceSettings
from common.kraken.stream import StreamSettings


class DropcopySettings(ServiceSettings, kw_only=True, forbid_unknown_fields=True):
    """``[dropcopy]``.

    accounts: names of the ``[accounts.<name>]`` sections to follow, one private WebSocket
        connection each (their API key and secret come from the environment variables those
        sections name).
    verbose: subscribe ``open_orders_verbose`` instead of ``open_orders``. The verbose feed
        also reports post-only rejections and the cancelled remainder of IOC orders; without
        it an IOC that fills partly stays PARTIALLY_FILLED until the next reconciliation.
    stream: WebSocket tunables (pings, silence timeout, reconnect backoff), see
        :class:`common.kraken.stream.StreamSettings`. The connection also subscribes Kraken's
        ``heartbeat`` feed so that a quiet account is not mistaken for a dead connection; as
        Kraken does not document that feed's period, the silence timeout defaults to 65 s here
        (protocol pings every ``ping_interval`` seconds already catch a dead TCP connection).
    login_timeout: seconds from connecting until the challenge is answered and every private
        feed acknowledged; longer restarts the connection (with a fresh challenge).
    download_timeout: seconds from login until every snapshot (open orders, fills, positions,
        balances) arrived; longer restarts the connection.
    reconcile: after each login, fetch REST ``fills`` and ``openorders`` before declaring the
        account READY, so that fills and cancels missed while disconnected are published.
    rest_timeout: seconds allowed for one reconciliation REST call.
    rest_attempts: REST calls tried per reconciliation step before giving up on REST and
        completing the download from the WebSocket snapshots alone (counted and logged).
    rest_retry_delay: seconds between two such attempts.
    fill_memory: fill ids remembered per account to publish each fill once (Kraken replays at
        most the last 100 fills).
    closed_order_memory: finished orders remembered per account, so late events about them are
        recognised instead of creating phantom orders.
    download_recent: finished orders and fills per account topic that the download service
        answers besides the current state (the most recent; 0 = current state only), so a
        router or client that missed them while its subscription was reconnecting recovers
        them from the snapshot.
    start_delay: seconds between binding the bus sockets and the first connection to Kraken, so
        subscribers still connected from a previous run of this process (the router, the event
        log, clients: ZeroMQ retries every 0.1 s) are back before the first download is
        published; a PUB drops what it sends before a subscriber is connected.
    status_interval: seconds between re-publications of each StreamStatus (also sent on every
        change), so a late subscriber learns the state without asking; 0 disables.
    """

    accounts: list[str] = msgspec.field(default_factory=lambda: ["main"])
    verbose: bool = True
    stream: StreamSettings = msgspec.field(default_factory=lambda: StreamSettings(silence_timeout=65.0))
    login_timeout: float = 10.0
    download_timeout: float = 15.0
    reconcile: bool = True
    rest_timeout: float = 5.0
    rest_attempts: int = 3
    rest_retry_delay: float = 0.5
    fill_memory: int = 100_000
    closed_order_memory: int = 10_000
    download_recent: int = 1000
    start_delay: float = 0.5
    status_interval: float = 5.0
