"""Leases: which worker syncs which connection now (DESIGN §5 "Scheduling", §6).

A worker claims a connection by writing its name into ``lease_owner`` and an expiry into
``lease_expires_at``; nobody else claims it until the lease is released or has expired. A worker
renews its leases while their syncs run, so only a worker that died (or hangs) loses them, and
then another worker takes them over once they expire. A sync's result is applied only while
its worker still holds the lease (:func:`openslots.store.sync_state.apply_result` checks), so
even a worker that wakes up after losing its lease writes nothing.

On PostgreSQL many workers claim at once: due rows are picked with ``FOR UPDATE SKIP LOCKED``,
so each worker takes rows no other worker is looking at instead of queueing behind them. On
SQLite one process does everything and writes are serialized anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, or_, select, update

from openslots.store.schema import connections

__all__ = ["claim", "claim_due", "free", "holder", "renew"]

_CLAIMABLE = ("pending", "ok", "error")


def _unleased(now: int):  # type: ignore[no-untyped-def]
    return or_(connections.c.lease_expires_at.is_(None), connections.c.lease_expires_at <= now)


def claim_due(
    connection: Connection, owner: str, now: int, lease_seconds: int, limit: int
) -> list[str]:
    """Claim up to ``limit`` connections that are due at ``now`` and not leased, soonest due
    first; their ids. Call inside a write transaction."""
    if limit <= 0:
        return []
    due = (
        select(connections.c.id)
        .where(
            connections.c.due_at <= now,
            connections.c.status.in_(_CLAIMABLE),
            _unleased(now),
        )
        .order_by(connections.c.due_at, connections.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = [row.id for row in connection.execute(due)]
    if ids:
        connection.execute(
            update(connections)
            .where(connections.c.id.in_(ids))
            .values(lease_owner=owner, lease_expires_at=now + lease_seconds, last_attempt_at=now)
        )
    return ids


def claim(
    connection: Connection, owner: str, connection_id: str, now: int, lease_seconds: int
) -> bool:
    """Claim one connection whatever its due time (an on-demand or manual sync); False when
    another worker holds it. A lease ``owner`` already holds is renewed."""
    result = connection.execute(
        update(connections)
        .where(
            connections.c.id == connection_id,
            or_(_unleased(now), connections.c.lease_owner == owner),
        )
        .values(lease_owner=owner, lease_expires_at=now + lease_seconds, last_attempt_at=now)
    )
    return bool(result.rowcount)


def renew(
    connection: Connection, owner: str, ids: Sequence[str], now: int, lease_seconds: int
) -> list[str]:
    """Extend ``owner``'s leases on ``ids``; the ids it still held (the others were lost)."""
    if not ids:
        return []
    held = and_(connections.c.id.in_(list(ids)), connections.c.lease_owner == owner)
    kept = [row.id for row in connection.execute(select(connections.c.id).where(held))]
    if kept:
        connection.execute(
            update(connections)
            .where(connections.c.id.in_(kept), connections.c.lease_owner == owner)
            .values(lease_expires_at=now + lease_seconds)
        )
    return kept


def free(connection: Connection, owner: str, connection_id: str) -> None:
    """Give a lease back without syncing (the connection could not be synced now)."""
    connection.execute(
        update(connections)
        .where(connections.c.id == connection_id, connections.c.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None)
    )


def holder(connection: Connection, connection_id: str, now: int) -> str | None:
    """Who holds a live lease on the connection, if anyone."""
    row = connection.execute(
        select(connections.c.lease_owner).where(
            connections.c.id == connection_id, connections.c.lease_expires_at > now
        )
    ).first()
    return None if row is None else row.lease_owner
