"""``balances_snapshot`` / ``balances``: margin accounts of the account.

One FundsEntry per margin account, named by its currency:

- ``flex_futures`` (the multi-collateral account every ``PF_`` contract uses, valued in USD)
  -> ``USD``: balance = ``balance_value``, available = ``available_margin``, margins,
  ``portfolio_value`` and ``total_unrealized``;
- each single-collateral account in ``futures`` (``F-XBT:USD``, used by ``PI_``/``FI_``) -> its
  ``unit`` (``XBT``): ``balance``, ``available``, margins, ``portfolio_value``, ``pnl``.

The cash wallet (``holding``) is not margin for futures and is left out.

Kraken quirks handled here (protocol reference section 4.3): a delta carries only the parts
that changed (``holding`` alone, or ``futures`` alone, ccxt's real deltas), so entries are
merged by currency, never replaced wholesale; ``futures`` may be ``{}``.
"""

from __future__ import annotations

import msgspec

from common.oms.inputs import FundsEntry

from .wire import decode, decoder

FLEX_CURRENCY = "USD"


class WireMarginAccount(msgspec.Struct):
    unit: str
    balance: float = 0.0
    available: float | None = None
    initial_margin: float | None = None
    maintenance_margin: float | None = None
    portfolio_value: float | None = None
    pnl: float | None = None


class WireFlex(msgspec.Struct):
    balance_value: float = 0.0
    available_margin: float | None = None
    initial_margin: float | None = None
    maintenance_margin: float | None = None
    portfolio_value: float | None = None
    total_unrealized: float | None = None


class WireBalances(msgspec.Struct):
    feed: str
    futures: dict[str, WireMarginAccount] | None = None
    flex_futures: WireFlex | None = None
    timestamp: int = 0


_ws = decoder(WireBalances)


def parse(data: bytes | str) -> list[FundsEntry]:
    """The margin accounts a balances message mentions::

        {"feed":"balances_snapshot","account":"4a012c31-df95-484a-9473-d51e4a0c4ae7",
         "holding":{"USDT":4997.5012493753,"XBT":0.1285407184},"futures":{"F-ETH:EUR":
         {"name":"F-ETH:EUR","pair":"ETH/EUR","unit":"EUR","portfolio_value":0.0,"balance":0.0,
         "maintenance_margin":0.0,"initial_margin":0.0,"available":0.0,"unrealized_funding":0.0,
         "pnl":0.0}},"flex_futures":{"currencies":{"USDT":{"quantity":0.0,"value":0.0,
         "collateral_value":0.0,"available":0.0,"haircut":0.0,"conversion_spread":0.0}},
         "balance_value":0.0,"portfolio_value":0.0,"collateral_value":0.0,"initial_margin":0.0,
         "initial_margin_without_orders":0.0,"maintenance_margin":0.0,"pnl":0.0,
         "unrealized_funding":0.0,"total_unrealized":0.0,"total_unrealized_as_margin":0.0,
         "margin_equity":0.0,"available_margin":0.0,"isolated":{},"cross":{...}},
         "timestamp":1640995200000,"seq":0}
    """
    msg = decode(_ws, data, "balances")
    out = []
    if msg.flex_futures is not None:
        f = msg.flex_futures
        out.append(
            FundsEntry(
                currency=FLEX_CURRENCY,
                balance=f.balance_value,
                available=f.available_margin,
                initial_margin=f.initial_margin,
                maintenance_margin=f.maintenance_margin,
                portfolio_value=f.portfolio_value,
                unrealized_pnl=f.total_unrealized,
                time_ms=msg.timestamp,
            )
        )
    for acct in (msg.futures or {}).values():
        out.append(
            FundsEntry(
                currency=acct.unit.upper(),
                balance=acct.balance,
                available=acct.available,
                initial_margin=acct.initial_margin,
                maintenance_margin=acct.maintenance_margin,
                portfolio_value=acct.portfolio_value,
                unrealized_pnl=acct.pnl,
                time_ms=msg.timestamp,
            )
        )
    return out
