"""FeedApp wiring with plain calls: symbols split across connections, instruments refreshes that
add and remove symbols, GatewayStatus. No exchange is reachable here: the connections keep
retrying in the background, which is what they must do."""

from __future__ import annotations

from pathlib import Path

import msgspec

from common import config
from common.kraken.instruments import Instrument
from common.messages import GatewayStatus, MarketStatus, ReferenceData, TradingStatus
from services.feed.app import FeedApp
from services.feed.settings import FeedSettings
from tests.support.processes import free_port


def instrument(symbol: str, tradeable: bool = True, kind: str = "flexible_futures") -> Instrument:
    return msgspec.convert({"symbol": symbol, "type": kind, "tradeable": tradeable, "tickSize": 0.5}, Instrument)


async def test_symbols_split_across_connections_and_refresh_adds_and_closes(tmp_path: Path) -> None:
    path = tmp_path / "kgw.toml"
    path.write_text(
        f'[gateway]\nws_url = "ws://127.0.0.1:{free_port()}/ws/v1"\n'
        f'[bus]\nfeed_pub = "tcp://127.0.0.1:{free_port()}"\nfeed_snapshot = "tcp://127.0.0.1:{free_port()}"\n'
    )
    cfg = config.load(path)
    settings = msgspec.convert({"max_subscriptions_per_stream": 2, "exclude": ["^pf_skip"]}, FeedSettings)
    app = FeedApp(cfg, settings)
    published: list[tuple[str, object]] = []

    def capture(topic: str, msg: object) -> bool:
        published.append((topic, msg))
        return True

    app.publisher.publish = capture  # type: ignore[method-assign]
    app.market.emit = capture
    try:
        first = [instrument(s) for s in ("pf_aaausd", "PF_BBBUSD", "PF_CCCUSD", "PF_SKIPUSD", "PF_DDDUSD")]
        first += [instrument("in_xbtusd", False, "spot index"), instrument("FI_OLD_210101", False, "futures_inverse")]
        app.apply_instruments(first, 1)
        assert [s.products for s in app.streams] == [["PF_AAAUSD", "PF_BBBUSD"], ["PF_CCCUSD", "PF_DDDUSD"]]
        refdata = {m.symbol for _, m in published if isinstance(m, ReferenceData)}
        assert refdata == {"PF_AAAUSD", "PF_BBBUSD", "PF_CCCUSD", "PF_DDDUSD", "IN_XBTUSD", "FI_OLD_210101"}
        status = {m.symbol: m.trading_status for _, m in published if isinstance(m, MarketStatus)}
        assert status["FI_OLD_210101"] == TradingStatus.CLOSED and status["PF_AAAUSD"] == TradingStatus.OPEN
        gateway = [m for _, m in published if isinstance(m, GatewayStatus)]
        assert gateway and not gateway[-1].ready  # connections are not READY
        published.clear()
        second = [instrument(s) for s in ("PF_AAAUSD", "PF_BBBUSD", "PF_CCCUSD", "PF_EEEUSD")]
        app.apply_instruments(second, 2)
        assert [s.products for s in app.streams][-1] == ["PF_EEEUSD"] and len(app.streams) == 3
        changes = {m.symbol: m.trading_status for _, m in published if isinstance(m, MarketStatus)}
        assert changes == {"PF_DDDUSD": TradingStatus.CLOSED, "PF_EEEUSD": TradingStatus.OPEN}
        assert [m.symbol for _, m in published if isinstance(m, ReferenceData)] == ["PF_EEEUSD"]
    finally:
        await app.close()
