"""``kgw sim``: run the Kraken Futures simulator (REST + WebSocket on one port)."""

from __future__ import annotations

from typing import Any

import click
import msgspec

from common import config
from common.runtime import ServiceContext, run_configured
from services.cli import config_option
from services.sim.faults import PRIVATE_ORDERS
from services.sim.settings import SimSettings


@click.command("sim")
@config_option
@click.option("--host", default=None, help="Listen address (default: [sim].host).")
@click.option("--port", type=int, default=None, help="REST+WebSocket port (default: [sim].port).")
@click.option("--seed", type=int, default=None, help="Market and id seed.")
@click.option("--book-rate", type=float, default=None,
              help="Background book messages per second, all symbols.")
@click.option("--trade-rate", type=float, default=None, help="Background trades per second.")
@click.option("--replay", "replay_file", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Serve this recorded WebSocket session instead of a market.")
@click.option("--replay-instruments", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Recorded REST instruments answer to serve while replaying.")
@click.option("--replay-speed", type=float, default=None,
              help="0 = as fast as possible, 1 = recorded pace, 2 = twice as fast.")
@click.option("--private-order", type=click.Choice(PRIVATE_ORDERS), default=None,
              help="Order of private WS updates vs REST answers.")
@click.option("--private-hold-ms", type=int, default=None, help="Hold for --private-order.")
@click.option("--tls-port", type=int, default=None, help="Extra TLS listener (0 = off).")
def command(config_file: str | None, **overrides: Any) -> None:
    """Run the Kraken Futures simulator: REST v3 under /derivatives/api/v3, WebSocket v1 at
    /ws/v1, admin and fault injection under /_sim/."""
    try:
        settings = config.load(config_file).service("sim", SimSettings)
    except config.ConfigError as e:
        raise click.ClickException(str(e)) from None
    changes = {k: v for k, v in overrides.items() if v is not None}
    if changes:
        settings = msgspec.structs.replace(settings, **changes)

    async def main(ctx: ServiceContext) -> None:
        from services.sim.server import serve

        await serve(settings, ctx)

    run_configured("sim", main, settings)
