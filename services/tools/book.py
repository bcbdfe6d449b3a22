"""``kgw book SYMBOL``: a live view of a book's top levels and last trades, redrawn in place.

Uses the client library's Clone pattern, so what it shows is the feed's book: a STALE or
resynchronizing book is shown as such, never as if it were good. ``--once`` prints one
consistent view (after the first snapshot) and exits, for scripts.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime

import click

from common import config
from common.client import MarketData, UpdateKind
from services.cli import config_option

CLEAR = "\x1b[H\x1b[2J"


def render(md: MarketData, symbol: str, depth: int) -> str:
    """The text of one view of ``symbol``."""
    book = md.books[symbol]
    lines = [f"{symbol}  {md.exchange}  seq {book.seq}  " + ("STALE / resyncing" if symbol in md.stale else "live")]
    st = md.stats.get(symbol)
    if st is not None:
        lines.append(f"mark {st.settlement_price}  index {st.index_price}  funding {st.relative_funding_rate}")
    lines.append(f"{'bid qty':>14} {'bid':>12} | {'ask':<12} {'ask qty':<14}")
    bids, asks = book.bids.depth(depth), book.asks.depth(depth)
    for i in range(max(len(bids), len(asks), 1)):
        b = f"{bids[i][1]:>14g} {bids[i][0]:>12g}" if i < len(bids) else " " * 27
        a = f"{asks[i][0]:<12g} {asks[i][1]:<14g}" if i < len(asks) else ""
        lines.append(f"{b} | {a}")
    trades = list(md.trades.get(symbol, []))[-5:]
    if trades:
        lines.append("last trades:")
        for t in reversed(trades):
            ts = datetime.fromtimestamp(t.exchange_time / 1e9, UTC).strftime("%H:%M:%S.%f")[:-3]
            lines.append(f"  {ts} {t.side.value:<4} {t.quantity:g} @ {t.price:g}")
    return "\n".join(lines)


async def run(md: MarketData, symbol: str, depth: int, once: bool, seconds: float, interval: float) -> int:
    await md.start()
    deadline = time.monotonic() + seconds if seconds > 0 else None
    last = 0.0
    try:
        async with asyncio.timeout(seconds if seconds > 0 else None):
            async for update in md.updates():
                if update.kind is UpdateKind.SYNCED and symbol in md.unpublished:
                    print(f"the feed publishes nothing for {symbol}: not a symbol it knows, or not among "
                          "its configured symbols ([feed] symbols), or it is still starting", file=sys.stderr)
                    return 1
                if once:
                    if symbol not in md.stale:
                        print(render(md, symbol, depth))
                        return 0
                    continue
                now = time.monotonic()
                if now - last >= interval:
                    last = now
                    sys.stdout.write(CLEAR + render(md, symbol, depth) + "\n")
                    sys.stdout.flush()
                if deadline is not None and now > deadline:
                    return 0
    except TimeoutError:
        if once:
            print(f"no consistent book for {symbol} within {seconds}s", file=sys.stderr)
            return 1
    finally:
        await md.close()
    return 0


@click.command("book")
@click.argument("symbol")
@config_option
@click.option("--depth", type=int, default=10, show_default=True, help="Levels shown per side.")
@click.option("--once", is_flag=True, help="Print one consistent view and exit.")
@click.option("--seconds", type=float, default=0.0, help="Stop after this many seconds (0 = never; --once: 10).")
@click.option("--interval", type=float, default=0.2, show_default=True, help="Seconds between redraws.")
def command(symbol: str, config_file: str | None, depth: int, once: bool, seconds: float, interval: float) -> None:
    """Live view of SYMBOL's book (top levels and last trades)."""
    try:
        cfg = config.load(config_file)
    except config.ConfigError as e:
        raise click.ClickException(str(e)) from None
    symbol = symbol.upper()
    md = MarketData(
        [symbol], pub_endpoint=cfg.bus.feed_pub, snapshot_endpoint=cfg.bus.feed_snapshot, exchange=cfg.gateway.exchange
    )
    if once and seconds <= 0:
        seconds = 10.0
    try:
        code = asyncio.run(run(md, symbol, depth, once, seconds, interval))
    except KeyboardInterrupt:
        code = 0
    sys.exit(code)
