"""The process's Prometheus instruments, in a registry of their own.

One :class:`Metrics` per process (``openslots serve`` shares it between the API and the worker),
never prometheus_client's global registry: two apps in one process (tests) count apart. The
families, all prefixed ``openslots_``:

* ``http_request_duration_seconds{route, method, status}``: every HTTP request, by route
  *template* (``/v1/resources/{resource_id}``, ``unmatched`` for no route) and status class
  (``2xx``); ids never become label values;
* ``availability_compute_seconds``: the engine's part of an availability answer (compute and
  render), which only a cache miss pays; ``availability_answers_total{cache}``: ``hit``/``miss``;
* ``sync_duration_seconds{provider, outcome}`` and ``syncs_total{provider, outcome}``: each sync
  run by this process, outcome ``ok``, ``error``, ``needs_reauth``, ``skipped``, ``lost_lease``
  or ``crashed`` (an exception the runner did not turn into an outcome; provider ``unknown``);
* ``lease_claims_total{by}``: connections claimed by a worker tick (``worker``) or an on-demand
  sync (``on_demand``);
* ``connections{status}``: connections of all organizations by status, counted in the database
  at scrape time (:mod:`openslots.observability.connection_gauge`);
* the standard ``process_*``, ``python_gc_*`` and ``python_info`` families.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder

from openslots.observability.connection_gauge import ConnectionsByStatus, StatusCounter

__all__ = ["LEASE_CLAIMERS", "SYNC_OUTCOMES", "Metrics", "MetricsAccess"]

SYNC_OUTCOMES = ("ok", "error", "needs_reauth", "skipped", "lost_lease", "crashed")
LEASE_CLAIMERS = ("worker", "on_demand")

# Requests: a cache hit takes about a millisecond, a cold heavy answer tens, a slow sync=true
# answer up to the on-demand budget (3 s by default).
_REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_COMPUTE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Syncs: a 304 from an ICS server is milliseconds; a big CalDAV full sync can take a minute.
_SYNC_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


@dataclass(frozen=True, slots=True)
class MetricsAccess:
    """Who may read ``/metrics``: nobody when not ``enabled``; anyone (the operator's network)
    when ``bearer_tokens`` is empty; else a request with ``Authorization: Bearer <token>`` for
    one of them."""

    enabled: bool = True
    bearer_tokens: tuple[str, ...] = ()

    def allows(self, authorization: str | None) -> bool:
        if not self.bearer_tokens:
            return True
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return False
        offered = given.strip().encode()
        # Every token is compared, so the time taken says nothing about which one nearly matched.
        matches = [hmac.compare_digest(offered, token.encode()) for token in self.bearer_tokens]
        return any(matches)


class Metrics:
    """The instruments of one process and how to read them. Recording is thread-safe (the
    worker's threads and the API's thread pool record at once)."""

    def __init__(self, access: MetricsAccess = MetricsAccess()) -> None:
        self.access = access
        self.registry = CollectorRegistry()
        registry = self.registry
        self.request_seconds = Histogram(
            "openslots_http_request_duration_seconds",
            "HTTP requests by route template, method and status class",
            ("route", "method", "status"),
            buckets=_REQUEST_BUCKETS,
            registry=registry,
        )
        self.availability_compute_seconds = Histogram(
            "openslots_availability_compute_seconds",
            "Engine time of an availability answer computed on a cache miss",
            buckets=_COMPUTE_BUCKETS,
            registry=registry,
        )
        self.availability_answers = Counter(
            "openslots_availability_answers",
            "Availability answers by whether the cache had them",
            ("cache",),
            registry=registry,
        )
        self.sync_seconds = Histogram(
            "openslots_sync_duration_seconds",
            "Syncs of one connection by provider and outcome",
            ("provider", "outcome"),
            buckets=_SYNC_BUCKETS,
            registry=registry,
        )
        self.syncs = Counter(
            "openslots_syncs",
            "Syncs of one connection by provider and outcome",
            ("provider", "outcome"),
            registry=registry,
        )
        self.lease_claims = Counter(
            "openslots_lease_claims",
            "Connections claimed with a lease, by a worker tick or an on-demand sync",
            ("by",),
            registry=registry,
        )
        for claimer in LEASE_CLAIMERS:
            self.lease_claims.labels(claimer)
        # Children kept: a cache hit (the hot path) pays an increment, not a label look-up.
        self._answers = {
            cache: self.availability_answers.labels(cache) for cache in ("hit", "miss")
        }
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self._connections: ConnectionsByStatus | None = None
        # Label look-ups take a lock and build a tuple; the request path keeps its children here.
        self._request_children: dict[tuple[str, str, int], Histogram] = {}

    # -- recording ------------------------------------------------------------------------------

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        child = self._request_children.get(key)
        if child is None:
            child = self.request_seconds.labels(route, method, f"{status // 100}xx")
            self._request_children[key] = child
        child.observe(seconds)

    def observe_availability_compute(self, seconds: float) -> None:
        self.availability_compute_seconds.observe(seconds)

    def count_availability_answer(self, cache: str) -> None:
        """``cache``: ``hit`` or ``miss``."""
        self._answers[cache].inc()

    def observe_sync(self, provider: str, outcome: str, seconds: float) -> None:
        self.sync_seconds.labels(provider, outcome).observe(seconds)
        self.syncs.labels(provider, outcome).inc()

    def count_lease_claims(self, by: str, claimed: int = 1) -> None:
        if claimed:
            self.lease_claims.labels(by).inc(claimed)

    def watch_connections(self, count: StatusCounter) -> None:
        """Report connections by status from ``count`` at every scrape (once per process)."""
        if self._connections is None:
            self._connections = ConnectionsByStatus(count)
            self.registry.register(self._connections)

    # -- reading --------------------------------------------------------------------------------

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The registry in the format ``accept`` asks for (Prometheus text by default, or
        OpenMetrics), and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        """One sample's current value (tests, the CLI), or None when there is none."""
        return self.registry.get_sample_value(name, labels or {})
