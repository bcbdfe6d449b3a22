"""Python client library: market data, order entry and account state over the gateway's bus.

- :class:`MarketData`: consistent L2 books, top of book, trades, statistics, reference data
  and market status for some symbols (snapshot + updates, resynchronized by itself).
- :class:`OrderEntry`: create / modify / cancel / cancel-all with the client's own order ids;
  each order's acks and updates collected on its :class:`Ticket`.
- :class:`AccountState`: open orders, positions and funds of one account, kept current.

All asyncio-native; endpoints default to the demo socket map (proto/README.md).
"""

from .account import AccountState
from .marketdata import MarketData
from .mirror import Mirror, Update, UpdateKind
from .orders import OrderEntry, Settlement, Ticket, is_final_ack

__all__ = [
    "AccountState",
    "MarketData",
    "Mirror",
    "OrderEntry",
    "Settlement",
    "Ticket",
    "Update",
    "UpdateKind",
    "is_final_ack",
]
