"""``kgw log stats``: counts per type and topic, rates, gaps and restarts, torn tails."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from common.eventlog.records import Kind, Record

from .selection import payload_type


@dataclass
class LogStats:
    """Accumulates records (:meth:`add`) into a summary (:meth:`summary`)."""

    by_type: Counter[str] = field(default_factory=Counter)
    by_topic: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    by_stream: Counter[str] = field(default_factory=Counter)
    payload_bytes: int = 0
    messages: int = 0
    gaps: list[dict[str, Any]] = field(default_factory=list)
    missing: int = 0
    first_ns: int = 0
    last_ns: int = 0
    """Receive times of the first and last message (rates are over this span)."""

    def add(self, stream: str, rec: Record) -> None:
        self.by_kind[rec.kind_name] += 1
        self.by_stream[stream] += 1
        if rec.kind == Kind.MESSAGE:
            t = rec.time_ns
            if not self.first_ns or t < self.first_ns:
                self.first_ns = t
            self.last_ns = max(self.last_ns, t)
            self.messages += 1
            self.payload_bytes += len(rec.payload)
            self.by_type[payload_type(rec.payload)] += 1
            self.by_topic[rec.topic.decode(errors="replace")] += 1
        elif rec.kind == Kind.GAP and rec.fields is not None:
            self.gaps.append(rec.fields)
            self.missing += max(int(rec.fields.get("received", 0)) - int(rec.fields.get("expected", 0)), 0)

    def summary(self, top: int = 20) -> dict[str, Any]:
        span = (self.last_ns - self.first_ns) / 1e9 if self.last_ns > self.first_ns else 0.0
        rate = round(self.messages / span, 1) if span else None
        return {
            "messages": self.messages,
            "span_s": round(span, 3),
            "rate_per_s": rate,
            "payload_bytes": self.payload_bytes,
            "records_by_kind": dict(self.by_kind.most_common()),
            "records_by_stream": dict(self.by_stream.most_common()),
            "messages_by_type": {
                k: {"count": v, "rate_per_s": round(v / span, 1) if span else None}
                for k, v in self.by_type.most_common()
            },
            "messages_by_topic": dict(self.by_topic.most_common(top)),
            "topics": len(self.by_topic),
            "gaps": len(self.gaps),
            "missing_messages": self.missing,
            "gap_causes": dict(Counter(str(g.get("cause")) for g in self.gaps)),
        }
