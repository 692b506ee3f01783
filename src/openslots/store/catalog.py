"""Organizations and what they book: locations, teams, resources, services.

Every function takes the organization's id and touches only its rows, so one tenant can never
read or change another's objects: a foreign id is simply "not found". Objects are plain dicts in
the shape of the API (and of SCENARIO.md for the fields they share). Every change that can alter
availability bumps a version (see :mod:`openslots.store.versions`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select, update

from openslots import errors
from openslots.store import versions
from openslots.store.schema import (
    locations,
    organizations,
    resource_locations,
    resources,
    service_resources,
    services,
    teams,
)

__all__ = [
    "NotFound",
    "create",
    "create_org",
    "delete_object",
    "get",
    "get_org",
    "list_objects",
    "org_of_resource",
    "set_org_schedule",
    "update_object",
]

Obj = dict[str, Any]


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class NotFound(errors.NotFound):
    """No such object in this organization.

    ``what`` names the kind of object (``resource``, ``team_id``); an id passed here is never
    echoed, so a 404 reads the same for a missing and a foreign object and carries none of its ids.
    """

    def __init__(self, what: str) -> None:
        noun = _UUID.sub("object", what)
        super().__init__(f"not found: no such {noun} in this organization")


def new_id() -> str:
    return str(uuid.uuid4())


# -- organizations --------------------------------------------------------------------------


def create_org(connection: Connection, name: str, slug: str, now: int) -> Obj:
    org_id = new_id()
    connection.execute(
        insert(organizations).values(id=org_id, slug=slug, name=name, created_at=now, version=0)
    )
    return {"id": org_id, "slug": slug, "name": name, "schedule": None}


def get_org(connection: Connection, org_id: str) -> Obj:
    row = connection.execute(select(organizations).where(organizations.c.id == org_id)).first()
    if row is None:
        raise NotFound("organization")
    return {"id": row.id, "slug": row.slug, "name": row.name, "schedule": row.schedule}


def set_org_schedule(connection: Connection, org_id: str, schedule: Obj | None) -> None:
    connection.execute(
        update(organizations).where(organizations.c.id == org_id).values(schedule=schedule)
    )
    versions.bump_org(connection, org_id)


# -- the four kinds of objects --------------------------------------------------------------

_TABLES: dict[str, Table] = {
    "locations": locations,
    "teams": teams,
    "resources": resources,
    "services": services,
}
_NOUNS = {"locations": "location", "teams": "team", "resources": "resource", "services": "service"}
# Plain columns an API body may set, per kind (ids, org and versions are never set by a body).
_FIELDS: dict[str, tuple[str, ...]] = {
    "locations": ("name", "timezone", "schedule"),
    "teams": ("name", "schedule"),
    "resources": ("name", "timezone", "capacity", "team_id", "schedule"),
    "services": (
        "name",
        "duration",
        "duration_options",
        "duration_interval",
        "interval",
        "buffer_before",
        "buffer_after",
        "min_notice",
        "horizon",
        "seats",
        "mode",
        "location_id",
    ),
}


def _to_obj(kind: str, row: Any, extra: Mapping[str, Any]) -> Obj:
    m = row._mapping
    obj: Obj = {"id": m["id"]}
    obj.update({field: m[field] for field in _FIELDS[kind]})
    if kind == "services":
        obj["caps"] = {"per_day": m["cap_per_day"], "per_week": m["cap_per_week"]}
    obj.update(extra)
    return obj


def _members(connection: Connection, kind: str, ids: Sequence[str]) -> dict[str, Obj]:
    """The related ids each object carries: a resource's locations, a service's resources, a
    team's members."""
    extra: dict[str, Obj] = {i: {} for i in ids}
    if not ids:
        return extra
    if kind == "resources":
        for i in ids:
            extra[i]["location_ids"] = []
        rows = connection.execute(
            select(resource_locations.c.resource_id, resource_locations.c.location_id)
            .where(resource_locations.c.resource_id.in_(ids))
            .order_by(resource_locations.c.location_id)
        )
        for resource_id, location_id in rows:
            extra[resource_id]["location_ids"].append(location_id)
    elif kind == "services":
        for i in ids:
            extra[i]["resource_ids"] = []
        rows = connection.execute(
            select(service_resources.c.service_id, service_resources.c.resource_id)
            .where(service_resources.c.service_id.in_(ids))
            .order_by(service_resources.c.position)
        )
        for service_id, resource_id in rows:
            extra[service_id]["resource_ids"].append(resource_id)
    elif kind == "teams":
        for i in ids:
            extra[i]["member_ids"] = []
        rows = connection.execute(
            select(resources.c.team_id, resources.c.id)
            .where(resources.c.team_id.in_(ids))
            .order_by(resources.c.name, resources.c.id)
        )
        for team_id, resource_id in rows:
            extra[team_id]["member_ids"].append(resource_id)
    return extra


