"""Prometheus metrics of the router (served on ``/metrics``)."""

from __future__ import annotations

import prometheus_client

REQUESTS = prometheus_client.Counter("kgw_router_requests_total", "Client requests received", ["type"])
ACKS = prometheus_client.Counter("kgw_router_acks_total", "Acks sent", ["status", "error"])
RATE_LIMITED = prometheus_client.Counter(
    "kgw_router_rate_limited_total", "Requests refused by the rate budget", ["account"]
)
BATCHED = prometheus_client.Counter("kgw_router_batched_total", "Requests sent inside a batchorder")
REST_LATENCY = prometheus_client.Histogram(
    "kgw_router_rest_seconds", "Kraken REST call duration", ["endpoint"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10),
)
DMS = prometheus_client.Counter("kgw_router_dms_refresh_total", "Dead man's switch refreshes", ["account", "ok"])
CLIENTS_GONE = prometheus_client.Counter("kgw_router_clients_gone_total", "Clients declared gone")
CURVE_DENIED = prometheus_client.Counter("kgw_router_curve_denied_total", "CURVE handshakes refused (unknown key)")
UPDATES_ROUTED = prometheus_client.Counter(
    "kgw_router_updates_routed_total", "Drop-copy updates routed to their client", ["type"]
)
READY = prometheus_client.Gauge("kgw_router_account_ready", "1 when the account accepts orders", ["account"])
RESYNCS = prometheus_client.Counter(
    "kgw_router_resyncs_total", "Resynchronizations with the drop-copy download service", ["result"]
)
DUPLICATES = prometheus_client.Counter(
    "kgw_router_updates_duplicate_total", "Drop-copy updates not forwarded: already forwarded or older", ["type"]
)
RECOVERED = prometheus_client.Counter(
    "kgw_router_updates_recovered_total", "Updates forwarded from a resynchronization (download or REST)", ["source"]
)
