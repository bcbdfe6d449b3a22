"""``[router]``: typed settings of the order-entry router. Every field has a default.

Example::

    [router]
    curve = true                               # CURVE authentication of client DEALERs
    curve_secret_key_env = "KGW_ROUTER_CURVE_SECRET"
    curve_public_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"   # handed to clients
    disconnect_policy = "own_orders"           # own_orders | account | none
    rate_limit_policy = "reject"               # reject | queue

    [router.users.alice]
    curve_public_key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
    accounts = ["main"]
    symbols = ["PF_XBTUSD", "PF_ETHUSD"]       # ["*"] = every symbol
"""

from __future__ import annotations

from typing import Literal

import msgspec

from common.config import ServiceSettings


class UserSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``[router.users.<name>]``: one client identity and what it may trade.

    curve_public_key: the user's CURVE public key (Z85, 40 characters, from ``kgw keygen``);
        a client proving this key is this user. Empty = the user can only be the
        ``default_user`` of a router running with ``curve = false``.
    accounts: accounts (``[accounts.<name>]``) the user may send orders to.
    symbols: symbols the user may trade (upper case), ``["*"]`` for all. A CancelAllOrders
        without a symbol needs ``"*"`` because it touches every symbol of the account.
    """

    curve_public_key: str = ""
    accounts: list[str] = msgspec.field(default_factory=list)
    symbols: list[str] = msgspec.field(default_factory=lambda: ["*"])


def _default_users() -> dict[str, UserSettings]:
    return {"dev": UserSettings(accounts=["main"], symbols=["*"])}


class RouterSettings(ServiceSettings, kw_only=True, forbid_unknown_fields=True):
    """``[router]``.

    users: client identities and permissions, by user name (``[A-Za-z0-9_-]{1,32}``, it goes
        into every cliOrdId).
    curve: require CURVE authentication on the order socket (on by default). ``false`` is
        the loopback development opt-out: every client is ``default_user``, and the router
        refuses to start unless ``bus.router_orders`` is a loopback, ipc or inproc endpoint.
    curve_secret_key_env: environment variable holding the router's CURVE secret key (Z85).
    curve_public_key: the router's CURVE public key (Z85), for clients; checked against the
        secret at start when set.
    default_user: the user of every client when ``curve = false``.
    request_timeout: seconds to wait for Kraken's answer to an order request before acking
        TIMEOUT (the order then stays "uncertain" until an update settles it).
    connect_timeout: seconds to open a connection to Kraken before acking DISCONNECTED.
    max_in_flight: concurrent REST order calls per account; requests beyond wait and are
        sent together as one ``batchorder`` when a slot frees.
    batch_max: most elements in one ``batchorder`` (Kraken: 100 sends per batch).
    rate_budget: tokens of our copy of Kraken's bucket per API key (Kraken: 500). Keep a
        margin below Kraken's if clocks may disagree.
    rate_window: seconds to refill the bucket from empty (Kraken: 10).
    rate_limit_policy: ``reject`` answers RATE_LIMITED at once when a request would exceed
        the budget; ``queue`` holds it until it fits, at most ``rate_queue_max_wait``.
    rate_queue_max_wait: seconds a request may wait for budget in ``queue`` mode before it
        is rejected RATE_LIMITED.
    dead_man_switch: arm Kraken's ``cancelallordersafter`` for every account (on by default;
        a loud warning is logged when off).
    dms_timeout: seconds Kraken waits after the last refresh before cancelling every order
        of the account (integer, Kraken takes whole seconds).
    dms_refresh: seconds between refreshes while the account is ready (<= dms_timeout / 2).
    client_timeout: seconds without any message (clients send Heartbeat) after which a
        client is declared gone and ``disconnect_policy`` applies.
    disconnect_policy: what to cancel when a client goes: ``own_orders`` (the open orders
        that client placed), ``account`` (every order of the accounts it used) or ``none``.
    instruments_refresh: seconds between refreshes of the instrument rules (REST
        ``instruments``, public and free).
    max_message_size: largest request payload in bytes; larger gets OVERSIZED_MESSAGE.
    finished_order_ids: finished orders remembered per user to refuse a reused order_id
        (beyond it the oldest are forgotten; Kraken still refuses an id open on the book).
    forwarded_trade_ids: trade ids of fills forwarded to clients that are remembered, so a
        fill seen again (live, in a download, rebuilt from REST, replayed by a restarted
        drop-copy) is never forwarded twice; beyond it the oldest are forgotten.
    forwarded_orders: orders whose last forwarded update (status, traded quantity, quantity,
        prices) is remembered, so an order state is forwarded once and its final status once;
        beyond it the least recently updated are forgotten.
    download_timeout: seconds to wait for the drop-copy download service's complete answer
        (SnapshotEnd) when resynchronizing after a drop-copy restart, gap or silence; the
        request is sent again after that.
    """

    metrics_port: int = 9822
    users: dict[str, UserSettings] = msgspec.field(default_factory=_default_users)
    curve: bool = True
    curve_secret_key_env: str = "KGW_ROUTER_CURVE_SECRET"
    curve_public_key: str = ""
    default_user: str = "dev"
    request_timeout: float = 5.0
    connect_timeout: float = 2.0
    max_in_flight: int = 8
    batch_max: int = 20
    rate_budget: float = 500.0
    rate_window: float = 10.0
    rate_limit_policy: Literal["reject", "queue"] = "reject"
    rate_queue_max_wait: float = 2.0
    dead_man_switch: bool = True
    dms_timeout: int = 30
    dms_refresh: float = 7.5
    client_timeout: float = 5.0
    disconnect_policy: Literal["own_orders", "account", "none"] = "own_orders"
    instruments_refresh: float = 300.0
    max_message_size: int = 64 * 1024
    finished_order_ids: int = 1_000_000
    forwarded_trade_ids: int = 100_000
    forwarded_orders: int = 100_000
    download_timeout: float = 5.0
