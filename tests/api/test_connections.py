"""The connections API (DESIGN §4) over a fake calendar service: create with encrypted
credentials, list with status, sync now, reconnect, delete with its blocks; ``sync=true`` on
availability within the budget, with ``stale`` sources when it runs out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openslots.api.app import create_app
from openslots.api.settings import ApiSettings
from openslots.credentials import CredentialCipher, generate_key
from openslots.store.database import Database
from openslots.store.schema import metadata
from tests.api.test_availability import MONDAY, NY, Shop, week
from tests.conftest import FakeClock
from tests.sync.fake_calendar import FakeCalendars
from tests.sync.test_worker import services_for

TOKEN = "tok-7f3a9c-very-secret"
# 2026-03-02 (MONDAY) 10:00-11:00 New York, inside the 09:00-12:00 hours of week("mon").
BUSY = (1_772_463_600, 1_772_467_200)


@pytest.fixture
def calendars() -> FakeCalendars:
    upstream = FakeCalendars()
    upstream.add("work", BUSY, token=TOKEN)
    return upstream


@pytest.fixture
def app_client(database: Database, clock: FakeClock, calendars: FakeCalendars) -> Iterator[Any]:
    services = services_for(calendars, CredentialCipher([generate_key()]))
    services.on_demand_budget_seconds = 2.0
    settings = ApiSettings(database=database, clock=clock, sync=services)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def shop(app_client: Any, make_tenant: Any) -> Shop:
    return Shop(app_client, make_tenant("acme").headers("admin"))


def connect(shop: Shop, resource_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "resource_id": resource_id,
        "provider": "fake",
        "settings": {"calendar": "work", "token": TOKEN},
        **fields,
    }
    return shop.post("/v1/connections", body)


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def dump(database: Database) -> str:
    """Every row of every table as text: what a database dump would show."""
    with database.read() as connection:
        rows = [
            repr(row)
            for table in metadata.sorted_tables
            for row in connection.execute(select(table))
        ]
    return "\n".join(rows)


def test_create_shows_no_credentials_and_stores_none_in_plain(
    shop: Shop, database: Database
) -> None:
    resource = shop.resource("alice", week("mon"))
    created = connect(shop, resource, sync_interval=30)
    assert created["settings"] == {"calendar": "work"}  # the token moved to credentials
    assert created["has_credentials"] is True
    assert (created["status"], created["sync_interval"], created["last_success_at"]) == (
        "pending",
        30,
        None,
    )
    assert TOKEN not in str(created)
    assert TOKEN not in dump(database)
    listed = shop.get("/v1/connections").json()
    assert [c["id"] for c in listed["items"]] == [created["id"]]
    assert TOKEN not in str(listed)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider": "nope"}, "provider"),
        ({"settings": {"token": TOKEN}}, "settings.calendar"),
        ({"settings": {"calendar": "work"}}, "credentials.token"),
        ({"sync_interval": 0}, "sync_interval"),
        ({"sync_interval": 10_081}, "sync_interval"),
        ({"resource_id": "00000000-0000-4000-8000-000000000000"}, None),
    ],
)
def test_bad_bodies_name_the_field(shop: Shop, body: dict[str, Any], field: str | None) -> None:
    resource = shop.resource("alice", week("mon"))
    full = {
        "resource_id": resource,
        "provider": "fake",
        "settings": {"calendar": "work", "token": TOKEN},
        **body,
    }
    response = shop.client.post("/v1/connections", json=full, headers=shop.headers)
    if field is None:
        assert error_of(response, 404)["code"] == "not_found"
    else:
        error = error_of(response, 422)
        assert error["field"] == field, error


def test_sync_now_stores_blocks_and_status(shop: Shop) -> None:
    resource = shop.resource("alice", week("mon"))
    service = shop.service([resource])
    before = shop.starts(service)
    created = connect(shop, resource)
    synced = shop.post(f"/v1/connections/{created['id']}/sync", {}, status=200)
    assert (synced["sync"], synced["status"], synced["last_error"]) == ("ok", "ok", None)
    assert synced["last_success_at"] is not None
    blocks = shop.get(f"/v1/resources/{resource}/blocks", start=MONDAY, end=MONDAY, timezone=NY)
    assert [(b["start"], b["end"]) for b in blocks.json()["items"]] == [
        ("2026-03-02T15:00:00Z", "2026-03-02T16:00:00Z")
    ]
    after = shop.starts(service)
    assert "10:00" in before
    assert "10:00" not in after
    assert "10:30" not in after
    sources = shop.availability(service)["sources"]
    assert [(s["connection_id"], s["status"], s["stale"]) for s in sources] == [
        (created["id"], "ok", False)
    ]


def test_revoked_credentials_then_reconnect(shop: Shop, calendars: FakeCalendars) -> None:
    resource = shop.resource("alice", week("mon"))
    created = connect(shop, resource)
    calendars.tokens["work"] = "rotated"
    synced = shop.post(f"/v1/connections/{created['id']}/sync", {}, status=200)
    assert (synced["sync"], synced["status"]) == ("needs_reauth", "needs_reauth")
    assert "auth_revoked" in synced["last_error"]
    listed = shop.get("/v1/connections", status="needs_reauth").json()["items"]
    assert [c["id"] for c in listed] == [created["id"]]
    response = shop.client.patch(
        f"/v1/connections/{created['id']}",
        json={"credentials": {"token": "rotated"}},
        headers=shop.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending"
    synced = shop.post(f"/v1/connections/{created['id']}/sync", {}, status=200)
    assert (synced["sync"], synced["status"]) == ("ok", "ok")


def test_new_settings_keep_the_stored_credentials(shop: Shop, calendars: FakeCalendars) -> None:
    calendars.add("home", BUSY, token=TOKEN)
    resource = shop.resource("alice", week("mon"))
    created = connect(shop, resource)
    response = shop.client.patch(
        f"/v1/connections/{created['id']}",
        json={"settings": {"calendar": "home"}},
        headers=shop.headers,
    )
    assert response.status_code == 200, response.text
    synced = shop.post(f"/v1/connections/{created['id']}/sync", {}, status=200)
    assert synced["sync"] == "ok"
    assert calendars.calls["home"] == 1


def test_disable_and_delete(shop: Shop, calendars: FakeCalendars) -> None:
    resource = shop.resource("alice", week("mon"))
    service = shop.service([resource])
    created = connect(shop, resource)
    shop.post(f"/v1/connections/{created['id']}/sync", {}, status=200)
    disabled = shop.client.patch(
        f"/v1/connections/{created['id']}", json={"enabled": False}, headers=shop.headers
    ).json()
    assert disabled["status"] == "disabled"
    assert shop.post(f"/v1/connections/{created['id']}/sync", {}, status=200)["sync"] == "skipped"
    assert calendars.calls["work"] == 1
    assert "10:00" not in shop.starts(service)  # a disabled connection keeps its blocks
    response = shop.client.delete(f"/v1/connections/{created['id']}", headers=shop.headers)
    assert response.status_code == 204
    assert "10:00" in shop.starts(service)  # its blocks went with it, and the cache knew
    assert shop.get(f"/v1/connections/{created['id']}").status_code == 404
    blocks = shop.get(f"/v1/resources/{resource}/blocks", start=MONDAY, end=MONDAY, timezone=NY)
    assert blocks.json()["items"] == []


def test_availability_with_sync_true(shop: Shop, calendars: FakeCalendars) -> None:
    resource = shop.resource("alice", week("mon"))
    service = shop.service([resource])
    created = connect(shop, resource)
    answer = shop.availability(service, sync="true")
    assert "10:00" not in [s["start"][11:16] for s in answer["slots"]]
    assert [(s["connection_id"], s["sync"], s["stale"]) for s in answer["sources"]] == [
        (created["id"], "ok", False)
    ]
    # Without sync=true, sources carry no `sync` and upstream is not asked.
    assert "sync" not in shop.availability(service)["sources"][0]
    assert calendars.calls["work"] == 1


def test_a_connection_missing_the_budget_is_stale(
    shop: Shop, calendars: FakeCalendars, app_client: Any
) -> None:
    resource = shop.resource("alice", week("mon"))
    service = shop.service([resource])
    created = connect(shop, resource)
    calendars.delay = 2.5  # longer than the 2 s budget
    answer = shop.availability(service, sync="true")
    # Answered when the budget ran out, while the sync still runs.
    assert shop.get(f"/v1/connections/{created['id']}").json()["status"] == "pending"
    [source] = answer["sources"]
    assert (source["connection_id"], source["sync"], source["stale"]) == (
        created["id"],
        "stale",
        True,
    )
    assert "10:00" in [s["start"][11:16] for s in answer["slots"]]  # stored blocks: none yet
    deadline = time.monotonic() + 5
    while shop.get(f"/v1/connections/{created['id']}").json()["status"] != "ok":
        assert time.monotonic() < deadline, "the sync that missed the budget never finished"
        time.sleep(0.1)


def test_an_ics_feed_url_is_a_secret(
    database: Database, clock: FakeClock, make_tenant: Any
) -> None:
    """With the real ICS connector: the feed URL given in the settings is stored encrypted,
    shown back without its path and query, and no dump of the database contains it."""
    from openslots.sync.registry import ConnectorRegistry

    services = services_for(FakeCalendars(), CredentialCipher([generate_key()]))
    services.registry = ConnectorRegistry()
    secret_url = (
        "https://calendar.example.com/calendar/ical/ann%40example.com/private-0f9e8d7c/basic.ics"
    )
    settings = ApiSettings(database=database, clock=clock, sync=services)
    with TestClient(create_app(settings)) as client:
        shop = Shop(client, make_tenant("acme").headers("admin"))
        resource = shop.resource("ann", week("mon"))
        created = shop.post(
            "/v1/connections",
            {"resource_id": resource, "provider": "ics", "settings": {"url": secret_url}},
        )
        listed = shop.get("/v1/connections").json()
    assert created["settings"]["url"] == "https://calendar.example.com/…"
    for shown in (str(created), str(listed), dump(database)):
        assert "private-0f9e8d7c" not in shown
        assert "ann%40example.com" not in shown


@pytest.mark.parametrize(
    ("params", "field"), [({"status": "broken"}, "status"), ({"limit": 0}, "limit")]
)
def test_bad_list_parameters_are_400s(shop: Shop, params: dict[str, Any], field: str) -> None:
    error = error_of(shop.get("/v1/connections", **params), 400)
    assert error["field"] == field
