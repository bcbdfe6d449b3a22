"""Prometheus metrics of the drop-copy listener (label ``account``). The WebSocket itself is
measured by :mod:`common.kraken.stream` (label ``stream`` = ``private-<account>``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import prometheus_client
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from common.oms.account_state import AccountState

FRAMES = prometheus_client.Counter(
    "kgw_dropcopy_frames_total", "Private feed frames handled, per account and feed", ["account", "feed"]
)
PUBLISHED = prometheus_client.Counter(
    "kgw_dropcopy_published_total", "Account messages published, per account and kind", ["account", "kind"]
)
CHALLENGES = prometheus_client.Counter(
    "kgw_dropcopy_challenges_total", "Challenges requested (one per connection), per account", ["account"]
)
LOGIN_FAILURES = prometheus_client.Counter(
    "kgw_dropcopy_login_failures_total", "Logins refused or timed out, per account and reason", ["account", "reason"]
)
DOWNLOADS = prometheus_client.Counter(
    "kgw_dropcopy_downloads_total", "Downloads completed (account READY), per account", ["account"]
)
RECONCILE_FAILURES = prometheus_client.Counter(
    "kgw_dropcopy_reconcile_failures_total",
    "REST reconciliation calls that failed, per account and endpoint",
    ["account", "endpoint"],
)
DOWNLOAD_REQUESTS = prometheus_client.Counter(
    "kgw_dropcopy_download_requests_total", "Download-service requests answered", []
)


class _StateCollector(Collector):
    """Exports the counters kept by each account's sans-I/O state at scrape time."""

    def __init__(self) -> None:
        self.states: dict[str, AccountState] = {}

    def collect(self) -> Iterator[CounterMetricFamily]:
        dup = CounterMetricFamily(
            "kgw_dropcopy_duplicate_fills", "Fills seen again and not republished, per account", labels=["account"]
        )
        inferred = CounterMetricFamily(
            "kgw_dropcopy_inferred_closes",
            "Orders found closed after a reconnect with no event saying why, per account",
            labels=["account"],
        )
        unknown = CounterMetricFamily(
            "kgw_dropcopy_unknown_order_closes", "Cancels of orders never seen, per account", labels=["account"]
        )
        for name, s in self.states.items():
            dup.add_metric([name], s.counters.duplicate_fills)
            inferred.add_metric([name], s.counters.inferred_closes)
            unknown.add_metric([name], s.counters.unknown_closes)
        yield dup
        yield inferred
        yield unknown


STATES = _StateCollector()
prometheus_client.REGISTRY.register(STATES)
