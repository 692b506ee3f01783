"""The sync worker: APScheduler ticks that claim due connections and sync them (DESIGN §5-6).

Every ``poll_seconds`` a tick claims as many due connections as the worker has free slots
(``concurrency``) with a lease each (:mod:`openslots.store.leases`; ``FOR UPDATE SKIP LOCKED``
on PostgreSQL, so many workers claim disjoint sets), and hands each to a thread that runs one
sync (:func:`openslots.sync.runner.sync_once`, with this worker as the lease owner). A second
job renews the leases of the syncs still running every third of ``lease_seconds``, so only a
worker that died or hangs loses its connections; another worker takes them over once the lease
has expired, at most ``lease_seconds + poll_seconds`` later. The sync stores its result only
while this worker still holds the lease.

``openslots worker`` runs this alone; ``openslots serve`` runs it beside the API.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from openslots.observability.metrics import Metrics
from openslots.store import leases
from openslots.store.database import Database
from openslots.sync.runner import SyncOutcome
from openslots.sync.services import SyncServices

__all__ = ["SyncWorker", "WorkerSettings", "worker_name"]

log = logging.getLogger("openslots.worker")


def worker_name() -> str:
    """A lease owner name unique to this process: host, pid and a random part (a pid is
    reused after a restart; a lease must not be)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _system_clock() -> int:
    return int(time.time())


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    poll_seconds: float = 10.0
    lease_seconds: int = 120
    concurrency: int = 8


class SyncWorker:
    """Claims and syncs due connections until stopped. Start with :meth:`start`, stop with
    :meth:`stop`; :meth:`tick` runs one round by hand (tests, ``openslots sync --all``)."""

    def __init__(
        self,
        database: Database,
        services: SyncServices,
        settings: WorkerSettings = WorkerSettings(),
        *,
        name: str | None = None,
        clock: Callable[[], int] = _system_clock,
        metrics: Metrics | None = None,
    ) -> None:
        self.database = database
        self.services = services
        self.settings = settings
        self.name = name or worker_name()
        self._clock = clock
        self.metrics = metrics if metrics is not None else Metrics()
        self._threads = ThreadPoolExecutor(settings.concurrency, "openslots-sync")
        self._running: dict[str, Future[SyncOutcome | None]] = {}
        self._lock = threading.Lock()
        self._scheduler: BackgroundScheduler | None = None
        self.synced = 0

    def start(self) -> None:
        scheduler = BackgroundScheduler(timezone="UTC")
        # One tick at a time; a tick that fell behind is not run twice to catch up.
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.settings.poll_seconds,
            id="claim",
            max_instances=1,
            coalesce=True,
            # The first claim now rather than one poll interval after start.
            next_run_time=datetime.now(UTC),
        )
        scheduler.add_job(
            self.renew,
            "interval",
            seconds=max(self.settings.lease_seconds / 3, 0.5),
            id="renew",
            max_instances=1,
            coalesce=True,
        )
        scheduler.start()
        self._scheduler = scheduler
        log.info("sync worker %s started", self.name)

    def stop(self, wait: bool = True) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=wait)
            self._scheduler = None
        self._threads.shutdown(wait=wait, cancel_futures=True)

    def running(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def tick(self) -> list[str]:
        """Claim due connections up to the free concurrency and start their syncs; the ids."""
        free = self.settings.concurrency - len(self.running())
        if free <= 0:
            return []
        now = self._clock()
        try:
            with self.database.write() as connection:
                ids = leases.claim_due(
                    connection, self.name, now, self.settings.lease_seconds, free
                )
        except Exception:
            # A database hiccup costs one tick, not the worker.
            log.exception("claiming due connections failed")
            return []
        self.metrics.count_lease_claims("worker", len(ids))
        for connection_id in ids:
            with self._lock:
                self._running[connection_id] = self._threads.submit(self._sync, connection_id)
        return ids

    def _sync(self, connection_id: str) -> SyncOutcome | None:
        began = time.perf_counter()
        try:
            outcome = asyncio.run(
                self.services.sync(self.database, connection_id, self._clock(), self.name)
            )
            self.synced += 1
            self.metrics.observe_sync(outcome.provider, outcome.status, time.perf_counter() - began)
            if outcome.status not in {"ok", "skipped"}:
                log.info("sync of %s: %s %s", connection_id, outcome.status, outcome.error or "")
            return outcome
        except Exception:
            self.metrics.observe_sync("unknown", "crashed", time.perf_counter() - began)
            log.exception("sync of %s crashed", connection_id)
            return None
        finally:
            with self._lock:
                self._running.pop(connection_id, None)

    def renew(self) -> None:
        ids = self.running()
        if not ids:
            return
        try:
            with self.database.write() as connection:
                leases.renew(connection, self.name, ids, self._clock(), self.settings.lease_seconds)
        except Exception:
            log.exception("renewing leases failed")

    def drain(self, timeout: float = 60.0) -> None:
        """Wait until the syncs started so far are done (tests, one-shot runs)."""
        deadline = time.monotonic() + timeout
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.01)
