"""Accounts: collateral, net positions with average entry price and PnL, and the margin model.

Margin model (deliberately simple, documented in services/sim/README.md):

* Flexible (``PF_``) contracts share one multi-collateral account (``flex``): collateral is the
  USD value of every currency held; PnL and fees settle in USD.
* Inverse (``PI_``/``FI_``) contracts use a single-collateral margin account per pair
  (``fi_xbtusd``) holding the base currency; PnL and fees settle in that currency.
* Initial margin = ``|position| x notional x initial_margin`` (plus the same for the part of
  open orders that would increase exposure). ``available = equity - initial margin``; an order
  whose initial margin exceeds ``available`` is rejected with ``insufficientAvailableFunds``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from services.sim.engine.instruments import Instrument

USD_LIKE = frozenset({"USD", "USDT", "USDC"})


@dataclass(slots=True)
class Position:
    """Net position of one account in one symbol.

    size: signed (long > 0), in contracts. entry_price: average entry in USD (harmonic average
    for inverse contracts). realized_pnl: in the settlement currency. fill_time_ms: last fill.
    """

    symbol: str
    size: float = 0.0
    entry_price: float = 0.0
    realized_pnl: float = 0.0
    fill_time_ms: int = 0


def unrealized_pnl(inst: Instrument, pos: Position, mark: float) -> float:
    """PnL of ``pos`` at ``mark``, in the settlement currency."""
    if pos.size == 0 or pos.entry_price <= 0 or mark <= 0:
        return 0.0
    if inst.inverse:
        return pos.size * inst.contract_size * (1.0 / pos.entry_price - 1.0 / mark)
    return pos.size * inst.contract_size * (mark - pos.entry_price)


def notional(inst: Instrument, qty: float, price: float) -> float:
    """Value of ``qty`` contracts at ``price`` in the settlement currency."""
    if price <= 0:
        return 0.0
    return abs(qty) * inst.contract_size / price if inst.inverse else abs(qty) * inst.contract_size * price


def apply_fill(inst: Instrument, pos: Position, signed_qty: float, price: float) -> float:
    """Apply a fill to ``pos``; returns the realized PnL (settlement currency) of the fill."""
    realized = 0.0
    old = pos.size
    new = round(old + signed_qty, 10)
    if old == 0 or (old > 0) == (signed_qty > 0):
        # opening or adding: average the entry (harmonic for inverse contracts)
        if inst.inverse:
            inv = abs(old) / pos.entry_price if old else 0.0
            pos.entry_price = (abs(old) + abs(signed_qty)) / (inv + abs(signed_qty) / price)
        else:
            pos.entry_price = (abs(old) * pos.entry_price + abs(signed_qty) * price) / (
                abs(old) + abs(signed_qty)
            )
    else:
        closed = min(abs(old), abs(signed_qty))
        closing = Position(pos.symbol, closed if old > 0 else -closed, pos.entry_price)
        realized = unrealized_pnl(inst, closing, price)
        if abs(signed_qty) > abs(old):  # flipped: the rest opens at the fill price
            pos.entry_price = price
        elif new == 0:
            pos.entry_price = 0.0
    pos.size = new
    pos.realized_pnl += realized
    return realized


@dataclass(slots=True)
class Account:
    """One trading account.

    name: config name; api_key: its key (the secret is held by the REST/WS layer).
    flex: multi-collateral holdings by currency (``USD``, ``XBT``, ...).
    margin: single-collateral margin accounts by name (``fi_xbtusd``) -> balance in base ccy.
    cash: cash-account balances by lowercase currency.
    unlimited: the simulator's own market-making account, never margin-checked.
    """

    name: str
    api_key: str = ""
    flex: dict[str, float] = field(default_factory=dict)
    margin: dict[str, float] = field(default_factory=dict)
    cash: dict[str, float] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    unlimited: bool = False
    fill_seq: int = 0
    fills: deque[dict[str, object]] = field(default_factory=lambda: deque(maxlen=1000))

    def position(self, symbol: str) -> Position:
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position(symbol)
        return pos

    def settle(self, inst: Instrument, amount: float) -> None:
        """Credit (or debit, if negative) ``amount`` of PnL/fee in the settlement currency."""
        if inst.inverse:
            key = inst.margin_account
            self.margin[key] = self.margin.get(key, 0.0) + amount
        else:
            self.flex["USD"] = self.flex.get("USD", 0.0) + amount
