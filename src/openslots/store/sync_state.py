"""A connection's sync state in the store: reading it for a sync, applying a sync's result to
``busy_blocks``, and recording the outcome (DESIGN §5, RELIABILITY-NOTES §4).

Synced blocks of a connection are grouped by calendar in ``busy_blocks.source`` as
``<connection id>:<calendar>``. Applying a result follows the contract's reference semantics
(:meth:`CalendarSnapshot.apply`, :meth:`CalendarDelta.apply`) in SQL:

* a snapshot deletes that calendar's blocks overlapping the window, then inserts its events;
* a delta deletes that calendar's blocks whose ``external_id`` is upserted or deleted, then
  inserts the upserted events;
* a removed calendar loses all of its blocks and its cursor.

:func:`apply_result` does all of that and records the success inside the caller's one write
transaction, so a crash or an error leaves either the old blocks and cursors or the new ones,
never a mix (nothing is wiped first). :func:`record_failure` touches no block.

``connections.cursor`` holds the calendars' cursors as one JSON object ``{calendar: cursor}``.

Both also schedule the next sync (``due_at``) and give back the lease of the worker that ran
this one. Given a ``lease_owner``, they first check that this worker still holds the lease and
raise :class:`LeaseLost` otherwise, having written nothing: a worker that stalled past its
lease must not overwrite what the worker that took over has stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from openslots.errors import NotFound
from openslots.store import versions
from openslots.store.catalog import new_id
from openslots.store.schema import busy_blocks, connections, resources
from openslots.sync.contract import (
    BusyEvent,
    CalendarDelta,
    CalendarSnapshot,
    SyncResult,
    SyncWindow,
)

__all__ = [
    "LeaseLost",
    "SyncTarget",
    "apply_result",
    "load_target",
    "record_failure",
    "source_of",
    "stored_events",
]

# Bound parameters per IN list, well under every backend's limit.
_CHUNK = 500
# Problems kept per connection: enough to act on, bounded for a feed that is broken throughout.
_MAX_PROBLEMS = 50


@dataclass(frozen=True, slots=True)
class SyncTarget:
    """What the runner needs of one connection: its row, its cursors by calendar, and the
    resource's IANA zone. ``credentials`` is the stored (encrypted) value, or ``None``."""

    id: str
    org_id: str
    resource_id: str
    provider: str
    settings: Mapping[str, Any]
    credentials: bytes | None
    cursors: Mapping[str, str]
    status: str
    failures: int
    next_attempt_at: int | None
    zone: str
    sync_interval: int = 900
    problems: tuple[Mapping[str, Any], ...] = ()


class LeaseLost(Exception):
    """The worker's lease on the connection expired and was taken over; nothing was written."""


def source_of(connection_id: str, calendar: str) -> str:
    """The ``busy_blocks.source`` of a synced calendar's blocks."""
    return f"{connection_id}:{calendar}"


