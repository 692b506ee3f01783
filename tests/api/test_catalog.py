"""The catalog over HTTP: CRUD of locations, teams, resources and services, schedules, paging,
and validation with the scenario parser's field names and bounds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openslots.engine import parse_scenario
from openslots.engine.scenario import MAX_COUNT, MAX_DURATION, MAX_MINUTES
from tests.conftest import Tenant

NY_HOURS = {
    "timezone": "America/New_York",
    "rules": [
        {"day": "mon", "start": "09:00", "end": "12:00"},
        {"day": "mon", "start": "13:00", "end": "17:00"},
    ],
    "overrides": [{"date": "2026-03-10", "intervals": []}],
}
BODIES: dict[str, dict[str, Any]] = {
    "locations": {"name": "NYC", "timezone": "America/New_York"},
    "teams": {"name": "Stylists"},
    "resources": {"name": "alice", "timezone": "America/New_York"},
    "services": {"name": "haircut", "duration": 30},
}
KINDS = list(BODIES)


@pytest.fixture
def acme(make_tenant: Callable[[str], Tenant]) -> Tenant:
    return make_tenant("acme")


def _post(client: TestClient, tenant: Tenant, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/v1/{kind}", json=body, headers=tenant.headers("write"))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.mark.parametrize("kind", KINDS)
def test_create_read_update_delete(client: TestClient, acme: Tenant, kind: str) -> None:
    created = _post(client, acme, kind, BODIES[kind])
    assert created["name"] == BODIES[kind]["name"]
    url = f"/v1/{kind}/{created['id']}"
    assert client.get(url, headers=acme.headers("read")).json() == created
    listed = client.get(f"/v1/{kind}", headers=acme.headers("read")).json()
    assert listed == {"items": [created], "next_after": None}
    patched = client.patch(url, json={"name": "renamed"}, headers=acme.headers("write"))
    assert patched.status_code == 200, patched.text
    assert patched.json() == {**created, "name": "renamed"}
    deleted = client.delete(url, headers=acme.headers("write"))
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert _error(client.get(url, headers=acme.headers()), 404)["code"] == "not_found"
    assert _error(client.delete(url, headers=acme.headers()), 404)["code"] == "not_found"
    assert _error(client.patch(url, json={"name": "x"}, headers=acme.headers()), 404)
    assert client.get(f"/v1/{kind}", headers=acme.headers()).json()["items"] == []


def test_every_scenario_field_of_a_service_round_trips(client: TestClient, acme: Tenant) -> None:
    location = _post(client, acme, "locations", BODIES["locations"])
    alice = _post(client, acme, "resources", {"name": "alice", "timezone": "America/New_York"})
    bob = _post(client, acme, "resources", {"name": "bob", "timezone": "Europe/London"})
    body = {
        "name": "consult",
        "duration": 30,
        "duration_options": [30, 60],
        "duration_interval": None,
        "interval": 15,
        "buffer_before": 5,
        "buffer_after": 10,
        "min_notice": 120,
        "horizon": 43_200,
        "seats": 4,
        "caps": {"per_day": 6, "per_week": 20},
        "resource_ids": [bob["id"], alice["id"]],  # an ordered pool
        "location_id": location["id"],
        "mode": "balanced",
    }
    service = _post(client, acme, "services", body)
    assert service == {"id": service["id"], **body}
    assert client.get(f"/v1/services/{service['id']}", headers=acme.headers()).json() == service


def test_a_resource_with_team_locations_and_schedule(client: TestClient, acme: Tenant) -> None:
    team = _post(client, acme, "teams", {"name": "t", "schedule": NY_HOURS})
    here = _post(client, acme, "locations", {"name": "a", "timezone": "UTC"})
    there = _post(client, acme, "locations", {"name": "b", "timezone": "UTC"})
    resource = _post(
        client,
        acme,
        "resources",
        {
            "name": "room",
            "capacity": 3,
            "team_id": team["id"],
            "location_ids": [here["id"], there["id"]],
            "schedule": NY_HOURS,
        },
    )
    # Without a timezone, the resource takes its schedule's.
    assert resource["timezone"] == "America/New_York"
    assert resource["capacity"] == 3
    assert sorted(resource["location_ids"]) == sorted([here["id"], there["id"]])
    assert resource["schedule"] == NY_HOURS
    members = client.get(f"/v1/teams/{team['id']}", headers=acme.headers()).json()["member_ids"]
    assert members == [resource["id"]]


def test_what_the_api_stores_the_engine_accepts(client: TestClient, acme: Tenant) -> None:
    # The largest values the API takes are the scenario parser's own bounds.
    team = _post(client, acme, "teams", {"name": "t", "schedule": NY_HOURS})
    resource = _post(
        client,
        acme,
        "resources",
        {"name": "r", "timezone": "Asia/Kolkata", "capacity": MAX_COUNT, "team_id": team["id"]},
    )
    service = _post(
        client,
        acme,
        "services",
        {
            "name": "s",
            "duration": MAX_DURATION,
            "interval": MAX_DURATION,
            "buffer_before": MAX_DURATION,
            "buffer_after": MAX_DURATION,
            "min_notice": MAX_MINUTES,
            "horizon": MAX_MINUTES,
            "seats": MAX_COUNT,
            "caps": {"per_day": MAX_COUNT, "per_week": MAX_COUNT},
            "resource_ids": [resource["id"]],
        },
    )
    scenario = {
        "now": "2026-03-01T12:00:00Z",
        "teams": [{"id": team["id"], "schedule": team["schedule"]}],
        "service": {k: v for k, v in service.items() if k != "name"},
        "resources": [
            {k: v for k, v in resource.items() if k not in {"name", "location_ids"}},
        ],
        "query": {"start": "2026-03-02", "end": "2026-03-03"},
    }
    parsed = parse_scenario(scenario)
    assert parsed.service.duration == MAX_DURATION
    assert parsed.resources[0].capacity == MAX_COUNT


INVALID_BODIES = [
    ("locations", {"name": "x", "timezone": "Mars/Olympus"}, "timezone"),
    ("locations", {"name": "x"}, "timezone"),
    ("locations", {"name": "", "timezone": "UTC"}, "name"),
    ("locations", {"name": "x", "timezone": "UTC", "org_id": "y"}, "org_id"),
    ("teams", {"name": "x", "id": "chosen"}, "id"),
    ("teams", {"name": "x", "members": []}, "members"),
    ("teams", {"name": 5}, "name"),
    ("resources", {"name": "x"}, "timezone"),
    ("resources", {"name": "x", "timezone": "UTC", "capacity": 0}, "capacity"),
    ("resources", {"name": "x", "timezone": "UTC", "capacity": MAX_COUNT + 1}, "capacity"),
    ("resources", {"name": "x", "timezone": "UTC", "capacity": "2"}, "capacity"),
    ("resources", {"name": "x", "timezone": "UTC", "capacity": True}, "capacity"),
    ("resources", {"name": "x", "timezone": "UTC", "capacity": 1.5}, "capacity"),
    (
        "resources",
        {
            "name": "x",
            "schedule": {
                "timezone": "UTC",
                "rules": [{"day": "mon", "start": "09:00", "end": "09:00"}],
            },
        },
        "schedule.rules.0.end",
    ),
    (
        "resources",
        {"name": "x", "schedule": {"timezone": "Nowhere/Land", "rules": []}},
        "schedule.timezone",
    ),
    ("services", {"name": "x"}, "duration"),
    ("services", {"name": "x", "duration": 0}, "duration"),
    ("services", {"name": "x", "duration": MAX_DURATION + 1}, "duration"),
    ("services", {"name": "x", "duration": 30, "interval": 0}, "interval"),
    ("services", {"name": "x", "duration": 30, "buffer_before": -1}, "buffer_before"),
    (
        "services",
        {"name": "x", "duration": 30, "buffer_after": MAX_DURATION + 1},
        "buffer_after",
    ),
    ("services", {"name": "x", "duration": 30, "min_notice": MAX_MINUTES + 1}, "min_notice"),
    ("services", {"name": "x", "duration": 30, "horizon": -5}, "horizon"),
    ("services", {"name": "x", "duration": 30, "seats": 0}, "seats"),
    ("services", {"name": "x", "duration": 30, "caps": {"per_day": 0}}, "caps.per_day"),
    ("services", {"name": "x", "duration": 30, "caps": {"per_month": 3}}, "caps.per_month"),
    ("services", {"name": "x", "duration": 30, "mode": "round_robin"}, "mode"),
    ("services", {"name": "x", "duration": 30, "duration_options": [15, 45]}, "duration"),
    (
        "services",
        {"name": "x", "duration": 30, "duration_options": [30, 0]},
        "duration_options.1",
    ),
    (
        "services",
        {"name": "x", "duration": 30, "duration_options": [30, 30]},
        "duration_options.1",
    ),
    ("services", {"name": "x", "duration": 30, "resource_ids": "abc"}, "resource_ids"),
    ("services", {"name": "x", "duration": 30, "durration": 30}, "durration"),
]


def test_invalid_bodies_get_422_naming_the_field(client: TestClient, acme: Tenant) -> None:
    for kind, body, field in INVALID_BODIES:
        error = _error(client.post(f"/v1/{kind}", json=body, headers=acme.headers()), 422)
        assert (error["code"], error["field"]) == ("validation_error", field), body
    for kind in {kind for kind, _, _ in INVALID_BODIES}:
        assert client.get(f"/v1/{kind}", headers=acme.headers()).json()["items"] == []


def test_ids_listed_twice_are_refused(client: TestClient, acme: Tenant) -> None:
    resource = _post(client, acme, "resources", BODIES["resources"])
    body = {"name": "s", "duration": 30, "resource_ids": [resource["id"], resource["id"]]}
    error = _error(client.post("/v1/services", json=body, headers=acme.headers()), 422)
    assert error["field"] == "resource_ids.1"


UNKNOWN_IDS = [
    ("resources", "team_id", "4b0c0e5a-8d1c-4c44-9a55-2a9d9c1f0000"),
    ("resources", "location_ids", ["4b0c0e5a-8d1c-4c44-9a55-2a9d9c1f0000"]),
    ("services", "resource_ids", ["no-such-resource"]),
    ("services", "location_id", "no-such-location"),
]


def test_unknown_ids_in_a_body_are_404(client: TestClient, acme: Tenant) -> None:
    for kind, field, value in UNKNOWN_IDS:
        error = _error(
            client.post(f"/v1/{kind}", json={**BODIES[kind], field: value}, headers=acme.headers()),
            404,
        )
        assert error["code"] == "not_found", (kind, field)
        assert str(value).strip("[]'") not in error["message"]
        assert client.get(f"/v1/{kind}", headers=acme.headers()).json()["items"] == []


def test_patch_changes_only_what_is_sent_and_null_clears(client: TestClient, acme: Tenant) -> None:
    service = _post(
        client,
        acme,
        "services",
        {"name": "s", "duration": 30, "horizon": 600, "caps": {"per_day": 2}},
    )
    url = f"/v1/services/{service['id']}"
    patched = client.patch(url, json={"horizon": None, "buffer_after": 5}, headers=acme.headers())
    assert patched.status_code == 200, patched.text
    assert patched.json() == {**service, "horizon": None, "buffer_after": 5}
    # Required fields cannot be cleared.
    for field in ("duration", "name", "mode", "buffer_before"):
        error = _error(client.patch(url, json={field: None}, headers=acme.headers()), 422)
        assert error["field"] == field
    # Cross-field rules hold on the merged object.
    client.patch(url, json={"duration_options": [30, 60]}, headers=acme.headers())
    error = _error(client.patch(url, json={"duration": 45}, headers=acme.headers()), 422)
    assert error["field"] == "duration"
    error = _error(client.patch(url, json={"duration_options": [15]}, headers=acme.headers()), 422)
    assert error["field"] == "duration_options"
    ok = client.patch(url, json={"duration": 15, "duration_options": [15]}, headers=acme.headers())
    assert ok.status_code == 200, ok.text
    assert client.get(url, headers=acme.headers()).json()["duration"] == 15


def test_patch_a_resource_pool_and_links(client: TestClient, acme: Tenant) -> None:
    team = _post(client, acme, "teams", {"name": "t"})
    resource = _post(client, acme, "resources", BODIES["resources"])
    url = f"/v1/resources/{resource['id']}"
    patched = client.patch(url, json={"team_id": team["id"], "capacity": 2}, headers=acme.headers())
    assert patched.json()["team_id"] == team["id"]
    assert patched.json()["capacity"] == 2
    cleared = client.patch(url, json={"team_id": None}, headers=acme.headers()).json()
    assert cleared["team_id"] is None
    assert (
        _error(client.patch(url, json={"timezone": "Bad/Zone"}, headers=acme.headers()), 422)[
            "field"
        ]
        == "timezone"
    )


@pytest.mark.parametrize("owner", ["resources", "teams", "locations", "organization"])
def test_schedules_are_replaced_whole_and_validated(
    client: TestClient, acme: Tenant, owner: str
) -> None:
    if owner == "organization":
        url = "/v1/organization/schedule"
    else:
        url = f"/v1/{owner}/{_post(client, acme, owner, BODIES[owner])['id']}/schedule"
    assert client.get(url, headers=acme.headers("read")).json() is None
    put = client.put(url, json=NY_HOURS, headers=acme.headers("write"))
    assert put.status_code == 200, put.text
    assert put.json() == NY_HOURS
    assert client.get(url, headers=acme.headers("read")).json() == NY_HOURS
    # PUT replaces the whole schedule: the override is gone, the rules are the new ones.
    replacement = {
        "timezone": "Europe/Paris",
        "rules": [{"day": "sat", "start": "10:00", "end": "24:00"}],
    }
    assert client.put(url, json=replacement, headers=acme.headers()).status_code == 200
    assert client.get(url, headers=acme.headers()).json() == {**replacement, "overrides": []}
    invalid = [
        (
            {"timezone": "UTC", "rules": [{"day": "mon", "start": "17:00", "end": "09:00"}]},
            "rules.0.end",
        ),
        (
            {
                "timezone": "UTC",
                "rules": [
                    {"day": "mon", "start": "09:00", "end": "12:00"},
                    {"day": "mon", "start": "13:00", "end": "13:00"},
                ],
            },
            "rules.1.end",
        ),
        ({"timezone": "Atlantis/Capital", "rules": []}, "timezone"),
        ({"rules": []}, "timezone"),
        (
            {"timezone": "UTC", "rules": [{"day": "someday", "start": "09:00", "end": "10:00"}]},
            "rules.0.day",
        ),
        (
            {"timezone": "UTC", "rules": [{"day": "mon", "start": "9am", "end": "10:00"}]},
            "rules.0.start",
        ),
        (
            {"timezone": "UTC", "rules": [{"day": "mon", "start": "24:00", "end": "24:00"}]},
            "rules.0.start",
        ),
        ({"timezone": "UTC", "rules": [], "holidays": []}, "holidays"),
        (
            {
                "timezone": "UTC",
                "overrides": [
                    {"date": "2026-03-10", "intervals": []},
                    {"date": "2026-03-10", "intervals": []},
                ],
            },
            "overrides.1.date",
        ),
        (
            {"timezone": "UTC", "overrides": [{"date": "2026-02-30", "intervals": []}]},
            "overrides.0.date",
        ),
    ]
    for document, field in invalid:
        error = _error(client.put(url, json=document, headers=acme.headers()), 422)
        assert (error["code"], error["field"]) == ("validation_error", field), document
    # A refused PUT leaves the schedule as it was.
    assert client.get(url, headers=acme.headers()).json() == {**replacement, "overrides": []}
    assert client.delete(url, headers=acme.headers()).status_code == 204
    assert client.get(url, headers=acme.headers()).json() is None


def test_a_schedule_put_is_seen_on_the_object(client: TestClient, acme: Tenant) -> None:
    resource = _post(client, acme, "resources", BODIES["resources"])
    client.put(f"/v1/resources/{resource['id']}/schedule", json=NY_HOURS, headers=acme.headers())
    got = client.get(f"/v1/resources/{resource['id']}", headers=acme.headers()).json()
    assert got["schedule"] == NY_HOURS


def test_the_organization(client: TestClient, acme: Tenant) -> None:
    org = client.get("/v1/organization", headers=acme.headers("read")).json()
    assert org["id"] == acme.org_id
    assert org["name"] == "acme"
    assert org["schedule"] is None
    client.put("/v1/organization/schedule", json=NY_HOURS, headers=acme.headers("write"))
    assert client.get("/v1/organization", headers=acme.headers()).json()["schedule"] == NY_HOURS


def test_lists_page_through_every_object_once(client: TestClient, acme: Tenant) -> None:
    made = sorted(_post(client, acme, "teams", {"name": f"t{i}"})["id"] for i in range(7))
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, **({"after": after} if after else {})}
        body = client.get("/v1/teams", params=params, headers=acme.headers("read")).json()
        seen += [t["id"] for t in body["items"]]
        pages += 1
        after = body["next_after"]
        if after is None:
            break
    assert seen == made
    assert pages == 3
    # A page that ends exactly at the last object says so: no empty extra page.
    exact = client.get("/v1/teams", params={"limit": 7}, headers=acme.headers()).json()
    assert exact["next_after"] is None


BAD_LIMITS = ["0", "-1", "501", "abc", "1.5"]


def test_bad_page_sizes_get_400_naming_limit(client: TestClient, acme: Tenant) -> None:
    for limit in BAD_LIMITS:
        error = _error(client.get(f"/v1/resources?limit={limit}", headers=acme.headers()), 400)
        assert error["field"] == "limit", limit


def test_read_keys_cannot_change_the_catalog(client: TestClient, acme: Tenant) -> None:
    team = _post(client, acme, "teams", {"name": "t"})
    url = f"/v1/teams/{team['id']}"
    read = acme.headers("read")
    assert _error(client.post("/v1/teams", json={"name": "x"}, headers=read), 403)
    assert _error(client.patch(url, json={"name": "x"}, headers=read), 403)
    assert _error(client.delete(url, headers=read), 403)
    assert _error(client.put(f"{url}/schedule", json=NY_HOURS, headers=read), 403)
    assert client.get(url, headers=read).json() == team
