"""Blocks over HTTP: the window listing of every source, manual blocks one-off and recurring
(wall clock across DST), and the 400s and 422s that name what is wrong."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from openslots.store.database import Database
from openslots.store.schema import busy_blocks
from tests.conftest import Tenant

NY = ZoneInfo("America/New_York")


@pytest.fixture
def acme(make_tenant: Callable[[str], Tenant]) -> Tenant:
    return make_tenant("acme")


@pytest.fixture
def resource(client: TestClient, acme: Tenant) -> str:
    response = client.post(
        "/v1/resources",
        json={"name": "alice", "timezone": "America/New_York"},
        headers=acme.headers(),
    )
    resource_id: str = response.json()["id"]
    return resource_id


def _blocks(client: TestClient, tenant: Tenant, resource: str, **params: str) -> Any:
    return client.get(
        f"/v1/resources/{resource}/blocks", params=params, headers=tenant.headers("read")
    )


def _create(client: TestClient, tenant: Tenant, resource: str, **body: Any) -> Any:
    return client.post(
        f"/v1/resources/{resource}/blocks", json=body, headers=tenant.headers("write")
    )


def _local(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(NY).strftime("%Y-%m-%d %H:%M %Z")


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def test_a_one_off_block_is_listed_in_its_window(
    client: TestClient, acme: Tenant, resource: str
) -> None:
    created = _create(
        client,
        acme,
        resource,
        start="2026-03-02T10:00:00-05:00",
        end="2026-03-02T11:30:00-05:00",
        kind="oof",
        note="dentist",
    )
    assert created.status_code == 201, created.text
    block = created.json()
    assert block["start"] == "2026-03-02T15:00:00Z"
    assert block["end"] == "2026-03-02T16:30:00Z"
    assert (block["kind"], block["source"], block["note"]) == ("oof", "manual", "dentist")
    assert block["timezone"] == "America/New_York"  # the resource's, by default
    listed = _blocks(
        client, acme, resource, start="2026-03-02T00:00:00Z", end="2026-03-03T00:00:00Z"
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == [block]
    # Half-open: a window that starts when the block ends does not list it.
    later = _blocks(
        client, acme, resource, start="2026-03-02T16:30:00Z", end="2026-03-03T00:00:00Z"
    )
    assert later.json()["items"] == []


def test_a_weekly_lunch_stays_at_noon_across_the_march_change(
    client: TestClient, acme: Tenant, resource: str
) -> None:
    created = _create(
        client,
        acme,
        resource,
        start="2026-03-02T12:00:00-05:00",
        end="2026-03-02T13:00:00-05:00",
        rrule="FREQ=WEEKLY;BYDAY=MO",
        timezone="America/New_York",
    )
    assert created.status_code == 201, created.text
    items = _blocks(
        client, acme, resource, start="2026-03-01", end="2026-03-31", timezone="America/New_York"
    ).json()["items"]
    assert [(b["start"], b["end"]) for b in items] == [
        ("2026-03-02T17:00:00Z", "2026-03-02T18:00:00Z"),
        ("2026-03-09T16:00:00Z", "2026-03-09T17:00:00Z"),  # DST began on the 8th
        ("2026-03-16T16:00:00Z", "2026-03-16T17:00:00Z"),
        ("2026-03-23T16:00:00Z", "2026-03-23T17:00:00Z"),
        ("2026-03-30T16:00:00Z", "2026-03-30T17:00:00Z"),
    ]
    assert {_local(b["start"])[11:] for b in items} == {"12:00 EST", "12:00 EDT"}
    assert {b["id"] for b in items} == {created.json()["id"]}
    assert {b["rrule"] for b in items} == {"FREQ=WEEKLY;BYDAY=MO"}


def test_a_daily_block_read_in_utc_drifts_in_local_time(
    client: TestClient, acme: Tenant, resource: str
) -> None:
    # The zone an RRULE is read in decides which clock it follows.
    _create(
        client,
        acme,
        resource,
        start="2026-03-06T17:00:00Z",
        end="2026-03-06T18:00:00Z",
        rrule="FREQ=DAILY;COUNT=4",
        timezone="UTC",
    )
    items = _blocks(client, acme, resource, start="2026-03-06", end="2026-03-10").json()["items"]
    assert [_local(b["start"]) for b in items] == [
        "2026-03-06 12:00 EST",
        "2026-03-07 12:00 EST",
        "2026-03-08 13:00 EDT",
        "2026-03-09 13:00 EDT",
    ]


def test_synced_blocks_are_listed_and_cannot_be_deleted_here(
    client: TestClient, acme: Tenant, resource: str, database: Database
) -> None:
    with database.write() as connection:
        connection.execute(
            insert(busy_blocks).values(
                id="0b7a4d4e-0000-4000-8000-000000000001",
                org_id=acme.org_id,
                resource_id=resource,
                source="google:primary",
                start_at=int(datetime.fromisoformat("2026-03-02T14:00:00+00:00").timestamp()),
                end_at=int(datetime.fromisoformat("2026-03-02T15:00:00+00:00").timestamp()),
                kind="tentative",
            )
        )
    manual = _create(
        client, acme, resource, start="2026-03-02T16:00:00Z", end="2026-03-02T17:00:00Z"
    ).json()
    items = _blocks(client, acme, resource, start="2026-03-02", end="2026-03-02").json()["items"]
    assert [(b["source"], b["kind"], b["start"]) for b in items] == [
        ("google:primary", "tentative", "2026-03-02T14:00:00Z"),
        ("manual", "busy", "2026-03-02T16:00:00Z"),
    ]
    synced = client.delete(
        f"/v1/resources/{resource}/blocks/0b7a4d4e-0000-4000-8000-000000000001",
        headers=acme.headers("write"),
    )
    error = _error(synced, 409)
    assert error["code"] == "conflict"
    assert "synced" in error["message"]
    deleted = client.delete(
        f"/v1/resources/{resource}/blocks/{manual['id']}", headers=acme.headers("write")
    )
    assert deleted.status_code == 204
    items = _blocks(client, acme, resource, start="2026-03-02", end="2026-03-02").json()["items"]
    assert [b["source"] for b in items] == ["google:primary"]
    again = client.delete(
        f"/v1/resources/{resource}/blocks/{manual['id']}", headers=acme.headers("write")
    )
    assert _error(again, 404)["code"] == "not_found"


def test_deleting_a_series_removes_every_occurrence(
    client: TestClient, acme: Tenant, resource: str
) -> None:
    series = _create(
        client,
        acme,
        resource,
        start="2026-03-02T09:00:00-05:00",
        end="2026-03-02T09:15:00-05:00",
        rrule="FREQ=DAILY",
    ).json()
    window = {"start": "2026-03-01", "end": "2026-03-31"}
    assert len(_blocks(client, acme, resource, **window).json()["items"]) == 30
    url = f"/v1/resources/{resource}/blocks/{series['id']}"
    assert client.delete(url, headers=acme.headers("write")).status_code == 204
    assert _blocks(client, acme, resource, **window).json()["items"] == []


BAD_WINDOWS = [
    ({"end": "2026-03-02T00:00:00Z"}, "start"),
    ({"start": "2026-03-02T00:00:00Z"}, "end"),
    ({"start": "", "end": "2026-03-02T00:00:00Z"}, "start"),
    ({"start": "yesterday", "end": "2026-03-02T00:00:00Z"}, "start"),
    ({"start": "2026-03-01T00:00:00", "end": "2026-03-02T00:00:00Z"}, "start"),
    ({"start": "2026-03-01T00:00:00Z", "end": "2026-13-02"}, "end"),
    ({"start": "2026-03-02T00:00:00Z", "end": "2026-03-02T00:00:00Z"}, "end"),
    ({"start": "2026-03-02T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "end"),
    ({"start": "2026-01-01T00:00:00Z", "end": "2026-04-04T00:00:01Z"}, "end"),
    ({"start": "2026-01-01", "end": "2026-04-04"}, "end"),
    ({"start": "2026-03-01", "end": "2026-03-02", "timezone": "Nowhere/Land"}, "timezone"),
]


def test_bad_windows_get_400_naming_the_parameter(
    client: TestClient, acme: Tenant, resource: str
) -> None:
    for params, field in BAD_WINDOWS:
        error = _error(_blocks(client, acme, resource, **params), 400)
        assert (error["code"], error["field"]) == ("validation_error", field), params


def test_the_longest_window_is_93_days(client: TestClient, acme: Tenant, resource: str) -> None:
    ok = _blocks(client, acme, resource, start="2026-01-01T00:00:00Z", end="2026-04-04T00:00:00Z")
    assert ok.status_code == 200
    # 93 local dates that hold the extra hour of a fall-back are still 93 days.
    fall = _blocks(
        client, acme, resource, start="2026-09-01", end="2026-12-02", timezone="America/New_York"
    )
    assert fall.status_code == 200, fall.text


INVALID_BLOCKS = [
    ({"start": "2026-03-02T12:00:00Z", "end": "2026-03-02T12:00:00Z"}, "end"),
    ({"start": "2026-03-02T12:00:00Z", "end": "2026-03-02T11:00:00Z"}, "end"),
    ({"start": "2026-03-02 12:00", "end": "2026-03-02T13:00:00Z"}, "start"),
    ({"start": "2026-03-02T12:00:00Z"}, "end"),
    ({"start": "2026-03-02T12:00:00Z", "end": "2026-03-02T13:00:00Z", "kind": "free"}, "kind"),
    ({"start": "2026-03-02T12:00:00Z", "end": "2026-03-02T13:00:00Z", "source": "x"}, "source"),
    (
        {
            "start": "2026-03-02T12:00:00Z",
            "end": "2026-03-02T13:00:00Z",
            "timezone": "Mars/Base",
        },
        "timezone",
    ),
    (
        {
            "start": "2026-03-02T12:00:00Z",
            "end": "2026-03-02T13:00:00Z",
            "rrule": "FREQ=HOURLY",
        },
        "rrule",
    ),
    (
        {
            "start": "2026-03-02T12:00:00Z",
            "end": "2026-03-02T13:00:00Z",
            "rrule": "FREQ=MINUTELY",
        },
        "rrule",
    ),
    (
        {
            "start": "2026-03-02T12:00:00Z",
            "end": "2026-03-02T13:00:00Z",
            "rrule": "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12",
        },
        "rrule",
    ),
    (
        {"start": "2026-03-02T12:00:00Z", "end": "2026-03-02T13:00:00Z", "rrule": "garbage"},
        "rrule",
    ),
    (
        {"start": "2026-03-02T12:00:00Z", "end": "2026-03-02T13:00:00Z", "note": "x" * 201},
        "note",
    ),
]


def test_invalid_blocks_get_422_naming_the_field(
    client: TestClient, acme: Tenant, resource: str
) -> None:
    for body, field in INVALID_BLOCKS:
        error = _error(_create(client, acme, resource, **body), 422)
        assert error["field"] == field, body
    listed = _blocks(client, acme, resource, start="2026-03-01", end="2026-03-05")
    assert listed.json()["items"] == []


def test_a_recurrence_bomb_is_refused_quickly(
    client: TestClient, acme: Tenant, resource: str
) -> None:
    began = time.perf_counter()
    response = _create(
        client,
        acme,
        resource,
        start="2026-03-02T12:00:00Z",
        end="2026-03-02T13:00:00Z",
        rrule="FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    )
    assert _error(response, 422)["field"] == "rrule"
    assert time.perf_counter() - began < 2.0


def test_blocks_need_a_known_resource_and_the_right_scope(
    client: TestClient, acme: Tenant, resource: str
) -> None:
    missing = "4b0c0e5a-8d1c-4c44-9a55-2a9d9c1f0000"
    window = {"start": "2026-03-01", "end": "2026-03-02"}
    assert _error(_blocks(client, acme, missing, **window), 404)["code"] == "not_found"
    body = {"start": "2026-03-02T12:00:00Z", "end": "2026-03-02T13:00:00Z"}
    assert _error(_create(client, acme, missing, **body), 404)["code"] == "not_found"
    read_only = client.post(
        f"/v1/resources/{resource}/blocks", json=body, headers=acme.headers("read")
    )
    assert _error(read_only, 403)["code"] == "forbidden"
    made = _create(client, acme, resource, **body).json()
    denied = client.delete(
        f"/v1/resources/{resource}/blocks/{made['id']}", headers=acme.headers("read")
    )
    assert _error(denied, 403)["code"] == "forbidden"
    assert len(_blocks(client, acme, resource, **window).json()["items"]) == 1
