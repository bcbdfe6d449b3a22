"""Generate ``proto/messages.schema.json`` (JSON Schema 2020-12) from the message types.

    python -m common.messages.schema            # rewrite proto/messages.schema.json
    python -m common.messages.schema --check    # exit 1 if proto/ is out of date

The committed file is what clients in other languages read; tests fail when it differs from
what the types generate, so a change to the contract is always a deliberate change to proto/.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

import msgspec
import orjson

from . import MESSAGE_TYPES

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "proto" / "messages.schema.json"
SCHEMA_ID = "https://kraken-gateway.invalid/proto/messages.schema.json"


def generate() -> dict[str, Any]:
    """The schema document: ``oneOf`` every message, each defined under ``$defs``."""
    refs, components = msgspec.json.schema_components(MESSAGE_TYPES, ref_template="#/$defs/{name}")
    # msgspec copies docstrings into descriptions; recent releases dedent them, older ones did
    # not. Clean them here so the committed file does not depend on the installed msgspec.
    for component in components.values():
        if "description" in component:
            component["description"] = inspect.cleandoc(component["description"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "kraken-gateway bus and request messages",
        "description": (
            "Every payload on the kraken-gateway bus (PUB frames and ROUTER/DEALER replies) is one "
            "JSON object valid against exactly one of these definitions; its `type` field names it. "
            "Prices and quantities are JSON numbers; times are integer nanoseconds since the epoch. "
            "Generated from common/messages by `python -m common.messages.schema`."
        ),
        "oneOf": refs,
        "$defs": dict(sorted(components.items())),
    }


def render() -> bytes:
    return orjson.dumps(generate(), option=orjson.OPT_INDENT_2) + b"\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not SCHEMA_PATH.exists() or SCHEMA_PATH.read_bytes() != text:
            print(f"{SCHEMA_PATH} is out of date: run python -m common.messages.schema", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_bytes(text)
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
