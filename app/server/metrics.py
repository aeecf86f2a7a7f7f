"""Prometheus metrics for the webhook server, the worker and the GitHub client."""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)


class Metrics:
    """One registry per app, so that several apps (and tests) never share counters."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._received = Counter(
            "baton_deliveries_received",
            "Webhook deliveries accepted (verified and well-formed).",
            ["event"],
            registry=self.registry,
        )
        self._received_by_event: dict[str, Any] = {}
        self._processed = Counter(
            "baton_deliveries_processed",
            "Deliveries processed successfully.",
            ["event"],
            registry=self.registry,
        )
        self._failed = Counter(
            "baton_deliveries_failed",
            "Deliveries that ran out of attempts and were kept as failed.",
            ["event"],
            registry=self.registry,
        )
        self._processing_seconds = Histogram(
            "baton_delivery_processing_seconds",
            "Time spent in one processing attempt of a delivery.",
            registry=self.registry,
        )
        self._github_requests = Counter(
            "baton_github_requests",
            "Requests made to the GitHub API, by response status.",
            ["status"],
            registry=self.registry,
        )
        self._rate_limit_remaining = Gauge(
            "baton_github_rate_limit_remaining",
            "The last X-RateLimit-Remaining value GitHub reported.",
            registry=self.registry,
        )

    def delivery_received(self, event: str) -> None:
        counter = self._received_by_event.get(event)
        if counter is None:  # labels() costs more than the rest of counting a delivery
            counter = self._received_by_event[event] = self._received.labels(event=event)
        counter.inc()

    def delivery_processed(self, event: str) -> None:
        self._processed.labels(event=event).inc()

    def observe_processing(self, seconds: float) -> None:
        self._processing_seconds.observe(seconds)

    def delivery_failed(self, event: str) -> None:
        self._failed.labels(event=event).inc()

    def observe_github_response(self, status: int, rate_limit_remaining: int | None) -> None:
        self._github_requests.labels(status=str(status)).inc()
        if rate_limit_remaining is not None:
            self._rate_limit_remaining.set(rate_limit_remaining)

    def render(self) -> bytes:
        return generate_latest(self.registry)
