"""``kgw eventlog``: run the event-log writer (settings: ``[eventlog]``, services/eventlog/settings.py)."""

from __future__ import annotations

import click

from common import config
from common.runtime import ServiceContext, run_configured
from services.cli import config_option

from .settings import Settings


@click.command("eventlog")
@config_option
@click.option("--directory", default=None, help="Log directory (overrides [eventlog] directory).")
def command(config_file: str | None, directory: str | None) -> None:
    """Record every message of every bus publisher to a durable, replayable log."""
    try:
        cfg = config.load(config_file)
        settings = cfg.service("eventlog", Settings)
    except config.ConfigError as e:
        raise click.ClickException(str(e)) from None
    if directory:
        settings.directory = directory

    from .service import EventLogService

    async def main(ctx: ServiceContext) -> None:
        await EventLogService(cfg, settings).run(ctx)

    run_configured("eventlog", main, settings)
