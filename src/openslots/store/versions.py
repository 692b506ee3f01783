"""Change counters that key the availability cache.

An availability answer depends on the organization (its schedule, teams and locations), the
service, and each resource of the pool (schedule, blocks, bookings, holds). Each of those rows
carries a ``version`` that every such change increments in the same transaction, so a cache
entry keyed on the versions it was computed from is stale exactly when one has moved, in every
process that shares the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from openslots.store.schema import (
    connections,
    organizations,
    resources,
    service_resources,
    services,
)

__all__ = [
    "ServiceState",
    "bump_org",
    "bump_resources",
    "bump_service",
    "read_versions",
    "service_state",
]


def bump_resources(connection: Connection, resource_ids: Iterable[str]) -> None:
    ids = sorted(set(resource_ids))
    if ids:
        connection.execute(
            update(resources).where(resources.c.id.in_(ids)).values(version=resources.c.version + 1)
        )


def bump_service(connection: Connection, service_id: str) -> None:
    connection.execute(
        update(services).where(services.c.id == service_id).values(version=services.c.version + 1)
    )


def bump_org(connection: Connection, org_id: str) -> None:
    connection.execute(
        update(organizations)
        .where(organizations.c.id == org_id)
        .values(version=organizations.c.version + 1)
    )


def read_versions(
    connection: Connection, org_id: str, service_id: str, resource_ids: Iterable[str]
) -> tuple[int, ...]:
    """The versions an answer for this service and pool depends on, in a fixed order."""
    org = connection.execute(
        select(organizations.c.version).where(organizations.c.id == org_id)
    ).scalar_one()
    service = connection.execute(
        select(services.c.version).where(services.c.id == service_id)
    ).scalar_one_or_none()
    ids = sorted(set(resource_ids))
    rows = (
        dict(
            connection.execute(
                select(resources.c.id, resources.c.version).where(resources.c.id.in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    return (org, -1 if service is None else service, *(rows.get(i, -1) for i in ids))


_SERVICE_STATE = (
    select(
        organizations.c.version,
        services.c.version,
        resources.c.id,
        resources.c.version,
        connections.c.id,
        connections.c.provider,
        connections.c.status,
        connections.c.last_success_at,
        connections.c.sync_interval,
    )
    .select_from(services)
    .join(organizations, organizations.c.id == services.c.org_id)
    .outerjoin(service_resources, service_resources.c.service_id == services.c.id)
    .outerjoin(resources, resources.c.id == service_resources.c.resource_id)
    .outerjoin(connections, connections.c.resource_id == resources.c.id)
    .where(services.c.org_id == bindparam("org_id"), services.c.id == bindparam("service_id"))
    .order_by(service_resources.c.position, connections.c.id)
)


_COMPILED: dict[str, tuple[str, tuple[str, ...]]] = {}


def _driver_sql(connection: Connection) -> tuple[str, tuple[str, ...]]:
    """The state query as the driver's SQL and its positional parameter names (none when the
    driver takes named parameters). Compiled once per dialect: a cached answer costs this query
    and little else, and going through the driver directly halves its cost."""
    dialect = connection.dialect
    compiled = _COMPILED.get(dialect.name)
    if compiled is None:
        statement = _SERVICE_STATE.compile(dialect=dialect)
        names = tuple(statement.positiontup or ()) if dialect.positional else ()
        compiled = _COMPILED[dialect.name] = (str(statement), names)
    return compiled


@dataclass(frozen=True, slots=True)
class ServiceState:
    """What an availability answer for a service depends on, read in one query.

    ``versions``: the organization's version, the service's, and each pool resource's id and
    version, in pool order. The pool is part of the service (changing it bumps the service), so
    this is :func:`read_versions` of the service's pool with the ids alongside.

    ``connections``: the calendar connections of the pool's resources (``id``, ``resource_id``,
    ``provider``, ``status``, ``last_success_at`` UTC seconds or None, ``sync_interval``
    minutes). They are reported with each answer and change without a version (a sync that
    finds nothing new), so they are read fresh every time.
    """

    versions: tuple[object, ...]
    connections: tuple[dict[str, Any], ...]


def service_state(connection: Connection, org_id: str, service_id: str) -> ServiceState | None:
    """The state of this organization's service; None when it has no such service. (The
    statement is built once: this read is most of the work of a cached answer.)"""
    sql, names = _driver_sql(connection)
    values = {"org_id": org_id, "service_id": service_id}
    params: Any = tuple(values[n] for n in names) if names else values
    rows = connection.exec_driver_sql(sql, params).all()
    if not rows:
        return None
    versions: list[object] = [rows[0][0], rows[0][1]]
    found: list[dict[str, Any]] = []
    last = None
    for _, _, resource_id, version, connection_id, provider, status, synced, interval in rows:
        if resource_id is not None and resource_id != last:
            versions.extend((resource_id, version))
            last = resource_id
        if connection_id is not None:
            found.append(
                {
                    "id": connection_id,
                    "resource_id": resource_id,
                    "provider": provider,
                    "status": status,
                    "last_success_at": synced,
                    "sync_interval": interval,
                }
            )
    return ServiceState(tuple(versions), tuple(found))
