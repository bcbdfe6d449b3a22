"""``kgw env-init``: write a ``.env`` for honcho with fresh random simulator credentials.

The simulator funds whatever key ``KRAKEN_FUTURES_API_KEY`` / ``KRAKEN_FUTURES_API_SECRET``
hold, and the gateway signs with the same variables, so one fresh pair makes the demo stack work
with nothing stored in the repository. An existing ``.env`` is left alone unless ``--force``.
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import click

from common.config import REPO_ROOT


def fresh_credentials() -> tuple[str, str]:
    """A random API key and base64 secret, shaped like Kraken's (56- and 88-character base64)."""
    key = base64.b64encode(secrets.token_bytes(42)).decode()
    secret = base64.b64encode(secrets.token_bytes(64)).decode()
    return key, secret


def fresh_env(template: str) -> str:
    """``template`` (the text of .env.example) with empty credentials filled with random ones."""
    key, secret = fresh_credentials()
    out = []
    for line in template.splitlines():
        if line.strip() == "KRAKEN_FUTURES_API_KEY=":
            line = f"KRAKEN_FUTURES_API_KEY={key}"
        elif line.strip() == "KRAKEN_FUTURES_API_SECRET=":
            line = f"KRAKEN_FUTURES_API_SECRET={secret}"
        out.append(line)
    return "\n".join(out) + "\n"


@click.command("env-init")
@click.option("--path", "path", type=click.Path(dir_okay=False, path_type=Path), default=Path(".env"))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def command(path: Path, force: bool) -> None:
    """Write a .env with fresh simulator credentials (kept if it exists)."""
    if path.exists() and not force:
        click.echo(f"{path} exists; kept (use --force to replace)")
        return
    template = (REPO_ROOT / ".env.example").read_text()
    path.write_text(fresh_env(template))
    path.chmod(0o600)
    click.echo(f"wrote {path} with fresh simulator credentials")