def _owned(connection: Connection, table: Table, org_id: str, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    rows = connection.execute(
        select(table.c.id).where(table.c.org_id == org_id, table.c.id.in_(list(ids)))
    )
    return {r.id for r in rows}


def _check_references(
    connection: Connection, org_id: str, kind: str, body: Mapping[str, Any]
) -> None:
    """Ids in a body must name this organization's objects (else NotFound, as for a path id)."""
    refs: list[tuple[Table, Sequence[str], str]] = []
    if body.get("team_id") is not None:
        refs.append((teams, [body["team_id"]], "team_id"))
    if body.get("location_id") is not None:
        refs.append((locations, [body["location_id"]], "location_id"))
    if kind == "resources" and body.get("location_ids"):
        refs.append((locations, body["location_ids"], "location_ids"))
    if kind == "services" and body.get("resource_ids"):
        refs.append((resources, body["resource_ids"], "resource_ids"))
    for table, ids, field in refs:
        missing = set(ids) - _owned(connection, table, org_id, ids)
        if missing:
            raise NotFound(f"object named by {field}")


def _columns(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    values = {f: body[f] for f in _FIELDS[kind] if f in body}
    if kind == "services" and "caps" in body:
        caps = body["caps"] or {}
        values["cap_per_day"] = caps.get("per_day")
        values["cap_per_week"] = caps.get("per_week")
    return values


def _set_links(connection: Connection, kind: str, object_id: str, body: Mapping[str, Any]) -> None:
    if kind == "resources" and "location_ids" in body:
        connection.execute(
            delete(resource_locations).where(resource_locations.c.resource_id == object_id)
        )
        for location_id in body["location_ids"] or []:
            connection.execute(
                insert(resource_locations).values(resource_id=object_id, location_id=location_id)
            )
    if kind == "services" and "resource_ids" in body:
        connection.execute(
            delete(service_resources).where(service_resources.c.service_id == object_id)
        )
        for position, resource_id in enumerate(body["resource_ids"] or []):
            connection.execute(
                insert(service_resources).values(
                    service_id=object_id, resource_id=resource_id, position=position
                )
            )


def _bump(connection: Connection, kind: str, org_id: str, object_id: str) -> None:
    if kind == "resources":
        versions.bump_resources(connection, [object_id])
    elif kind == "services":
        versions.bump_service(connection, object_id)
    else:
        # Teams and locations feed many resources' hours (inheritance, location hours).
        versions.bump_org(connection, org_id)


def create(connection: Connection, org_id: str, kind: str, body: Mapping[str, Any]) -> Obj:
    """Create an object of ``kind`` from a validated body; ids it names must be the org's."""
    _check_references(connection, org_id, kind, body)
    object_id = new_id()
    table = _TABLES[kind]
    values = _columns(kind, body)
    if "version" in table.c:
        values["version"] = 0
    connection.execute(insert(table).values(id=object_id, org_id=org_id, **values))
    _set_links(connection, kind, object_id, body)
    _bump(connection, kind, org_id, object_id)
    return get(connection, org_id, kind, object_id)


def get(connection: Connection, org_id: str, kind: str, object_id: str) -> Obj:
    table = _TABLES[kind]
    row = connection.execute(
        select(table).where(table.c.org_id == org_id, table.c.id == object_id)
    ).first()
    if row is None:
        raise NotFound(_NOUNS[kind])
    return _to_obj(kind, row, _members(connection, kind, [object_id])[object_id])


def org_of_resource(connection: Connection, resource_id: str) -> str | None:
    """The organization a resource belongs to, for operators' commands that name only the
    resource (``openslots connect``); None when there is no such resource."""
    row = connection.execute(
        select(resources.c.org_id).where(resources.c.id == resource_id)
    ).first()
    return None if row is None else str(row.org_id)


def list_objects(
    connection: Connection, org_id: str, kind: str, limit: int = 100, after: str | None = None
) -> list[Obj]:
    """Up to ``limit`` objects ordered by id, starting after the id ``after`` (keyset paging)."""
    table = _TABLES[kind]
    query = select(table).where(table.c.org_id == org_id).order_by(table.c.id).limit(limit)
    if after is not None:
        query = query.where(table.c.id > after)
    rows = connection.execute(query).all()
    extra = _members(connection, kind, [r.id for r in rows])
    return [_to_obj(kind, row, extra[row.id]) for row in rows]


def update_object(
    connection: Connection, org_id: str, kind: str, object_id: str, body: Mapping[str, Any]
) -> Obj:
    """Change the fields present in ``body``; NotFound when the org has no such object."""
    get(connection, org_id, kind, object_id)
    _check_references(connection, org_id, kind, body)
    table = _TABLES[kind]
    values = _columns(kind, body)
    if values:
        connection.execute(
            update(table).where(table.c.org_id == org_id, table.c.id == object_id).values(**values)
        )
    _set_links(connection, kind, object_id, body)
    _bump(connection, kind, org_id, object_id)
    return get(connection, org_id, kind, object_id)


def delete_object(connection: Connection, org_id: str, kind: str, object_id: str) -> None:
    table = _TABLES[kind]
    # Bump first: services and teams that referred to the object must see the change.
    get(connection, org_id, kind, object_id)
    if kind == "resources":
        service_ids = [
            r.service_id
            for r in connection.execute(
                select(service_resources.c.service_id).where(
                    service_resources.c.resource_id == object_id
                )
            )
        ]
        for service_id in service_ids:
            versions.bump_service(connection, service_id)
    else:
        _bump(connection, kind, org_id, object_id)
    connection.execute(delete(table).where(table.c.org_id == org_id, table.c.id == object_id))
