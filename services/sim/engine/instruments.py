"""Tradeable instruments: contract specification and the size/price validity rules."""

from __future__ import annotations

import math
from dataclasses import dataclass

EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Instrument:
    """One Kraken Futures contract.

    symbol: uppercase symbol (``PI_XBTUSD``, ``PF_ETHUSD``, ``FI_XBTUSD_260327``).
    inverse: True for ``PI_``/``FI_`` (coin-margined, size in USD contracts), False for
        ``PF_``/``FF_`` (flexible, USD multi-collateral, size in base units).
    tick_size: price increment, in quote currency (USD).
    contract_size: contract multiplier (1 for every PI/PF contract).
    precision: ``contractValueTradePrecision``: decimals allowed in ``size``; negative means the
        size must be a multiple of ``10**-precision``.
    base / quote: currencies (``XBT``, ``USD``).
    initial_margin / maintenance_margin: margin rates as fractions of notional (0.02 = 50x).
    max_position_size: largest absolute position, in contracts.
    impact_mid_size: ``impactMidSize`` shown by ``instruments``.
    last_trading_time: ISO8601 expiry of a dated future, None for perpetuals.
    tag: ticker tag (``perpetual``, ``month``, ``quarter``).
    isin: shown by ``instruments``.
    start_price: initial fair price for the synthetic market, in USD.
    """

    symbol: str
    inverse: bool
    tick_size: float
    contract_size: float
    precision: int
    base: str
    quote: str = "USD"
    initial_margin: float = 0.02
    maintenance_margin: float = 0.01
    max_position_size: float = 1_000_000.0
    impact_mid_size: float = 1.0
    last_trading_time: str | None = None
    tag: str = "perpetual"
    isin: str = ""
    start_price: float = 50_000.0

    @property
    def kraken_type(self) -> str:
        """``type`` as ``instruments`` reports it."""
        return "futures_inverse" if self.inverse else "flexible_futures"

    @property
    def margin_account(self) -> str:
        """Name of the single-collateral margin account of an inverse contract (``fi_xbtusd``)."""
        return f"fi_{self.base.lower()}{self.quote.lower()}"

    @property
    def settlement_currency(self) -> str:
        """Currency of PnL and fees: the base for inverse contracts, USD for flexible ones."""
        return self.base if self.inverse else "USD"

    @property
    def pair(self) -> str:
        return f"{self.base}:{self.quote}"

    @property
    def price_decimals(self) -> int:
        return max(0, -math.floor(math.log10(self.tick_size) + EPS)) if self.tick_size < 1 else 0

    def round_price(self, price: float) -> float:
        """``price`` snapped to the nearest tick."""
        return round(round(price / self.tick_size) * self.tick_size, self.price_decimals)

    def floor_price(self, price: float) -> float:
        return round(math.floor(price / self.tick_size + EPS) * self.tick_size, self.price_decimals)

    def ceil_price(self, price: float) -> float:
        return round(math.ceil(price / self.tick_size - EPS) * self.tick_size, self.price_decimals)

    def valid_price(self, price: float) -> bool:
        """Positive and a whole number of ticks (else ``invalidPrice``)."""
        if not math.isfinite(price) or price <= 0:
            return False
        ticks = price / self.tick_size
        return abs(ticks - round(ticks)) < 1e-6

    def valid_size(self, size: float) -> bool:
        """Positive and within ``contractValueTradePrecision`` (else ``invalidSize``)."""
        if not math.isfinite(size) or size <= 0:
            return False
        scaled = size * (10.0**self.precision)
        return abs(scaled - round(scaled)) < 1e-6 and size <= self.max_position_size

    def round_size(self, size: float) -> float:
        return round(size, max(self.precision, 0)) if self.precision >= 0 else float(
            round(size, self.precision)
        )
