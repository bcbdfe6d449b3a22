"""``kgw dropcopy``: run the drop-copy listener."""

from __future__ import annotations

import click

from common import config
from common.runtime import ServiceContext, run_configured
from services.cli import config_option
from services.dropcopy.settings import DropcopySettings


@click.command("dropcopy")
@config_option
def command(config_file: str | None) -> None:
    """Run the drop-copy listener: Kraken private feeds of each [dropcopy].accounts entry in,
    OrderUpdate / TradeUpdate / PositionUpdate / FundsUpdate out on the bus (PUB
    [bus].dropcopy_pub), account-state download service on [bus].dropcopy_download."""
    try:
        cfg = config.load(config_file)
        settings = cfg.service("dropcopy", DropcopySettings)
        for account in settings.accounts:
            config.account_credentials(cfg, account)  # fail now if a key or secret is missing
    except config.ConfigError as e:
        raise click.ClickException(str(e)) from None

    async def main(ctx: ServiceContext) -> None:
        from services.dropcopy.app import main as dropcopy_main

        await dropcopy_main(ctx, cfg, settings)

    run_configured("dropcopy", main, settings)
