"""``[sim]``: typed settings of the Kraken Futures simulator. Every field has a default.

Example::

    [sim]
    port = 9800
    book_rate = 20.0            # background book messages per second (all symbols)

    [sim.accounts.alice]        # a funded account; its key and secret come from the env
    api_key_env = "ALICE_KEY"
    api_secret_env = "ALICE_SECRET"
    flex = { USD = 250000.0 }

    [[sim.instruments]]         # replaces the default instrument list when present
    symbol = "PF_SOLUSD"
    tick_size = 0.01
    precision = 2
    start_price = 150.0
"""

from __future__ import annotations

import msgspec

from common.config import ServiceSettings
from services.sim.engine.instruments import Instrument


class SimAccountSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``[sim.accounts.<name>]``: one funded account of the simulator.

    api_key_env / api_secret_env: names of the environment variables holding the API key and
        its base64 secret (never the values themselves). An account whose variables are unset
        is skipped with a warning.
    flex: multi-collateral holdings by currency (units of that currency), used by ``PF_``.
    margin: single-collateral margin accounts (``fi_xbtusd``) -> balance in the base currency,
        used by ``PI_``/``FI_``.
    cash: cash-account balances by lowercase currency (shown by ``accounts`` only).
    """

    api_key_env: str = "KRAKEN_FUTURES_API_KEY"
    api_secret_env: str = "KRAKEN_FUTURES_API_SECRET"
    flex: dict[str, float] = msgspec.field(default_factory=lambda: {"USD": 100_000.0})
    margin: dict[str, float] = msgspec.field(
        default_factory=lambda: {"fi_xbtusd": 10.0, "fi_ethusd": 100.0}
    )
    cash: dict[str, float] = msgspec.field(default_factory=lambda: {"usd": 0.0})


class InstrumentSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``[[sim.instruments]]``: one contract.

    symbol: ``PI_``/``FI_`` (inverse) or ``PF_``/``FF_`` (flexible) symbol.
    tick_size: price increment in USD. contract_size: multiplier (1).
    precision: ``contractValueTradePrecision`` (decimals of size; negative = multiples of 10^n).
    base: base currency (``XBT``, ``ETH``).
    start_price: initial fair price in USD.
    initial_margin / maintenance_margin: fractions of notional.
    max_position_size: largest position, in contracts.
    last_trading_time: ISO8601 expiry for a dated future, empty for perpetuals.
    tag: ticker tag (``perpetual``, ``month``, ``quarter``).
    level_size: typical background size per price level, in contracts.
    """

    symbol: str
    tick_size: float
    precision: int
    base: str
    start_price: float
    contract_size: float = 1.0
    initial_margin: float = 0.02
    maintenance_margin: float = 0.01
    max_position_size: float = 1_000_000.0
    last_trading_time: str = ""
    tag: str = "perpetual"
    level_size: float = 1.0

    def instrument(self) -> Instrument:
        sym = self.symbol.upper()
        return Instrument(
            symbol=sym, inverse=sym.startswith(("PI_", "FI_")), tick_size=self.tick_size,
            contract_size=self.contract_size, precision=self.precision, base=self.base.upper(),
            initial_margin=self.initial_margin, maintenance_margin=self.maintenance_margin,
            max_position_size=self.max_position_size, impact_mid_size=self.level_size,
            last_trading_time=self.last_trading_time or None, tag=self.tag,
            start_price=self.start_price,
        )


def default_instruments() -> list[InstrumentSettings]:
    """PI_XBTUSD, PF_XBTUSD, PF_ETHUSD and a quarterly FI_XBTUSD, with Kraken's specs."""
    return [
        InstrumentSettings(symbol="PI_XBTUSD", tick_size=0.5, precision=0, base="XBT",
                           start_price=60_000.0, max_position_size=75_000_000.0,
                           level_size=5_000.0),
        InstrumentSettings(symbol="PF_XBTUSD", tick_size=1.0, precision=4, base="XBT",
                           start_price=60_000.0, max_position_size=1_000.0, level_size=0.5),
        InstrumentSettings(symbol="PF_ETHUSD", tick_size=0.1, precision=3, base="ETH",
                           start_price=3_000.0, max_position_size=16_000.0, level_size=5.0),
        InstrumentSettings(symbol="FI_XBTUSD_261225", tick_size=0.5, precision=0, base="XBT",
                           start_price=60_500.0, max_position_size=75_000_000.0,
                           last_trading_time="2026-12-25T16:00:00.000Z", tag="quarter",
                           level_size=2_000.0),
    ]


