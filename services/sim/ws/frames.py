"""Server-to-client WebSocket frames built once and written as bytes.

A book delta is encoded to JSON once, framed once, and the same bytes go to every subscriber;
frames queued during one engine step are written with a single ``transport.write`` per
connection. Server frames are unmasked (RFC 6455 5.1) and never compressed here, so they can
be interleaved with aiohttp's own control frames (pong, close) safely.
"""

from __future__ import annotations

import struct


def text_frame(payload: bytes) -> bytes:
    """One FIN text frame carrying ``payload`` (UTF-8 JSON)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65_536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload
