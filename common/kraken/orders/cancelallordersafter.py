"""``POST /cancelallordersafter`` (cost 25): Kraken's dead man's switch.

``timeout=N`` (seconds) arms or re-arms a timer that cancels every order of the account N
seconds from now unless called again; ``timeout=0`` disarms it.

Answer samples (Kraken docs)::

    {"result":"success","status":{"currentTime":"2018-06-19T16:51:23.839Z",
      "triggerTime":"2018-06-19T16:52:23.839Z"},"serverTime":"2018-06-19T16:51:23.839Z"}
    {"result":"success","status":{"currentTime":"2018-06-19T16:54:29.419Z","triggerTime":"0"},
     "serverTime":"2018-06-19T16:54:29.419Z"}

Kraken quirk: a disarmed switch reports ``triggerTime`` as the string ``"0"``.
"""

from __future__ import annotations

from typing import Any


def build(timeout_s: int) -> dict[str, str]:
    """Form parameters; ``timeout_s`` in whole seconds (0 disarms)."""
    if timeout_s < 0:
        raise ValueError("timeout must be >= 0")
    return {"timeout": str(int(timeout_s))}


def parse(body: dict[str, Any]) -> str | None:
    """The ISO trigger time, or None when the switch is disarmed (``"0"``) or absent."""
    st = body.get("status")
    trigger = st.get("triggerTime") if isinstance(st, dict) else None
    if not isinstance(trigger, str) or trigger == "0":
        return None
    return trigger