class SimSettings(ServiceSettings, kw_only=True, forbid_unknown_fields=True):
    """``[sim]``.

    host / port: where REST (``/derivatives/api/v3``), WebSocket (``/ws/v1``) and the admin
        API (``/_sim/``) are served.
    tls_port: optional second listener with TLS for clients that insist on ``wss://``/
        ``https://`` (python-kraken-sdk's WebSocket client); 0 disables it.
    tls_cert_file / tls_key_file: PEM certificate and key for ``tls_port``.
    seed: seeds the synthetic market and all generated ids (same seed, same run).
    book_rate: background book messages per second over all symbols (0 = quiet market; a few
        for demos, 100 000+ for benchmarks).
    trade_rate: background trades per second over all symbols.
    tick_interval: seconds between market-generator steps (messages are generated in batches
        of ``book_rate * tick_interval``).
    max_step_messages: most book messages generated per step (keeps the event loop responsive
        when ``book_rate`` exceeds what the process can generate).
    depth: background price levels per side and symbol.
    volatility: random-walk step of the fair price per second, as a fraction (0.0005 = 5 bp).
    ticker_interval: seconds between ``ticker``/``ticker_lite`` messages (Kraken: 1).
    heartbeat_interval: seconds between ``heartbeat`` feed messages.
    maker_fee / taker_fee: fee rates, fractions of notional.
    self_trade: ``reject_taker`` or ``cancel_maker``.
    rate_budget / rate_window: REST token bucket per API key: ``rate_budget`` tokens refilled
        over ``rate_window`` seconds (Kraken: 500 per 10 s).
    nonce_tolerance: seconds during which nonces may arrive out of order per key.
    ws_max_message: largest accepted inbound WebSocket message, bytes (larger: error reply).
    ws_send_buffer_limit: bytes queued for one slow WebSocket client before it is dropped.
    private_order: who sees an order's result first: ``natural`` (WS update, then REST answer),
        ``ws_first`` (plus ``private_hold_ms`` delay of the REST answer) or ``rest_first`` (WS
        updates held until the REST answer was written, plus ``private_hold_ms``).
    private_hold_ms: milliseconds of the hold above.
    default_account: funding of the account of ``KRAKEN_FUTURES_API_KEY``/``_SECRET``.
    accounts: further funded accounts by name.
    instruments: the contracts (default: :func:`default_instruments`).
    replay_file: serve this recording to WebSocket clients instead of a live market.
    replay_instruments: recorded REST ``instruments`` answer to serve in replay mode.
    replay_speed: 0 = as fast as possible, 1 = recorded pace, 2 = twice as fast, ...
    """

    host: str = "127.0.0.1"
    port: int = 9800
    metrics_port: int = 9801
    tls_port: int = 0
    tls_cert_file: str = ""
    tls_key_file: str = ""
    seed: int = 1
    book_rate: float = 20.0
    trade_rate: float = 1.0
    tick_interval: float = 0.05
    max_step_messages: int = 20_000
    depth: int = 25
    volatility: float = 0.0005
    ticker_interval: float = 1.0
    heartbeat_interval: float = 5.0
    maker_fee: float = 0.0002
    taker_fee: float = 0.0005
    self_trade: str = "reject_taker"
    rate_budget: float = 500.0
    rate_window: float = 10.0
    nonce_tolerance: float = 1.0
    ws_max_message: int = 65_536
    ws_send_buffer_limit: int = 64 * 1024 * 1024
    private_order: str = "natural"
    private_hold_ms: int = 50
    default_account: SimAccountSettings = msgspec.field(default_factory=SimAccountSettings)
    accounts: dict[str, SimAccountSettings] = msgspec.field(default_factory=dict)
    instruments: list[InstrumentSettings] = msgspec.field(default_factory=default_instruments)
    replay_file: str = ""
    replay_instruments: str = ""
    replay_speed: float = 0.0
