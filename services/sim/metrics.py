"""Prometheus metrics of the simulator (served on ``metrics_port`` by common.runtime)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

WS_CONNECTIONS = Gauge("sim_ws_connections", "Open WebSocket connections")
WS_CONNECTS = Counter("sim_ws_connects_total", "WebSocket connections accepted")
WS_MESSAGES = Counter("sim_ws_messages_sent_total", "WebSocket messages sent", ["feed"])
WS_BYTES = Counter("sim_ws_bytes_sent_total", "WebSocket bytes written")
WS_DROPPED = Counter("sim_ws_slow_client_drops_total", "Connections dropped for falling behind")
WS_ERRORS = Counter("sim_ws_errors_total", "error/alert replies to WebSocket requests",
                    ["message"])
REST_REQUESTS = Counter("sim_rest_requests_total", "REST requests", ["endpoint"])
REST_ERRORS = Counter("sim_rest_errors_total", "REST error envelopes", ["error"])
REJECTS = Counter("sim_order_rejects_total", "Order rejections by status", ["status"])
FAULTS = Counter("sim_faults_injected_total", "Faults injected", ["kind"])
