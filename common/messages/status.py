"""Service and connection status (topics ``sys.<service>.<kind>.``)."""

from __future__ import annotations

from .enums import ConnectionStatus
from .header import Message


class Heartbeat(Message, kw_only=True):
    """Liveness (topic ``sys.<service>.heartbeat.``), at least once a second. On a DEALER
    socket a client sends it to the router, which echoes it. interval_ms: the sender's
    heartbeat period."""

    service: str
    interval_ms: int = 1000


class StreamStatus(Message, kw_only=True):
    """State of one exchange connection (topic ``sys.<service>.stream.``), on every change.
    stream names the connection (e.g. ``public-0``, ``private-main``)."""

    service: str
    stream: str
    account: str | None = None
    connection_status: ConnectionStatus
    text: str = ""


class GatewayStatus(Message, kw_only=True):
    """Readiness of a whole service (topic ``sys.<service>.gateway.``): ready when every
    stream it needs is READY."""

    service: str
    ready: bool
    text: str = ""


class DownloadBegin(Message, kw_only=True):
    """Start of a state download (snapshot updates follow) for an account or for market data
    (account null)."""

    service: str
    account: str | None = None


class DownloadEnd(Message, kw_only=True):
    """End of a state download started by DownloadBegin."""

    service: str
    account: str | None = None
