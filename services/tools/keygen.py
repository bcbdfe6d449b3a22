"""``kgw keygen``: a CURVE key pair for a router client (or for the router itself).

Prints the public key (safe to put in config: ``[router.users.<name>] curve_public_key``)
and the secret key (for the client's environment only, never a file in the repository)."""

from __future__ import annotations

import click
import zmq


@click.command("keygen")
@click.option("--name", default="alice", show_default=True, help="User name to print in the config snippet.")
@click.option("--server", is_flag=True, help="Print the snippet for the router's own key pair.")
def command(name: str, server: bool) -> None:
    """Generate a CURVE key pair (Z85) and print where each half goes."""
    public, secret = zmq.curve_keypair()
    pub, sec = public.decode(), secret.decode()
    if server:
        click.echo(f'# config: [router]\ncurve_public_key = "{pub}"')
        click.echo(f"# environment of the router process only:\nKGW_ROUTER_CURVE_SECRET={sec}")
    else:
        click.echo(f'# config: [router.users.{name}]\ncurve_public_key = "{pub}"')
        click.echo(f"# the client's own secret (keep it out of files you share):\nsecret_key = {sec}")
