"""Calendar connections of an organization's resources (DESIGN §2, §4).

Credentials arrive here already encrypted (bytes) and leave only as a yes/no: no function of
this module returns them except :func:`credential_tokens`, which key rotation uses. Every
function takes the organization's id and touches only its rows. Deleting a connection deletes
its blocks in the same transaction and bumps its resource's version, so cached availability
stops counting them at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from openslots.store import versions
from openslots.store.catalog import NotFound, new_id
from openslots.store.schema import busy_blocks, connections, organizations, resources

__all__ = [
    "all_connections",
    "connection_ids_of_resources",
    "count_by_status",
    "create_connection",
    "credential_tokens",
    "delete_connection",
    "get_connection",
    "list_connections",
    "replace_credential_token",
    "stored_credentials",
    "update_connection",
]

Obj = dict[str, Any]

_SHOWN = (
    connections.c.id,
    connections.c.resource_id,
    connections.c.provider,
    connections.c.settings,
    connections.c.sync_interval,
    connections.c.status,
    connections.c.last_success_at,
    connections.c.last_attempt_at,
    connections.c.last_error,
    connections.c.failures,
    connections.c.next_attempt_at,
    connections.c.problems,
    connections.c.created_at,
    (connections.c.credentials.is_not(None)).label("has_credentials"),
)


def _obj(row: Any) -> Obj:
    return dict(row._mapping)


def create_connection(
    connection: Connection,
    org_id: str,
    *,
    resource_id: str,
    provider: str,
    settings: Mapping[str, Any],
    credentials: bytes | None,
    sync_interval: int,
    now: int,
) -> Obj:
    """A new connection, due for its first sync at once; NotFound for a foreign resource."""
    owned = connection.execute(
        select(resources.c.id).where(resources.c.org_id == org_id, resources.c.id == resource_id)
    ).first()
    if owned is None:
        raise NotFound("resource_id")
    connection_id = new_id()
    connection.execute(
        insert(connections).values(
            id=connection_id,
            org_id=org_id,
            resource_id=resource_id,
            provider=provider,
            settings=dict(settings),
            credentials=credentials,
            sync_interval=sync_interval,
            status="pending",
            failures=0,
            due_at=now,
            created_at=now,
        )
    )
    return get_connection(connection, org_id, connection_id)


def get_connection(connection: Connection, org_id: str, connection_id: str) -> Obj:
    row = connection.execute(
        select(*_SHOWN).where(connections.c.org_id == org_id, connections.c.id == connection_id)
    ).first()
    if row is None:
        raise NotFound("connection")
    return _obj(row)


def list_connections(
    connection: Connection,
    org_id: str,
    limit: int = 100,
    after: str | None = None,
    *,
    resource_id: str | None = None,
    status: str | None = None,
) -> list[Obj]:
    """Up to ``limit`` connections by id after ``after``, optionally of one resource or status."""
    query = (
        select(*_SHOWN)
        .where(connections.c.org_id == org_id)
        .order_by(connections.c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(connections.c.id > after)
    if resource_id is not None:
        query = query.where(connections.c.resource_id == resource_id)
    if status is not None:
        query = query.where(connections.c.status == status)
    return [_obj(row) for row in connection.execute(query)]


def update_connection(
    connection: Connection,
    org_id: str,
    connection_id: str,
    *,
    now: int,
    settings: Mapping[str, Any] | None = None,
    credentials: bytes | None = None,
    replace_credentials: bool = False,
    sync_interval: int | None = None,
    enabled: bool | None = None,
) -> Obj:
    """Change a connection. New settings or credentials (reconnecting) start over: status
    ``pending``, no failures, no cursors, due at once; so does enabling a disabled one.
    Disabling stops its syncs and keeps its blocks."""
    current = get_connection(connection, org_id, connection_id)
    values: dict[str, Any] = {}
    restart = False
    if settings is not None:
        values["settings"] = dict(settings)
        restart = True
    if replace_credentials:
        values["credentials"] = credentials
        restart = True
    if sync_interval is not None:
        values["sync_interval"] = sync_interval
    if enabled is False:
        values.update(status="disabled", due_at=None)
    elif enabled is True and current["status"] == "disabled":
        restart = True
    if restart and enabled is not False:
        values.update(
            status="pending",
            failures=0,
            next_attempt_at=None,
            last_error=None,
            cursor=None,
            due_at=now,
        )
    if values:
        connection.execute(
            update(connections)
            .where(connections.c.org_id == org_id, connections.c.id == connection_id)
            .values(**values)
        )
    return get_connection(connection, org_id, connection_id)


def delete_connection(connection: Connection, org_id: str, connection_id: str) -> None:
    """Delete the connection and every block it synced."""
    current = get_connection(connection, org_id, connection_id)
    removed = connection.execute(
        delete(busy_blocks).where(busy_blocks.c.connection_id == connection_id)
    ).rowcount
    connection.execute(
        delete(connections).where(connections.c.org_id == org_id, connections.c.id == connection_id)
    )
    if removed:
        versions.bump_resources(connection, [current["resource_id"]])


def connection_ids_of_resources(
    connection: Connection, org_id: str, resource_ids: Sequence[str]
) -> list[str]:
    """The ids of the connections of ``resource_ids`` that can sync (not disabled and not
    waiting for a reconnect), for an on-demand sync."""
    if not resource_ids:
        return []
    rows = connection.execute(
        select(connections.c.id)
        .where(
            connections.c.org_id == org_id,
            connections.c.resource_id.in_(list(resource_ids)),
            connections.c.status.in_(("pending", "ok", "error")),
        )
        .order_by(connections.c.id)
    )
    return [row.id for row in rows]


def stored_credentials(connection: Connection, org_id: str, connection_id: str) -> bytes | None:
    """The connection's encrypted credentials (to re-check them with new settings)."""
    row = connection.execute(
        select(connections.c.credentials).where(
            connections.c.org_id == org_id, connections.c.id == connection_id
        )
    ).first()
    if row is None:
        raise NotFound("connection")
    return None if row.credentials is None else bytes(row.credentials)


