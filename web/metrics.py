"""Prometheus metrics (prometheus-client), the only module that imports it.

Counted as they happen: requests by endpoint, method and status, their latency, verifications by
channel and verdict. Read from the database and the queue when scraped: certificates by level and
status, ledger size, jobs waiting. Under gunicorn each worker process writes its counters to files
in ``PROMETHEUS_MULTIPROC_DIR`` (``amanat run`` sets it to ``<instance>/metrics`` before
prometheus-client is first imported: it chooses where values live at import) and a scrape adds
them up, whichever worker answers it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "amanat_http_requests", "HTTP requests answered.", ["endpoint", "method", "status"]
)
LATENCY = Histogram(
    "amanat_http_request_seconds",
    "Time to answer a request.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
VERIFICATIONS = Counter(
    "amanat_verifications", "Certificate checks answered.", ["channel", "indication"]
)


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    """Count one answered request."""
    name = endpoint or "unmatched"  # 404s share one label: paths are never labels
    REQUESTS.labels(name, method, str(status)).inc()
    LATENCY.labels(name).observe(seconds)


def observe_verification(channel: str, indication: str) -> None:
    """Count one verdict given."""
    VERIFICATIONS.labels(channel, indication).inc()


class _State(Collector):
    """Gauges read when scraped (their sources are passed in: the database and the queue)."""

    def __init__(self, read: Callable[[], Mapping[str, Any]]) -> None:
        self._read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state = self._read()
        ledger = GaugeMetricFamily("amanat_ledger_events", "Events in the activity ledger.")
        ledger.add_metric([], float(state["ledger_events"]))
        queue = GaugeMetricFamily("amanat_task_queue_jobs", "Jobs waiting on the task queue.")
        queue.add_metric([], float(state["queue_jobs"]))
        issued = GaugeMetricFamily(
            "amanat_certificates", "Issued certificates.", labels=["level", "status"]
        )
        for (level, status), n in sorted(state["certificates"].items()):
            issued.add_metric([level, status], float(n))
        yield from (ledger, queue, issued)


class _Counted(Collector):
    """This process's counters, or every worker's when they write to the shared folder."""

    def collect(self) -> Iterator[Any]:
        if os.environ.get(MULTIPROC_ENV):
            shared = CollectorRegistry()
            multiprocess.MultiProcessCollector(shared)  # type: ignore[no-untyped-call]
            yield from shared.collect()
        else:
            yield from REGISTRY.collect()


def exposition(read_state: Callable[[], Mapping[str, Any]]) -> tuple[bytes, str]:
    """The text a Prometheus scrape reads, and its content type."""
    registry = CollectorRegistry()
    registry.register(_Counted())
    registry.register(_State(read_state))
    return generate_latest(registry), CONTENT_TYPE_LATEST
