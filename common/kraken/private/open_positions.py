"""``open_positions``: the full list of open positions, snapshot and updates alike.

Kraken quirks handled here (protocol reference section 4.3): the same feed name serves the
snapshot and every update, each carrying **all** open positions; ``balance`` is the signed
size (short < 0); a position that closes is simply left out of the list, so the caller must
publish the zero itself (see :meth:`common.oms.account_state.AccountState.on_positions`).
"""

from __future__ import annotations

import msgspec

from common.oms.inputs import PositionEntry

from .wire import decode, decoder


class WirePosition(msgspec.Struct):
    instrument: str
    balance: float
    entry_price: float | None = None
    pnl: float | None = None


class WirePositions(msgspec.Struct):
    feed: str
    positions: list[WirePosition] = []
    timestamp: int = 0


_ws = decoder(WirePositions)


def parse(data: bytes | str) -> list[PositionEntry]:
    """Every open position::

        {"feed":"open_positions","account":"3b111acc-4fcc-45be-a622-57e611fe9f7f",
         "positions":[{"instrument":"PF_LTCUSD","balance":0.5,"pnl":-0.8628305877699987,
         "entry_price":70.53,"mark_price":68.80433882446,"index_price":68.8091,
         "liquidation_threshold":0,"effective_leverage":0.007028866753648637,
         "return_on_equity":-1.2233525985679834,"unrealized_funding":0.0000690610530935388,
         "initial_margin":0.7053,"initial_margin_with_orders":0.7053,
         "maintenance_margin":0.35265,"pnl_currency":"USD"}],"seq":0,"timestamp":1698608414910}
    """
    msg = decode(_ws, data, "open_positions")
    return [
        PositionEntry(
            symbol=p.instrument.upper(),
            position=p.balance,
            average_price=p.entry_price or None,
            unrealized_pnl=p.pnl,
            time_ms=msg.timestamp,
        )
        for p in msg.positions
    ]
