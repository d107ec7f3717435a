"""Prometheus metrics for one app instance, correct under several worker processes.

Each app gets its own `CollectorRegistry` (several apps can live in one test process). When
`PROMETHEUS_MULTIPROC_DIR` is set before prometheus_client is imported, every value is also written to the
shared directory and `/metrics` aggregates all workers through `MultiProcessCollector`.
"""
from __future__ import annotations

import os

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram,
                               disable_created_metrics, generate_latest)
from prometheus_client import multiprocess

HTTP_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1, 2.5, 5, 10)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class MetricSet:
    """Creates metrics on this app's registry; gauges aggregate across workers by most recent value."""

    def __init__(self) -> None:
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)

    def counter(self, name: str, documentation: str, labels: tuple[str, ...]) -> Counter:
        return Counter(name, documentation, labels, registry=self.registry)

    def gauge(self, name: str, documentation: str, labels: tuple[str, ...]) -> Gauge:
        return Gauge(name, documentation, labels, registry=self.registry, multiprocess_mode="mostrecent")

    def histogram(self, name: str, documentation: str, labels: tuple[str, ...], buckets) -> Histogram:
        return Histogram(name, documentation, labels, registry=self.registry, buckets=buckets)

    def exposition(self) -> tuple[bytes, str]:
        if multiprocess_dir():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class LabelCache:
    """Remembers labelled children: `metric.labels()` validates and locks on every call, a dict does not."""

    def __init__(self, metric) -> None:
        self.metric = metric
        self._children: dict[tuple, object] = {}

    def __call__(self, *values: str):
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self.metric.labels(*values)
        return child


class HttpMetrics:
    def __init__(self, metrics: MetricSet) -> None:
        self.requests = LabelCache(metrics.counter("http_requests_total", "HTTP requests handled",
                                                   ("method", "route", "code")))
        self.duration = LabelCache(metrics.histogram(
            "http_request_duration_seconds", "HTTP request duration", ("method", "route"), HTTP_DURATION_BUCKETS))
