"""``kgw feed``: run the market-data feed handler."""

from __future__ import annotations

import click
import msgspec

from common import config
from common.runtime import ServiceContext, run_configured
from services.cli import config_option
from services.feed.settings import FeedSettings


@click.command("feed")
@config_option
@click.option(
    "--record-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Record raw Kraken frames into this directory (default: [feed].record_dir; empty = off).",
)
def command(config_file: str | None, record_dir: str | None) -> None:
    """Run the market-data feed handler: Kraken public feeds in, normalized market data out on
    the bus (PUB [bus].feed_pub), snapshot service on [bus].feed_snapshot."""
    try:
        cfg = config.load(config_file)
        settings = cfg.service("feed", FeedSettings)
    except config.ConfigError as e:
        raise click.ClickException(str(e)) from None
    if record_dir is not None:
        settings = msgspec.structs.replace(settings, record_dir=record_dir)

    async def main(ctx: ServiceContext) -> None:
        from services.feed.app import main as feed_main

        await feed_main(ctx, cfg, settings)

    run_configured("feed", main, settings)
