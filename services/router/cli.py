"""``kgw router``: run the order-entry router."""

from __future__ import annotations

import asyncio
import contextlib
import os

import click

from common import config
from common.runtime import ServiceContext, run_configured
from services.cli import config_option
from services.router.settings import RouterSettings


@click.command("router")
@config_option
def command(config_file: str | None) -> None:
    """Run the order-entry router: client DEALERs on bus.router_orders, Kraken REST out,
    every request and ack on bus.router_pub."""
    from services.router.app import Router, check_endpoint, curve_secret_from_env

    try:
        cfg = config.load(config_file)
        settings = cfg.service("router", RouterSettings)
        check_endpoint(settings, cfg.bus.router_orders)
        curve_secret = curve_secret_from_env(settings, dict(os.environ))
        accounts = sorted({a for u in settings.users.values() for a in u.accounts} & set(cfg.accounts))
        credentials = {a: config.account_credentials(cfg, a) for a in accounts}
    except (config.ConfigError, ValueError) as e:
        raise click.ClickException(str(e)) from None

    async def main(ctx: ServiceContext) -> None:
        router = Router(cfg, settings, credentials, curve_secret)
        await router.start(ctx)
        try:
            while not ctx.stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ctx.stopping.wait(), 1.0)
                ctx.details["latency"] = router.latency_figures()
        finally:
            await router.close()

    run_configured("router", main, settings)
