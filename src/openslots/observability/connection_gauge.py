"""``openslots_connections{status}``: the connections of all organizations by status, counted in
the database when Prometheus scrapes (one ``COUNT ... GROUP BY status``), so every API process
reports the same numbers whichever process synced what.

``/metrics`` is an operator endpoint: the counts cover every organization and name none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from openslots.store.connections import count_by_status
from openslots.store.database import Database

__all__ = ["STATUSES", "ConnectionsByStatus", "StatusCounter", "connection_counter"]

log = logging.getLogger("openslots.metrics")

# Always reported, at 0 when none has it, so a dashboard's series do not come and go.
STATUSES = ("pending", "ok", "error", "needs_reauth", "disabled")

StatusCounter = Callable[[], Mapping[str, int]]

_NAME = "openslots_connections"
_HELP = "Calendar connections of all organizations by status"


def connection_counter(database: Database) -> StatusCounter:
    """A counter of ``database``'s connections by status."""

    def count() -> dict[str, int]:
        with database.read() as connection:
            return count_by_status(connection)

    return count


class ConnectionsByStatus(Collector):
    def __init__(self, count: StatusCounter) -> None:
        self._count = count

    def describe(self) -> Iterator[Metric]:
        # Registering must not touch the database (it may not be migrated yet).
        yield GaugeMetricFamily(_NAME, _HELP, labels=("status",))

    def collect(self) -> Iterator[Metric]:
        try:
            counts = dict(self._count())
        except Exception as exc:
            # A scrape while the database is away shows no count rather than failing whole
            # (/readyz says why; a driver's message may name hosts, so only its class here).
            log.warning("counting connections by status failed (%s)", type(exc).__name__)
            return
        family = GaugeMetricFamily(_NAME, _HELP, labels=("status",))
        for status in (*STATUSES, *sorted(counts.keys() - set(STATUSES))):
            family.add_metric((status,), counts.get(status, 0))
        yield family
