"""On-demand sync: ``availability?sync=true`` and ``POST /v1/connections/{id}/sync`` (DESIGN §5).

The consulted connections are synced concurrently, and the caller waits at most the budget
(``sync.on_demand_budget_seconds``). A sync never runs twice at once:

* in this process, a connection already syncing on demand is joined: the caller waits for that
  same task instead of starting a second;
* across processes, the sync takes the connection's lease like a worker does; when a worker (or
  another API process) holds it, the caller waits for that lease to be given back, which is
  when the other sync has stored its result.

A sync that misses the budget is not cancelled: it runs on in the background and stores its
result for the next query, and this answer marks that connection ``stale``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from openslots.observability.metrics import Metrics
from openslots.store import leases
from openslots.store.connections import get_connection
from openslots.store.database import Database
from openslots.sync.services import SyncServices
from openslots.sync.worker import worker_name

__all__ = ["OnDemandOutcome", "OnDemandSync"]

# How often a caller waiting for another process's sync looks at the lease.
_POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class OnDemandOutcome:
    """Per connection id: ``ok``, ``error``, ``needs_reauth``, ``skipped`` (disabled or waiting
    for a reconnect) or ``stale`` (still syncing when the budget ran out)."""

    results: dict[str, str]
    elapsed: float

    @property
    def stale(self) -> frozenset[str]:
        return frozenset(i for i, status in self.results.items() if status == "stale")


class OnDemandSync:
    """One per API process; call :meth:`run` on the process's event loop."""

    def __init__(
        self,
        database: Database,
        services: SyncServices,
        *,
        clock: Callable[[], int],
        name: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.database = database
        self.services = services
        self.name = name or worker_name()
        self._clock = clock
        self.metrics = metrics if metrics is not None else Metrics()
        self._inflight: dict[str, asyncio.Task[str]] = {}
        self.started = 0

    async def run(
        self, org_id: str, connection_ids: Sequence[str], budget: float | None = None
    ) -> OnDemandOutcome:
        """Sync ``connection_ids`` (of organization ``org_id``) and wait at most ``budget``
        seconds (default: the configured budget) for them."""
        began = time.perf_counter()
        budget = self.services.on_demand_budget_seconds if budget is None else budget
        tasks = {cid: self._task(org_id, cid) for cid in dict.fromkeys(connection_ids)}
        if tasks:
            # asyncio.wait cancels nothing, on a timeout or when this caller is cancelled (a
            # client that hung up): the syncs, which others may share, run on.
            await asyncio.wait(tasks.values(), timeout=budget)
        results = {}
        for cid, task in tasks.items():
            if not task.done():
                results[cid] = "stale"
            elif task.cancelled() or task.exception() is not None:
                results[cid] = "error"
            else:
                results[cid] = task.result()
        return OnDemandOutcome(results, time.perf_counter() - began)

    def _task(self, org_id: str, connection_id: str) -> asyncio.Task[str]:
        task = self._inflight.get(connection_id)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._sync(org_id, connection_id))
            self._inflight[connection_id] = task
            self.started += 1
            task.add_done_callback(lambda done: self._forget(connection_id, done))
        return task

    def _forget(self, connection_id: str, task: asyncio.Task[str]) -> None:
        if self._inflight.get(connection_id) is task:
            del self._inflight[connection_id]
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as never retrieved

    async def _sync(self, org_id: str, connection_id: str) -> str:
        now = self._clock()
        claimed = await asyncio.to_thread(self._claim, org_id, connection_id, now)
        if claimed:
            self.metrics.count_lease_claims("on_demand")
            began = time.perf_counter()
            try:
                outcome = await self.services.sync(self.database, connection_id, now, self.name)
            except Exception:
                self.metrics.observe_sync("unknown", "crashed", time.perf_counter() - began)
                raise
            self.metrics.observe_sync(outcome.provider, outcome.status, time.perf_counter() - began)
            return outcome.status
        # Another process is syncing it: its result is ours once the lease is given back (or
        # has expired, if that process died).
        deadline = time.monotonic() + self.services.lease_seconds
        while time.monotonic() < deadline:
            if await asyncio.to_thread(self._holder, connection_id) is None:
                break
            await asyncio.sleep(_POLL_SECONDS)
        return await asyncio.to_thread(self._status, org_id, connection_id)

    def _claim(self, org_id: str, connection_id: str, now: int) -> bool:
        with self.database.write() as connection:
            get_connection(connection, org_id, connection_id)  # this organization's only
            return leases.claim(
                connection, self.name, connection_id, now, self.services.lease_seconds
            )

    def _holder(self, connection_id: str) -> str | None:
        with self.database.read() as connection:
            return leases.holder(connection, connection_id, self._clock())

    def _status(self, org_id: str, connection_id: str) -> str:
        with self.database.read() as connection:
            status: str = get_connection(connection, org_id, connection_id)["status"]
        return status
