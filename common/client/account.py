"""Account state for clients: open orders, positions and funds, kept current.

::

    acct = AccountState("main")
    await acct.start()
    async for update in acct.updates():
        acct.open_orders      # exchange_order_id -> latest OrderUpdate of each working order
        acct.positions        # symbol -> PositionUpdate (0 when closed)
        acct.funds            # currency -> FundsUpdate

The drop-copy listener's download service gives the starting state and its PUB the changes;
the Clone pattern (:class:`~common.client.mirror.Mirror`) keeps the two consistent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from common import topics
from common.messages import FINAL_ORDER_STATUSES, FundsUpdate, OrderUpdate, PositionUpdate, TradeUpdate

from .mirror import Mirror, Update, UpdateKind

DEFAULT_DROPCOPY_PUB = "tcp://127.0.0.1:9830"
DEFAULT_DROPCOPY_DOWNLOAD = "tcp://127.0.0.1:9831"


class AccountState:
    """Mirror of one account's state published by the drop-copy listener.

    account: account name as configured in the gateway.
    pub_endpoint / download_endpoint: the drop-copy listener's PUB and download ROUTER.
    """

    def __init__(
        self,
        account: str,
        *,
        pub_endpoint: str = DEFAULT_DROPCOPY_PUB,
        download_endpoint: str = DEFAULT_DROPCOPY_DOWNLOAD,
        exchange: str = "kraken-futures",
    ) -> None:
        self.account = account
        self.mirror = Mirror("dropcopy", pub_endpoint, download_endpoint, [f"oms.{exchange}.{account}."])
        self.open_orders: dict[str, OrderUpdate] = {}
        self.positions: dict[str, PositionUpdate] = {}
        self.funds: dict[str, FundsUpdate] = {}
        #: trade_id -> fill, every fill seen since start
        self.fills: dict[str, TradeUpdate] = {}

    async def start(self) -> None:
        await self.mirror.start()

    async def close(self) -> None:
        await self.mirror.close()

    def apply(self, update: Update) -> None:
        """Apply one mirror update (``updates()`` does this for you)."""
        if update.kind is UpdateKind.SYNCED:
            return
        kind = topics.parts(update.topic)[-1]
        if update.kind is UpdateKind.RESET:
            if kind == "order":
                self.open_orders.clear()
            elif kind == "position":
                self.positions.clear()
            elif kind == "funds":
                self.funds.clear()
            return
        msg = update.message
        if isinstance(msg, OrderUpdate):
            if msg.status in FINAL_ORDER_STATUSES:
                self.open_orders.pop(msg.exchange_order_id, None)
            else:
                self.open_orders[msg.exchange_order_id] = msg
        elif isinstance(msg, PositionUpdate):
            self.positions[msg.symbol] = msg
        elif isinstance(msg, FundsUpdate):
            self.funds[msg.currency] = msg
        elif isinstance(msg, TradeUpdate):
            self.fills[msg.trade_id] = msg

    async def updates(self) -> AsyncIterator[Update]:
        """Every update, applied to the state before it is yielded."""
        async for update in self.mirror.updates():
            self.apply(update)
            yield update
