"""``GET /instruments`` (public, cost 0) -> the order-entry rules of every tradeable contract.

Sample (simulator, same shape as Kraken 2025)::

    {"result":"success","instruments":[
      {"symbol":"PF_XBTUSD","type":"flexible_futures","tickSize":1.0,"contractSize":1.0,
       "tradeable":true,"impactMidSize":0.5,"maxPositionSize":1000.0,
       "contractValueTradePrecision":4,"postOnly":false,"base":"BTC","quote":"USD", ...},
      {"symbol":"in_xbtusd","type":"spot index","tradeable":false}],
     "serverTime":"2026-11-22T05:19:50.452Z"}

Kraken quirks: symbols were lower case in 2021 (``pi_xbtusd``) and upper case since, so every
symbol is upper-cased here; index entries carry only symbol/type/tradeable and are skipped;
``contractValueTradePrecision`` may be negative (PF_PEPEUSD: -3 = multiples of 1000), and
the real 2021 capture has no precision at all for inverse contracts, whose sizes are whole
USD contracts (precision 0 assumed for ``PI_``/``FI_``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .decimals import step_of_precision

INVERSE_PREFIXES = ("PI_", "FI_")
"""Inverse contracts: sizes in whole USD contracts when Kraken gives no precision."""


@dataclass(frozen=True, slots=True)
class InstrumentRules:
    """What an order on ``symbol`` must respect.

    tick_size: price step (quote currency). size_step: quantity step (contracts).
    min_size: smallest quantity (one step). max_size: Kraken's maxPositionSize (None = no cap).
    tradeable: Kraken accepts orders at all. post_only: the market takes post-only orders only.
    """

    symbol: str
    tick_size: float
    size_step: float
    min_size: float
    max_size: float | None
    tradeable: bool
    post_only: bool


def parse(body: dict[str, Any]) -> dict[str, InstrumentRules]:
    """Rules by upper-case symbol; entries without a tick size or precision are skipped."""
    out: dict[str, InstrumentRules] = {}
    for item in body.get("instruments") or []:
        if not isinstance(item, dict):
            continue
        symbol = str(item.get("symbol") or "").upper()
        tick = item.get("tickSize")
        precision = item.get("contractValueTradePrecision")
        if precision is None and symbol.startswith(INVERSE_PREFIXES):
            precision = 0
        if not symbol or not isinstance(tick, (int, float)) or not isinstance(precision, (int, float)):
            continue
        if tick <= 0:
            continue
        step = step_of_precision(int(precision))
        max_size = item.get("maxPositionSize")
        out[symbol] = InstrumentRules(
            symbol=symbol,
            tick_size=float(tick),
            size_step=step,
            min_size=step,
            max_size=float(max_size) if isinstance(max_size, (int, float)) and max_size > 0 else None,
            tradeable=bool(item.get("tradeable", True)),
            post_only=bool(item.get("postOnly", False)),
        )
    return out
