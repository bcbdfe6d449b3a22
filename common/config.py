"""Configuration: one TOML file, typed sections, secrets from the environment only.

Every process reads the same file (``--config`` or ``$KGW_CONFIG``; default
``deploy/config/sim.toml``, which targets the simulator). Each service owns the typed
schema of its own section (``services/<name>/settings.py``); this module owns the sections
every process shares: ``[gateway]`` (which exchange, its URLs), ``[bus]`` (the socket map) and
``[accounts.<name>]`` (which environment variables hold each account's API key and secret).

Errors are :class:`ConfigError` and always name the file and the key, e.g.::

    deploy/config/sim.toml: [feed] Expected `int`, got `str` - at `$.max_subscriptions_per_stream`

API keys and secrets are never read from the file: an account names the environment variables
that hold them, and :func:`account_credentials` reads those (``KRAKEN_FUTURES_API_KEY`` /
``KRAKEN_FUTURES_API_SECRET`` by default).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / "deploy" / "config" / "sim.toml"
CONFIG_ENV = "KGW_CONFIG"


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the file and the key."""


class GatewaySettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``[gateway]``: which Kraken the gateway talks to.

    exchange: exchange name used in topics (``md.<exchange>.<symbol>.<kind>.``).
    rest_url: base URL of Kraken Futures REST v3, ending in ``/derivatives/api/v3``.
    ws_url: Kraken Futures WebSocket v1 URL.
    """

    exchange: str = "kraken-futures"
    rest_url: str = "http://127.0.0.1:9800/derivatives/api/v3"
    ws_url: str = "ws://127.0.0.1:9800/ws/v1"


class BusSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``[bus]``: the socket map. Each endpoint is bound by its owner and connected to by others.

    feed_pub: market-data PUB (feed binds).
    feed_snapshot: snapshot service ROUTER (feed binds).
    router_orders: order-entry ROUTER for client DEALERs (router binds).
    router_pub: PUB of every order request and ack (router binds).
    dropcopy_pub: PUB of order/trade/position/funds updates (dropcopy binds).
    dropcopy_download: account-state download ROUTER (dropcopy binds).
    sndhwm / rcvhwm: ZeroMQ high-water marks in messages, chosen on purpose (drops are counted).
    heartbeat_interval: seconds between publisher heartbeats (contract: at most 1.0).
    heartbeat_timeout: seconds of silence after which a subscriber declares a publisher dead.
    """

    feed_pub: str = "tcp://127.0.0.1:9810"
    feed_snapshot: str = "tcp://127.0.0.1:9811"
    router_orders: str = "tcp://127.0.0.1:9820"
    router_pub: str = "tcp://127.0.0.1:9821"
    dropcopy_pub: str = "tcp://127.0.0.1:9830"
    dropcopy_download: str = "tcp://127.0.0.1:9831"
    sndhwm: int = 1_000_000
    rcvhwm: int = 1_000_000
    heartbeat_interval: float = 0.5
    heartbeat_timeout: float = 3.0

    def publishers(self) -> dict[str, str]:
        """Every PUB endpoint of the gateway, by service name."""
        return {"feed": self.feed_pub, "router": self.router_pub, "dropcopy": self.dropcopy_pub}


class AccountSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``[accounts.<name>]``: one Kraken Futures account.

    api_key_env / api_secret_env: names of the environment variables holding the key and the
    base64 secret. The values themselves never live in a file.
    """

    api_key_env: str = "KRAKEN_FUTURES_API_KEY"
    api_secret_env: str = "KRAKEN_FUTURES_API_SECRET"


class ServiceSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields every service section has.

    metrics_host / metrics_port: where ``/metrics`` (Prometheus) and ``/health`` are served;
    port 0 disables the endpoint.
    log_level: ``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``.
    """

    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    log_level: str = "INFO"


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: the argument, else ``$KGW_CONFIG``, else the simulator default."""
    chosen = path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG
    return Path(chosen)


def load_document(path: str | os.PathLike[str] | None = None) -> tuple[Path, dict[str, Any]]:
    """Read and parse the TOML file; a missing or malformed file is a :class:`ConfigError`."""
    p = config_path(path)
    try:
        with p.open("rb") as f:
            return p, tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found (set --config or ${CONFIG_ENV})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: invalid TOML: {e}") from None


def section(doc: dict[str, Any], name: str, type_: type[T], path: Path | str) -> T:
    """Convert section ``[name]`` of a parsed document to ``type_`` (defaults where absent)."""
    raw = doc.get(name, {})
    try:
        return msgspec.convert(raw, type_)
    except msgspec.ValidationError as e:
        raise ConfigError(f"{path}: [{name}] {e}") from None


class Config(msgspec.Struct, kw_only=True):
    """The shared sections plus the raw document, from which services take their own section."""

    path: Path
    gateway: GatewaySettings
    bus: BusSettings
    accounts: dict[str, AccountSettings]
    document: dict[str, Any]

    def service(self, name: str, type_: type[T]) -> T:
        """Typed settings of service section ``[name]``."""
        return section(self.document, name, type_, self.path)


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the config file; every error names the file and the key."""
    p, doc = load_document(path)
    return Config(
        path=p,
        gateway=section(doc, "gateway", GatewaySettings, p),
        bus=section(doc, "bus", BusSettings, p),
        accounts=section(doc, "accounts", dict[str, AccountSettings], p),
        document=doc,
    )


def env_secret(var: str, *, what: str) -> str:
    """Read a secret from environment variable ``var``; missing is a :class:`ConfigError`."""
    value = os.environ.get(var, "")
    if not value:
        raise ConfigError(f"environment variable {var} is not set ({what})")
    return value


def account_credentials(config: Config, account: str) -> tuple[str, str]:
    """``(api_key, api_secret)`` of a configured account, read from the environment."""
    try:
        acct = config.accounts[account]
    except KeyError:
        raise ConfigError(f"{config.path}: [accounts.{account}] is not configured") from None
    key = env_secret(acct.api_key_env, what=f"API key of account {account!r}")
    secret = env_secret(acct.api_secret_env, what=f"API secret of account {account!r}")
    return key, secret
