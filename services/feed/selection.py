"""Which symbols the feed carries, from ``[feed]`` ``symbols`` / ``include`` / ``exclude``.

Matching is case-insensitive (Kraken has sent ``pi_xbtusd`` and ``PI_XBTUSD``). An explicit
``symbols`` list wins over ``include``; ``exclude`` applies to both. Index and reference-rate
entries are never subscribed on the WebSocket (they have no book), and neither are contracts
that are not tradeable (Kraken only streams tradeable markets); both still get ReferenceData
and MarketStatus when selected.
"""

from __future__ import annotations

import re

from common.kraken.instruments import Instrument, is_index


class SymbolSelector:
    """symbols: explicit list (any case); include / exclude: regexes (``re.search``)."""

    def __init__(self, symbols: list[str], include: list[str], exclude: list[str]) -> None:
        self.symbols = {s.upper() for s in symbols}
        self.include = [re.compile(p, re.IGNORECASE) for p in include]
        self.exclude = [re.compile(p, re.IGNORECASE) for p in exclude]

    def selects(self, symbol: str) -> bool:
        """True if ``symbol`` (any case) is carried."""
        if any(p.search(symbol) for p in self.exclude):
            return False
        if self.symbols:
            return symbol.upper() in self.symbols
        return any(p.search(symbol) for p in self.include)

    def select(self, instruments: list[Instrument]) -> list[Instrument]:
        """The selected instruments (reference data is published for these)."""
        return [i for i in instruments if self.selects(i.symbol)]


def streamable(inst: Instrument) -> bool:
    """True if the instrument has public WebSocket feeds (tradeable, not an index)."""
    return inst.tradeable and not is_index(inst)
