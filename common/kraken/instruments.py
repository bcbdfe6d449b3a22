"""Kraken Futures instruments (REST ``GET /instruments``) -> ReferenceData and trading status.

Sans-I/O: :func:`parse` takes the response body, :func:`reference_data` and
:func:`trading_status` convert one instrument.

Quirks handled here (futures-protocol.md 3.1, 5):

- ``symbol`` was lower case in 2021 (``pi_xbtusd``) and upper case since; symbols are
  normalised to upper case (WebSocket data always uses upper case).
- Index and reference-rate entries (``in_xbtusd``, ``rr_xbtusd``, type ``spot index``) carry
  only ``symbol``, ``type`` and ``tradeable``.
- ``contractValueTradePrecision`` is the number of decimals of a size and may be negative
  (PF_PEPEUSD = -3: sizes are multiples of 1000); absent in 2021 (inverse contracts trade
  whole contracts, so 0).
- ``marginLevels`` thresholds are ``contracts`` for inverse and ``numNonContractUnits``
  (quote notional) for flexible contracts.
- ``lastTradingTime`` exists only for dated futures; ISO 8601 with milliseconds.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from common.messages import MarginLevel, ReferenceData, SymbolType, TradingStatus


class KrakenMarginLevel(msgspec.Struct, rename="camel"):
    """``{"contracts":0,"initialMargin":0.02,"maintenanceMargin":0.01}`` (inverse) or
    ``{"numNonContractUnits":0.0,...}`` (flexible)."""

    initial_margin: float
    maintenance_margin: float
    contracts: float | None = None
    num_non_contract_units: float | None = None


class Instrument(msgspec.Struct, rename="camel"):
    """One entry of ``instruments``. Real (2021, lower case)::

        {"symbol":"pi_xbtusd","type":"futures_inverse","underlying":"rr_xbtusd","tickSize":0.5,
         "contractSize":1,"tradeable":true,"marginLevels":[{"contracts":0,"initialMargin":0.02,
         "maintenanceMargin":0.01}],"fundingRateCoefficient":8,"maxRelativeFundingRate":0.001,
         "isin":"GB00J62YGL67","retailMarginLevels":[...]}
    """

    symbol: str
    type: str = ""
    tradeable: bool = False
    underlying: str | None = None
    tick_size: float | None = None
    contract_size: float | None = None
    contract_value_trade_precision: int | None = None
    max_position_size: float | None = None
    margin_levels: list[KrakenMarginLevel] = []
    post_only: bool = False
    last_trading_time: str | None = None
    base: str | None = None
    quote: str | None = None


class InstrumentsResponse(msgspec.Struct):
    """``{"result":"success","instruments":[...],"serverTime":"..."}``"""

    result: str = ""
    instruments: list[Instrument] = []
    error: str | None = None


_decoder = msgspec.json.Decoder(InstrumentsResponse)


class InstrumentsError(ValueError):
    """The body is not a successful instruments answer."""


def parse(body: bytes | str) -> list[Instrument]:
    """Instruments of a ``GET /instruments`` body, symbols upper case; raises InstrumentsError."""
    try:
        resp = _decoder.decode(body)
    except msgspec.DecodeError as e:
        raise InstrumentsError(f"bad instruments body: {e}") from None
    if resp.result != "success":
        raise InstrumentsError(f"instruments answered {resp.result or 'nothing'}: {resp.error or ''}")
    for inst in resp.instruments:
        inst.symbol = inst.symbol.upper()
    return resp.instruments


def is_index(inst: Instrument) -> bool:
    """Index and reference-rate entries (no book, no trading)."""
    return "index" in inst.type or inst.symbol.upper().startswith(("IN_", "RR_"))


def symbol_type(inst: Instrument) -> SymbolType:
    """The schema's kind of instrument, from Kraken's prefix (PI_, PF_, FI_, FF_, IN_/RR_)."""
    if is_index(inst):
        return SymbolType.INDEX
    prefix = inst.symbol[:3].upper()
    return {
        "PI_": SymbolType.PERPETUAL_INVERSE,
        "PF_": SymbolType.PERPETUAL_LINEAR,
        "PV_": SymbolType.PERPETUAL_LINEAR,
        "FI_": SymbolType.FUTURE_INVERSE,
        "FF_": SymbolType.FUTURE_LINEAR,
        "FV_": SymbolType.FUTURE_LINEAR,
    }.get(prefix, SymbolType.OTHER)


def _iso_to_ns(text: str) -> int | None:
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1_000_000_000)
    except ValueError:
        return None


def _base_quote(inst: Instrument) -> tuple[str | None, str | None]:
    if inst.base and inst.quote:
        return inst.base.upper(), inst.quote.upper()
    # PI_XBTUSD / FI_XBTUSD_210924: base = all but the last 3 letters of the pair, quote = those
    parts = inst.symbol.upper().split("_")
    if len(parts) >= 2 and len(parts[1]) > 3:
        return parts[1][:-3], parts[1][-3:]
    return None, None


def reference_data(inst: Instrument, exchange: str) -> ReferenceData:
    """The ReferenceData message of one instrument (header fields left to the publisher)."""
    precision = inst.contract_value_trade_precision or 0
    step = 10.0 ** (-precision)
    base, quote = _base_quote(inst)
    return ReferenceData(
        exchange=exchange,
        symbol=inst.symbol.upper(),
        symbol_type=symbol_type(inst),
        tick_size=inst.tick_size or 0.0,
        contract_size=inst.contract_size or 1.0,
        size_step=step,
        size_precision=precision,
        min_size=step,
        max_size=inst.max_position_size,
        underlying=inst.underlying.upper() if inst.underlying else None,
        base=base,
        quote=quote,
        expiry=_iso_to_ns(inst.last_trading_time) if inst.last_trading_time else None,
        margin_levels=[
            MarginLevel(
                threshold=(m.contracts if m.contracts is not None else m.num_non_contract_units) or 0.0,
                initial_margin=m.initial_margin,
                maintenance_margin=m.maintenance_margin,
            )
            for m in inst.margin_levels
        ],
        post_only=inst.post_only,
        tradeable=inst.tradeable,
    )


def trading_status(tradeable: bool, suspended: bool = False, post_only: bool = False) -> TradingStatus:
    """CLOSED if not tradeable, HALTED if suspended, POST_ONLY if post-only, else OPEN.
    ``tradeable`` and ``postOnly`` come from instruments; ``suspended`` and ``post_only``
    from the ticker."""
    if not tradeable:
        return TradingStatus.CLOSED
    if suspended:
        return TradingStatus.HALTED
    if post_only:
        return TradingStatus.POST_ONLY
    return TradingStatus.OPEN