def all_connections(connection: Connection, org_id: str | None = None) -> list[Obj]:
    """Every connection, of one organization or of all (the operator's view), with the slug
    of its organization and the name of its resource."""
    query = (
        select(*_SHOWN, organizations.c.slug.label("org_slug"), resources.c.name.label("resource"))
        .join(organizations, organizations.c.id == connections.c.org_id)
        .join(resources, resources.c.id == connections.c.resource_id)
        .order_by(organizations.c.slug, resources.c.name, connections.c.id)
    )
    if org_id is not None:
        query = query.where(connections.c.org_id == org_id)
    return [_obj(row) for row in connection.execute(query)]


def count_by_status(connection: Connection) -> dict[str, int]:
    """How many connections of all organizations have each status (an operator's metric)."""
    query = select(connections.c.status, func.count()).group_by(connections.c.status)
    return {status: int(n) for status, n in connection.execute(query)}


def credential_tokens(connection: Connection) -> Iterator[tuple[str, bytes]]:
    """Every stored credential token with its connection id, all organizations (rotation)."""
    rows = connection.execute(
        select(connections.c.id, connections.c.credentials)
        .where(connections.c.credentials.is_not(None))
        .order_by(connections.c.id)
    )
    for row in rows:
        yield row.id, bytes(row.credentials)


def replace_credential_token(
    connection: Connection, connection_id: str, old: bytes, new: bytes
) -> bool:
    """Store ``new`` where ``old`` still is (a reconnect meanwhile wins); whether it did."""
    result = connection.execute(
        update(connections)
        .where(connections.c.id == connection_id, connections.c.credentials == old)
        .values(credentials=new)
    )
    return bool(result.rowcount)