def _cursors(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    loaded = json.loads(text)
    # A cursor stored by something else than this module (none yet) is treated as no cursor:
    # the next sync is then a snapshot, which is always safe.
    if not isinstance(loaded, dict):
        return {}
    return {str(k): v for k, v in loaded.items() if isinstance(v, str)}


def load_target(connection: Connection, connection_id: str) -> SyncTarget:
    """The connection ``connection_id`` as the runner reads it; NotFound when there is none."""
    row = connection.execute(
        select(connections, resources.c.timezone)
        .join(resources, resources.c.id == connections.c.resource_id)
        .where(connections.c.id == connection_id)
    ).first()
    if row is None:
        raise NotFound("connection")
    return SyncTarget(
        id=row.id,
        org_id=row.org_id,
        resource_id=row.resource_id,
        provider=row.provider,
        settings=row.settings or {},
        credentials=row.credentials,
        cursors=_cursors(row.cursor),
        status=row.status,
        failures=row.failures or 0,
        next_attempt_at=row.next_attempt_at,
        zone=row.timezone,
        sync_interval=row.sync_interval,
        problems=tuple(row.problems or ()),
    )


def _chunks(items: Sequence[str]) -> Iterable[list[str]]:
    for index in range(0, len(items), _CHUNK):
        yield list(items[index : index + _CHUNK])


def _insert(
    connection: Connection, target: SyncTarget, source: str, events: Iterable[BusyEvent]
) -> int:
    rows = [
        {
            "id": new_id(),
            "org_id": target.org_id,
            "resource_id": target.resource_id,
            "source": source,
            "connection_id": target.id,
            "external_id": event.external_id,
            "start_at": event.start,
            "end_at": event.end,
            "kind": event.kind,
        }
        for event in events
    ]
    if rows:
        connection.execute(insert(busy_blocks), rows)
    return len(rows)


def _apply_calendar(
    connection: Connection,
    target: SyncTarget,
    item: CalendarSnapshot | CalendarDelta,
    window: SyncWindow,
) -> int:
    """Apply one calendar's snapshot or delta; the number of rows deleted plus inserted."""
    source = source_of(target.id, item.calendar)
    mine = (busy_blocks.c.connection_id == target.id, busy_blocks.c.source == source)
    changed = 0
    if isinstance(item, CalendarSnapshot):
        changed += connection.execute(
            delete(busy_blocks).where(
                *mine, busy_blocks.c.start_at < window.end, busy_blocks.c.end_at > window.start
            )
        ).rowcount
        return changed + _insert(connection, target, source, item.events)
    touched = sorted({e.external_id for e in item.upserted} | set(item.deleted_ids))
    for chunk in _chunks(touched):
        changed += connection.execute(
            delete(busy_blocks).where(*mine, busy_blocks.c.external_id.in_(chunk))
        ).rowcount
    return changed + _insert(connection, target, source, item.upserted)


def apply_result(
    connection: Connection,
    target: SyncTarget,
    result: SyncResult,
    window: SyncWindow,
    now: int,
    *,
    reset_cursors: bool = False,
    lease_owner: str | None = None,
    credentials: bytes | None = None,
) -> None:
    """Apply ``result`` (synced for ``window``) to the connection's blocks and record the
    success, in the caller's write transaction.

    The new cursors are the stored ones (none with ``reset_cursors``, after a cursor expired)
    updated by the result's: a returned calendar gets its new cursor (dropped when ``None``),
    a removed calendar loses its cursor and blocks. Success clears ``last_error``, the failure
    count and ``next_attempt_at``, sets ``status`` to ``ok`` and ``last_success_at`` to
    ``now``, schedules the next sync one interval after ``now`` and frees the lease. The
    resource's version is bumped when a block changed. ``credentials`` (encrypted), when
    given, replace the stored ones (a refreshed OAuth token). Raises LeaseLost (nothing
    written) when ``lease_owner`` no longer holds the lease.
    """
    cursors = {} if reset_cursors else dict(target.cursors)
    for calendar, cursor in result.cursors.items():
        if cursor is None:
            cursors.pop(calendar, None)
        else:
            cursors[calendar] = cursor
    for calendar in result.removed_calendars:
        cursors.pop(calendar, None)
    problems = _problems(target, result, reset_cursors)
    # The connection's row first: on PostgreSQL it locks the row, so two applies of one
    # connection never interleave, and a lost lease is found before any block is touched.
    _finish(
        connection,
        target.id,
        lease_owner,
        cursor=json.dumps(cursors, sort_keys=True) if cursors else None,
        status="ok",
        last_success_at=now,
        last_error=None,
        failures=0,
        next_attempt_at=None,
        due_at=now + target.sync_interval,
        problems=problems or None,
        **({} if credentials is None else {"credentials": credentials}),
    )
    changed = 0
    for item in result.calendars:
        changed += _apply_calendar(connection, target, item, window)
    for calendar in result.removed_calendars:
        changed += connection.execute(
            delete(busy_blocks).where(
                busy_blocks.c.connection_id == target.id,
                busy_blocks.c.source == source_of(target.id, calendar),
            )
        ).rowcount
    if changed:
        versions.bump_resources(connection, [target.resource_id])


def _problems(target: SyncTarget, result: SyncResult, reset: bool) -> list[dict[str, Any]]:
    """The connection's problems after ``result``: the result's own, plus the stored ones of
    calendars it answered with a delta. A delta only says what changed (an unchanged feed says
    nothing at all), so a broken series reported by an earlier snapshot is still broken; it
    is forgotten at the calendar's next snapshot, which reads everything again."""
    fresh = [
        {"calendar": p.calendar, "external_id": p.external_id, "message": p.message[:300]}
        for p in result.problems
    ]
    if not reset:
        reported = {p.calendar for p in result.problems}
        deltas = {
            item.calendar for item in result.calendars if isinstance(item, CalendarDelta)
        } - reported
        fresh += [dict(p) for p in target.problems if p.get("calendar") in deltas]
    return fresh[:_MAX_PROBLEMS]


def _finish(
    connection: Connection, connection_id: str, lease_owner: str | None, **values: Any
) -> None:
    condition = [connections.c.id == connection_id]
    if lease_owner is not None:
        condition.append(connections.c.lease_owner == lease_owner)
    done = connection.execute(
        update(connections)
        .where(*condition)
        .values(lease_owner=None, lease_expires_at=None, **values)
    )
    if lease_owner is not None and not done.rowcount:
        raise LeaseLost(connection_id)


def record_failure(
    connection: Connection,
    connection_id: str,
    *,
    message: str,
    status: str,
    failures: int,
    next_attempt_at: int | None,
    lease_owner: str | None = None,
) -> None:
    """Record a failed sync: ``last_error``, ``status`` (``error`` or ``needs_reauth``), the
    count of failures in a row and when to try again (``None``: not before the user
    reconnects), which is also when the scheduler next syncs it. Blocks, cursors and
    ``last_success_at`` are left as they were; the lease is freed. Raises LeaseLost (nothing
    written) when ``lease_owner`` no longer holds the lease."""
    _finish(
        connection,
        connection_id,
        lease_owner,
        last_error=message,
        status=status,
        failures=failures,
        next_attempt_at=next_attempt_at,
        due_at=next_attempt_at,
    )


def stored_events(connection: Connection, connection_id: str) -> dict[str, list[BusyEvent]]:
    """The connection's stored blocks as events by calendar, each list sorted."""
    prefix = f"{connection_id}:"
    rows = connection.execute(
        select(
            busy_blocks.c.source,
            busy_blocks.c.external_id,
            busy_blocks.c.start_at,
            busy_blocks.c.end_at,
            busy_blocks.c.kind,
        ).where(busy_blocks.c.connection_id == connection_id)
    )
    out: dict[str, list[BusyEvent]] = {}
    for source, external_id, start, end, kind in rows:
        calendar = source.removeprefix(prefix)
        out.setdefault(calendar, []).append(BusyEvent(external_id or "", start, end, kind))
    for events in out.values():
        events.sort(key=lambda e: (e.external_id, e.start, e.end, e.kind))
    return out
