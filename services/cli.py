"""``kgw``: one entry point, a subcommand per process and per tool.

Subcommands are imported lazily (only the one being run is imported), so ``kgw --help`` is
fast and a tool never pays for a service's imports.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

#: subcommand -> "module:attribute" of its click command
COMMANDS: dict[str, tuple[str, str]] = {
    "sim": ("services.sim.cli:command", "Run the Kraken Futures simulator (REST + WebSocket)."),
    "feed": ("services.feed.cli:command", "Run the market-data feed handler."),
    "router": ("services.router.cli:command", "Run the order-entry router."),
    "dropcopy": ("services.dropcopy.cli:command", "Run the drop-copy listener."),
    "eventlog": ("services.eventlog.cli:command", "Run the event-log writer."),
    "log": ("services.eventlog.tools:command", "Read, verify and replay event logs."),
    "tail": ("services.tools.tail:command", "Print live bus messages for a topic prefix."),
    "keygen": ("services.tools.keygen:command", "Generate a CURVE key pair for a router client."),
    "book": ("services.tools.book:command", "Live view of a book's top levels and last trades."),
    "order": ("services.tools.order:command", "Send create/modify/cancel/cancel-all and print the answers."),
    "status": ("services.tools.status:command", "Every service's readiness, heartbeats, lag and streams."),
    "env-init": ("services.tools.envinit:command", "Write a .env with fresh simulator credentials."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr = entry[0].split(":")
        cmd = getattr(importlib.import_module(module_name), attr)
        if not isinstance(cmd, click.Command):
            raise click.ClickException(f"{entry[0]} is not a click command")
        return cmd

    def format_commands(self, ctx: click.Context, formatter: Any) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kraken-gateway")
def main() -> None:
    """kraken-gateway: Kraken Futures connectivity on a ZeroMQ bus."""


config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML config file (default: $KGW_CONFIG, else deploy/config/sim.toml).",
)


if __name__ == "__main__":
    main()
