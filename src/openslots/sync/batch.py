"""Syncing many connections now, from the command line (``openslots sync --all``).

Each connection is claimed with a lease first, as a worker claims it, so a batch run beside
running workers never syncs a connection twice at once: one a worker holds is reported as
``busy`` and left to it. Up to ``concurrency`` syncs run at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from openslots.store import leases
from openslots.store.database import Database
from openslots.sync.services import SyncServices

__all__ = ["sync_many"]


async def sync_many(
    database: Database,
    services: SyncServices,
    connection_ids: Sequence[str],
    *,
    owner: str,
    clock: Callable[[], int],
    concurrency: int = 8,
    on_done: Callable[[str, str], None] = lambda connection_id, status: None,
) -> dict[str, str]:
    """Sync every connection once; each one's outcome (``ok``, ``error``, ``needs_reauth``,
    ``skipped``, ``lost_lease``, or ``busy`` when another worker holds it). ``on_done`` is
    called as each finishes (a progress bar)."""
    gate = asyncio.Semaphore(concurrency)
    results: dict[str, str] = {}

    def claim(connection_id: str, now: int) -> bool:
        with database.write() as connection:
            return leases.claim(connection, owner, connection_id, now, services.lease_seconds)

    async def one(connection_id: str) -> None:
        async with gate:
            now = clock()
            if await asyncio.to_thread(claim, connection_id, now):
                outcome = await services.sync(database, connection_id, now, owner)
                status = outcome.status
            else:
                status = "busy"
        results[connection_id] = status
        on_done(connection_id, status)

    await asyncio.gather(*(one(cid) for cid in dict.fromkeys(connection_ids)))
    return results
