"""Per-topic sequence tracking (pure): which GAP and SESSION records a message calls for.

The writer runs every message through :meth:`Continuity.observe` before writing it, and writes
the events it returns in front of the message: so a hole in a topic's ``seq`` or a new
publisher session is always on disk, never silent. ``kgw log verify`` runs the same tracker
over the log and checks that every event it computes is there.

State (what a CHECKPOINT record holds): ``sources`` (source -> session) and ``topics``
(``[source, topic, session, last seq]`` for every topic of every source: seq counts per topic
of one publisher session, and two publishers may share a topic). A writer that restarts seeds
the tracker with the state at the end of the log (:meth:`seed`), so the messages it missed
while down are recorded as a GAP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .records import Kind

CAUSE_BUS = "bus"
"""The hole happened on the bus while the writer was running (publisher HWM, slow joiner)."""
CAUSE_WRITER_START = "writer_start"
"""First message on the topic since this writer started: missed while the writer was down,
or the log starts in the middle of the publisher's session."""


@dataclass(slots=True)
class Event:
    """A GAP or SESSION record to write before a message."""

    kind: Kind
    fields: dict[str, Any]


class Continuity:
    """Tracks the last (session, seq) of every topic and the session of every source."""

    __slots__ = ("_recovered", "sources", "topics")

    def __init__(self) -> None:
        #: source -> session
        self.sources: dict[str, str] = {}
        #: (source, topic) -> [session, seq], for topics seen since this tracker started
        self.topics: dict[tuple[str, bytes], list[Any]] = {}
        #: (source, topic) -> [session, seq] from a seed, not yet seen again
        self._recovered: dict[tuple[str, bytes], list[Any]] = {}

    def seed(self, checkpoint: dict[str, Any]) -> None:
        """Start from a CHECKPOINT's fields; what follows is a new run (its first message on
        each topic is a ``writer_start`` gap if it does not follow on)."""
        self.sources = dict(checkpoint.get("sources", {}))
        recovered = {(src, t.encode()): [s, q] for src, t, s, q in checkpoint.get("topics", [])}
        self._recovered = recovered
        self.topics = {}

    def restart(self) -> None:
        """A new run of the writer from the current state (as :meth:`seed` with our own)."""
        self.seed(self.checkpoint())

    def checkpoint(self) -> dict[str, Any]:
        """The state as the fields of a CHECKPOINT record."""
        merged = {**self._recovered, **self.topics}
        return {
            "sources": dict(self.sources),
            "topics": [[src, t.decode(errors="replace"), s, q] for (src, t), (s, q) in sorted(merged.items())],
        }

    def advance(self, source: str, topic: bytes, session: str, seq: int) -> None:
        """Take a recorded message as the new state without checking it (used when reading
        back a log whose events are already written)."""
        key = (source, topic)
        entry = self.topics.get(key)
        if entry is None:
            self.topics[key] = [session, seq]
            self._recovered.pop(key, None)
        else:
            entry[0] = session
            entry[1] = seq

    def observe(self, topic: bytes, source: str, session: str, seq: int, publisher: str) -> list[Event] | None:
        """Record a message; the events to write before it, or None when it simply follows on."""
        key = (source, topic)
        entry = self.topics.get(key)
        if entry is not None and entry[1] + 1 == seq and entry[0] == session:
            entry[1] = seq
            return None
        return self._slow(key, session, seq, publisher, entry)

    def _slow(
        self, key: tuple[str, bytes], session: str, seq: int, publisher: str, entry: list[Any] | None
    ) -> list[Event] | None:
        source, topic = key
        events: list[Event] = []
        known = self.sources.get(source)
        if known != session:
            self.sources[source] = session
            events.append(
                Event(
                    Kind.SESSION,
                    {"source": source, "session": session, "old_session": known or "", "publisher": publisher},
                )
            )
        cause = CAUSE_BUS
        if entry is None:
            entry = self._recovered.pop(key, None)
            cause = CAUSE_WRITER_START
        expected = entry[1] + 1 if entry is not None and entry[0] == session else 1
        if seq != expected:
            events.append(
                Event(
                    Kind.GAP,
                    {
                        "topic": topic.decode(errors="replace"),
                        "source": source,
                        "session": session,
                        "publisher": publisher,
                        "expected": expected,
                        "received": seq,
                        "cause": cause,
                    },
                )
            )
        self.topics[key] = [session, seq]
        return events or None
