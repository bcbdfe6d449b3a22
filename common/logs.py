"""JSON log lines on stdout, one object per line, flushed per line (honcho reads a pipe).

Every line carries ``ts`` (ISO-8601 UTC), ``level``, ``service``, ``logger`` and ``msg``; extra
fields passed as ``logger.info("msg", extra={"fields": {...}})`` are merged in. Secrets must
never be logged: pass identifiers (account names, key prefixes), never keys or signatures.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="microseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def setup(service: str, level: str = "INFO") -> None:
    """Route the root logger to stdout as JSON lines, line-buffered."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(line_buffering=True)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log is noise at INFO on a metrics endpoint
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
