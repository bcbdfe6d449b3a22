"""Feed-handler metrics read from the core's plain counters at scrape time (the hot path only
increments Python ints)::

    kgw_feed_messages_total{kind}         Kraken messages handled (book_delta, book_snapshot, ticker, trade, ...)
    kgw_feed_book_problems_total{reason}  gap, crossed, unknown_level, unknown_symbol, stale_drop, ...
    kgw_feed_books{status}                books AWAITING / LIVE / STALE
"""

from __future__ import annotations

from collections.abc import Iterator

import prometheus_client
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from services.feed.market import MarketState


class FeedCollector(Collector):
    def __init__(self, market: MarketState) -> None:
        self.market = market

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        m = self.market
        handled = CounterMetricFamily("kgw_feed_messages", "Kraken messages handled, by kind", labels=["kind"])
        handled.add_metric(["book_delta"], m.deltas)
        for kind, n in sorted(m.handled.items()):
            handled.add_metric([kind], n)
        problems = CounterMetricFamily("kgw_feed_book_problems", "Feed problems, by reason", labels=["reason"])
        for reason, n in sorted(m.problems.items()):
            problems.add_metric([reason], n)
        books = GaugeMetricFamily("kgw_feed_books", "Books by status", labels=["status"])
        for status, n in m.status_counts().items():
            books.add_metric([status], n)
        yield handled
        yield problems
        yield books


def register(market: MarketState) -> FeedCollector:
    collector = FeedCollector(market)
    prometheus_client.REGISTRY.register(collector)
    return collector
