"""Topic grammar of the bus (contract; described in proto/README.md).

Topics are dot-separated and end with a dot, so that a SUB prefix never matches a longer name
by accident (``md.kraken-futures.PF_XBTUSD.`` does not match ``PF_XBTUSDT``)::

    md.<exchange>.<symbol>.<kind>.     kind: refdata status tob mbp trade stats
    oms.<exchange>.<account>.<kind>.   kind: order trade position funds request ack
    sys.<service>.<kind>.              kind: heartbeat stream gateway download
"""

from __future__ import annotations

MD_KINDS = ("refdata", "status", "tob", "mbp", "trade", "stats")
OMS_KINDS = ("order", "trade", "position", "funds", "request", "ack")
SYS_KINDS = ("heartbeat", "stream", "gateway", "download")
PRIVATE_ROOT = "oms."


def _check_part(part: str) -> str:
    if not part or "." in part or " " in part:
        raise ValueError(f"invalid topic part {part!r}")
    return part


def md(exchange: str, symbol: str, kind: str) -> str:
    """Market-data topic, e.g. ``md.kraken-futures.PF_XBTUSD.mbp.``."""
    return f"md.{_check_part(exchange)}.{_check_part(symbol)}.{_check_part(kind)}."


def oms(exchange: str, account: str, kind: str) -> str:
    """Order/account topic, e.g. ``oms.kraken-futures.main.order.``."""
    return f"oms.{_check_part(exchange)}.{_check_part(account)}.{_check_part(kind)}."


def sys(service: str, kind: str) -> str:
    """Service topic, e.g. ``sys.feed.heartbeat.``."""
    return f"sys.{_check_part(service)}.{_check_part(kind)}."


def heartbeat(service: str) -> str:
    return sys(service, "heartbeat")


def is_private(topic: str) -> bool:
    """Private topics (orders, fills, positions, funds, requests) are kept apart by the
    event log so that access to them can differ from market data."""
    return topic.startswith(PRIVATE_ROOT)


def parts(topic: str) -> list[str]:
    """The parts of a topic without the trailing empty one."""
    return topic.rstrip(".").split(".")
