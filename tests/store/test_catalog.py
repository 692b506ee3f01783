"""The catalog in the store, on SQLite and PostgreSQL: CRUD, tenant scoping, links, versions."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from openslots.store import catalog
from openslots.store.database import Database
from openslots.store.schema import organizations, resources, services

NOW = 1_772_366_400
NY = {"timezone": "America/New_York", "rules": [{"day": "mon", "start": "09:00", "end": "17:00"}]}


def _org(database: Database, name: str) -> str:
    with database.write() as connection:
        org_id: str = catalog.create_org(connection, name, name, NOW)["id"]
    return org_id


def _make(database: Database, org: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    with database.write() as connection:
        return catalog.create(connection, org, kind, body)


def _version(database: Database, table: Any, object_id: str) -> int:
    with database.read() as connection:
        value: int = connection.execute(
            select(table.c.version).where(table.c.id == object_id)
        ).scalar_one()
    return value


@pytest.fixture
def org(database: Database) -> str:
    return _org(database, "acme")


def test_objects_round_trip_in_the_api_shape(database: Database, org: str) -> None:
    location = _make(database, org, "locations", {"name": "NYC", "timezone": "America/New_York"})
    team = _make(database, org, "teams", {"name": "Stylists", "schedule": NY})
    alice = _make(
        database,
        org,
        "resources",
        {
            "name": "alice",
            "timezone": "America/New_York",
            "capacity": 2,
            "team_id": team["id"],
            "location_ids": [location["id"]],
        },
    )
    bob = _make(database, org, "resources", {"name": "bob", "timezone": "UTC"})
    service = _make(
        database,
        org,
        "services",
        {
            "name": "haircut",
            "duration": 30,
            "duration_options": [30, 60],
            "buffer_after": 10,
            "caps": {"per_day": 4, "per_week": None},
            # The pool keeps its order (ties and anchoring follow it), whatever the ids sort to.
            "resource_ids": sorted([alice["id"], bob["id"]], reverse=True),
            "location_id": location["id"],
            "mode": "balanced",
        },
    )
    with database.read() as connection:
        assert catalog.get(connection, org, "resources", alice["id"]) == alice
        assert alice["capacity"] == 2
        assert alice["location_ids"] == [location["id"]]
        assert catalog.get(connection, org, "teams", team["id"])["member_ids"] == [alice["id"]]
        got = catalog.get(connection, org, "services", service["id"])
    assert got["resource_ids"] == sorted([alice["id"], bob["id"]], reverse=True)
    assert got["caps"] == {"per_day": 4, "per_week": None}
    assert got["duration_options"] == [30, 60]
    assert (got["buffer_before"], got["buffer_after"], got["min_notice"]) == (0, 10, 0)
    assert got["mode"] == "balanced"
    assert got["interval"] is None
    assert bob["capacity"] == 1
    assert bob["team_id"] is None
    assert bob["schedule"] is None


def test_update_changes_only_the_fields_given(database: Database, org: str) -> None:
    service = _make(database, org, "services", {"name": "s", "duration": 30, "buffer_before": 5})
    with database.write() as connection:
        updated = catalog.update_object(
            connection, org, "services", service["id"], {"duration": 45, "caps": {"per_week": 2}}
        )
    assert updated["duration"] == 45
    assert updated["buffer_before"] == 5
    assert updated["name"] == "s"
    assert updated["caps"] == {"per_day": None, "per_week": 2}


def test_lists_page_by_id_and_show_only_the_organization(database: Database, org: str) -> None:
    other = _org(database, "other")
    made = sorted(_make(database, org, "teams", {"name": f"t{i}"})["id"] for i in range(5))
    _make(database, other, "teams", {"name": "foreign"})
    with database.read() as connection:
        first = catalog.list_objects(connection, org, "teams", limit=2)
        second = catalog.list_objects(connection, org, "teams", limit=2, after=first[-1]["id"])
        rest = catalog.list_objects(connection, org, "teams", limit=9, after=second[-1]["id"])
    assert [t["id"] for t in first + second + rest] == made


@pytest.mark.parametrize("kind", ["locations", "teams", "resources", "services"])
def test_foreign_objects_are_not_found_and_untouched(
    database: Database, org: str, kind: str
) -> None:
    other = _org(database, "other")
    bodies = {
        "locations": {"name": "x", "timezone": "UTC"},
        "teams": {"name": "x"},
        "resources": {"name": "x", "timezone": "UTC"},
        "services": {"name": "x", "duration": 30},
    }
    foreign = _make(database, other, kind, bodies[kind])
    with database.write() as connection:
        for attempt in (
            lambda: catalog.get(connection, org, kind, foreign["id"]),
            lambda: catalog.update_object(connection, org, kind, foreign["id"], {"name": "mine"}),
            lambda: catalog.delete_object(connection, org, kind, foreign["id"]),
        ):
            with pytest.raises(catalog.NotFound) as raised:
                attempt()
            # A 404 never echoes the id: it reads the same for a missing and a foreign object.
            assert foreign["id"] not in str(raised.value)
        assert catalog.list_objects(connection, org, kind) == []
    with database.read() as connection:
        assert catalog.get(connection, other, kind, foreign["id"]) == foreign


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("resources", "team_id"),
        ("resources", "location_ids"),
        ("services", "resource_ids"),
        ("services", "location_id"),
    ],
)
def test_ids_in_a_body_must_be_the_organizations(
    database: Database, org: str, kind: str, field: str
) -> None:
    other = _org(database, "other")
    mine_team = _make(database, org, "teams", {"name": "mine"})
    theirs = {
        "team_id": _make(database, other, "teams", {"name": "t"})["id"],
        "location_ids": [
            _make(database, other, "locations", {"name": "l", "timezone": "UTC"})["id"]
        ],
        "resource_ids": [
            _make(database, other, "resources", {"name": "r", "timezone": "UTC"})["id"]
        ],
        "location_id": _make(database, other, "locations", {"name": "l", "timezone": "UTC"})["id"],
    }[field]
    base = (
        {"name": "x", "timezone": "UTC", "team_id": mine_team["id"]}
        if kind == "resources"
        else {"name": "x", "duration": 30}
    )
    with database.write() as connection, pytest.raises(catalog.NotFound):
        catalog.create(connection, org, kind, {**base, field: theirs})
    mine = _make(database, org, kind, base)
    with database.write() as connection, pytest.raises(catalog.NotFound):
        catalog.update_object(connection, org, kind, mine["id"], {field: theirs})
    with database.read() as connection:
        assert catalog.get(connection, org, kind, mine["id"]) == mine
        assert len(catalog.list_objects(connection, org, kind)) == 1


def test_deleting_detaches_what_referred_to_the_object(database: Database, org: str) -> None:
    location = _make(database, org, "locations", {"name": "l", "timezone": "UTC"})
    team = _make(database, org, "teams", {"name": "t"})
    resource = _make(
        database,
        org,
        "resources",
        {"name": "r", "timezone": "UTC", "team_id": team["id"], "location_ids": [location["id"]]},
    )
    other = _make(database, org, "resources", {"name": "r2", "timezone": "UTC"})
    service = _make(
        database,
        org,
        "services",
        {
            "name": "s",
            "duration": 30,
            "resource_ids": [resource["id"], other["id"]],
            "location_id": location["id"],
        },
    )
    version = _version(database, services, service["id"])
    with database.write() as connection:
        catalog.delete_object(connection, org, "teams", team["id"])
        catalog.delete_object(connection, org, "locations", location["id"])
        catalog.delete_object(connection, org, "resources", other["id"])
    with database.read() as connection:
        kept = catalog.get(connection, org, "resources", resource["id"])
        pooled = catalog.get(connection, org, "services", service["id"])
        with pytest.raises(catalog.NotFound):
            catalog.get(connection, org, "teams", team["id"])
    assert kept["team_id"] is None
    assert kept["location_ids"] == []
    assert pooled["location_id"] is None
    assert pooled["resource_ids"] == [resource["id"]]
    # The pool changed: answers cached for the service must be recomputed.
    assert _version(database, services, service["id"]) > version


def test_changes_that_alter_availability_bump_versions(database: Database, org: str) -> None:
    resource = _make(database, org, "resources", {"name": "r", "timezone": "UTC"})
    service = _make(database, org, "services", {"name": "s", "duration": 30})
    team = _make(database, org, "teams", {"name": "t"})
    before = (
        _version(database, resources, resource["id"]),
        _version(database, services, service["id"]),
        _version(database, organizations, org),
    )
    with database.write() as connection:
        catalog.update_object(connection, org, "resources", resource["id"], {"schedule": NY})
        catalog.update_object(connection, org, "services", service["id"], {"buffer_after": 5})
        catalog.update_object(connection, org, "teams", team["id"], {"schedule": NY})
    after = (
        _version(database, resources, resource["id"]),
        _version(database, services, service["id"]),
        _version(database, organizations, org),
    )
    assert all(a > b for a, b in zip(after, before, strict=True))
    with database.write() as connection:
        catalog.set_org_schedule(connection, org, NY)
        assert catalog.get_org(connection, org)["schedule"] == NY
    assert _version(database, organizations, org) > after[2]
