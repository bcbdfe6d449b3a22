"""Prometheus view of the writer, read from its counters at scrape time (the disk thread
keeps plain integers; nothing is copied on the hot path)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from common.eventlog.writer import LogWriter


class WriterCollector(Collector):
    """Metrics of one :class:`LogWriter`; ``backpressure`` returns the seconds the event loop
    spent waiting for room in the disk queue."""

    def __init__(self, writer: LogWriter, backpressure: Callable[[], float]) -> None:
        self.writer = writer
        self.backpressure = backpressure

    def collect(self) -> Iterator[Metric]:
        w = self.writer
        s = w.stats
        written = CounterMetricFamily("kgw_eventlog_records_written", "Records written to the OS", labels=["stream"])
        durable = GaugeMetricFamily(
            "kgw_eventlog_records_durable", "Records fsynced by this writer run", labels=["stream"]
        )
        nbytes = CounterMetricFamily("kgw_eventlog_bytes_written", "Bytes written", labels=["stream"])
        segments = CounterMetricFamily("kgw_eventlog_segments_opened", "Segments opened", labels=["stream"])
        for name, st in s.streams.items():
            written.add_metric([name], st.records_written)
            durable.add_metric([name], st.records_durable)
            nbytes.add_metric([name], st.bytes_written)
            segments.add_metric([name], st.segments_opened)
        yield from (written, durable, nbytes, segments)
        yield CounterMetricFamily("kgw_eventlog_messages_ingested", "Bus messages planned", value=w.ingested)
        yield GaugeMetricFamily("kgw_eventlog_queue_depth", "Batches waiting for the disk thread", value=w.disk.depth)
        yield GaugeMetricFamily(
            "kgw_eventlog_write_lag_seconds",
            "At the last write: age of its oldest record since it was received",
            value=s.write_lag_ns / 1e9,
        )
        yield CounterMetricFamily("kgw_eventlog_fsyncs", "fsync calls", value=s.fsyncs)
        yield CounterMetricFamily("kgw_eventlog_fsync_seconds", "Time spent in fsync", value=s.fsync_seconds)
        yield CounterMetricFamily("kgw_eventlog_writes", "write calls", value=s.writes)
        yield CounterMetricFamily(
            "kgw_eventlog_segments_compressed", "Closed segments compressed", value=s.segments_compressed
        )
        yield CounterMetricFamily(
            "kgw_eventlog_compression_failures", "Compressions that failed", value=s.compression_failures
        )
        yield CounterMetricFamily(
            "kgw_eventlog_backpressure_seconds",
            "Time the bus was not read because the disk queue was full",
            value=self.backpressure(),
        )
