"""Request parameters the way Kraken reads them, from every encoding real clients use.

Kraken quirk (protocol reference 1.1): parameters arrive in the query string (ccxt, GETs), in a
form body (python-kraken-sdk, nautilus), or both; ``batchorder`` carries ``json=<JSON>`` either
raw (ccxt, nautilus, Kraken's own sample) or url-encoded (python-kraken-sdk); booleans are
``true``/``True``; arrays are repeated keys (``orderIds=a&orderIds=b``).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import orjson


class ParamError(Exception):
    """A parameter is missing or malformed; ``code`` is Kraken's error string."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse(query: str, body: str) -> dict[str, list[str]]:
    """Merge query-string and form-body parameters (body last); values keep their order."""
    out: dict[str, list[str]] = {}
    for part in (query, body):
        if not part or part.startswith("json="):
            continue
        for k, v in parse_qsl(part, keep_blank_values=True):
            out.setdefault(k, []).append(v)
    return out


def batch_json(query: str, body: str) -> Any:
    """The ``json`` parameter of ``batchorder``, raw or url-encoded, from body or query."""
    for part in (body, query):
        if not part:
            continue
        raw = part
        if not raw.startswith("json="):
            idx = raw.find("json=")
            if idx < 0:
                continue
            raw = raw[idx:]
        text = raw[len("json="):]
        for candidate in (text, unquote_plus(text)):
            try:
                return orjson.loads(candidate)
            except orjson.JSONDecodeError:
                continue
        raise ParamError("Json Parse Error")
    raise ParamError("requiredArgumentMissing")


def first(params: dict[str, list[str]], name: str) -> str | None:
    vals = params.get(name)
    return vals[0] if vals else None


def required(params: dict[str, list[str]], name: str) -> str:
    v = first(params, name)
    if v is None or v == "":
        raise ParamError("requiredArgumentMissing")
    return v


def number(value: object, *, name: str = "") -> float:
    """A decimal parameter (string or JSON number); ``invalidArgument`` when not a number."""
    if isinstance(value, bool):
        raise ParamError(f"invalidArgument: {name}" if name else "invalidArgument")
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ParamError(f"invalidArgument: {name}" if name else "invalidArgument") from None
    if not math.isfinite(f):
        raise ParamError(f"invalidArgument: {name}" if name else "invalidArgument")
    return f


def optional_number(value: object, name: str) -> float | None:
    return None if value is None or value == "" else number(value, name=name)


def boolean(value: object) -> bool:
    """``true``/``True``/``1`` and JSON true are true; anything else is false."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1")
