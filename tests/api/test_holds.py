"""``/v1/holds``: a hold takes its seats until it expires, is released or is confirmed.

Through the app (TestClient) on SQLite and PostgreSQL, with the FakeClock at
2026-03-01T12:00:00Z; slots are on Monday 2026-03-02, resources open 09:00-17:00 UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openslots.engine import Query, compute_availability
from openslots.engine.scenario import format_instant, parse_instant
from openslots.store.database import Database
from openslots.store.scenarios import load_scenario
from tests.conftest import FakeClock, Tenant
from tests.reservation_setup import add_resource, add_service

SLOT = "2026-03-02T10:00:00Z"
OVERLAPPING = "2026-03-02T10:15:00Z"  # overlaps SLOT's 30 minutes
DAY = (parse_instant("2026-03-02T00:00:00Z", "t"), parse_instant("2026-03-03T00:00:00Z", "t"))


@dataclass(frozen=True)
class Shop:
    tenant: Tenant
    resource: str
    service: str

    def hold(self, client: TestClient, start: str = SLOT, **fields: Any) -> Any:
        body = {"service_id": self.service, "start": start, **fields}
        return client.post("/v1/holds", json=body, headers=self.tenant.headers("write"))

    def book(self, client: TestClient, **body: Any) -> Any:
        return client.post("/v1/bookings", json=body, headers=self.tenant.headers("write"))

    def book_slot(self, client: TestClient, start: str = SLOT) -> Any:
        return self.book(client, service_id=self.service, start=start)


@pytest.fixture
def shop(database: Database, make_tenant: Callable[[str], Tenant]) -> Shop:
    tenant = make_tenant("acme")
    resource = add_resource(database, tenant.org_id)
    return Shop(tenant, resource, add_service(database, tenant.org_id, [resource]))


def _available_starts(database: Database, shop: Shop, now: int) -> set[str]:
    """What the engine lists for Monday, from the store as the availability route reads it."""
    with database.read() as connection:
        scenario = load_scenario(connection, shop.tenant.org_id, shop.service, Query(*DAY), now)
    return {format_instant(slot.start) for slot in compute_availability(scenario).slots}


def test_a_hold_answers_its_slot_and_expiry(
    client: TestClient, shop: Shop, clock: FakeClock
) -> None:
    created = shop.hold(client)
    assert created.status_code == 201
    hold = created.json()
    assert hold["start"] == SLOT
    assert hold["end"] == "2026-03-02T10:30:00Z"
    assert hold["resource_ids"] == [shop.resource]
    assert hold["expires_at"] == format_instant(clock() + 300)  # the default TTL
    assert hold["status"] == "active"
    read = client.get(f"/v1/holds/{hold['id']}", headers=shop.tenant.headers("read"))
    assert read.status_code == 200
    assert read.json() == hold


def test_a_hold_may_ask_for_its_ttl_up_to_the_maximum(
    client: TestClient, shop: Shop, clock: FakeClock
) -> None:
    assert shop.hold(client, ttl_seconds=60).json()["expires_at"] == format_instant(clock() + 60)
    for ttl in (3601, 0, -5, "60"):
        refused = shop.hold(client, "2026-03-02T11:00:00Z", ttl_seconds=ttl)
        assert refused.status_code == 422, ttl
        assert refused.json()["error"]["field"] == "ttl_seconds"
    assert shop.hold(client, "2026-03-02T11:00:00Z", ttl_seconds=3600).status_code == 201


def test_a_live_hold_takes_its_seats(
    client: TestClient, shop: Shop, database: Database, clock: FakeClock
) -> None:
    assert "2026-03-02T10:00:00Z" in _available_starts(database, shop, clock())
    shop.hold(client)
    for refused in (shop.hold(client, OVERLAPPING), shop.book_slot(client)):
        assert refused.status_code == 409
        error = refused.json()["error"]
        assert error["code"] == "slot_taken"
        assert error["reasons"] == [{"code": "full", "resource_id": shop.resource}]
    listed = _available_starts(database, shop, clock())
    assert not {SLOT, OVERLAPPING, "2026-03-02T09:45:00Z"} & listed
    assert {"2026-03-02T09:30:00Z", "2026-03-02T10:30:00Z"} <= listed


def test_releasing_a_hold_gives_its_seats_back(
    client: TestClient, shop: Shop, database: Database, clock: FakeClock
) -> None:
    hold = shop.hold(client).json()
    released = client.delete(f"/v1/holds/{hold['id']}", headers=shop.tenant.headers("write"))
    assert released.status_code == 200
    assert released.json()["status"] == "released"
    assert released.json()["released_at"] == format_instant(clock())
    assert SLOT in _available_starts(database, shop, clock())
    assert shop.book_slot(client).status_code == 201
    again = client.delete(f"/v1/holds/{hold['id']}", headers=shop.tenant.headers("write"))
    assert again.json() == released.json()
    assert shop.book(client, hold_id=hold["id"]).json()["error"]["code"] == "hold_released"


def test_an_expired_hold_frees_its_slot_for_someone_else(
    client: TestClient, shop: Shop, clock: FakeClock
) -> None:
    hold = shop.hold(client).json()
    clock.advance(299)
    assert shop.book_slot(client).status_code == 409
    clock.advance(1)  # now == expires_at: a hold is live while now < expires_at
    read = client.get(f"/v1/holds/{hold['id']}", headers=shop.tenant.headers("read"))
    assert read.json()["status"] == "expired"
    assert shop.book_slot(client).status_code == 201
    late = shop.book(client, hold_id=hold["id"])
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "hold_expired"


def test_an_expired_hold_cannot_be_confirmed_even_on_a_free_slot(
    client: TestClient, shop: Shop, clock: FakeClock
) -> None:
    hold = shop.hold(client, ttl_seconds=60).json()
    clock.advance(61)
    late = shop.book(client, hold_id=hold["id"])
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "hold_expired"
    assert shop.book_slot(client).status_code == 201


def test_confirming_a_hold_books_its_slot_once(client: TestClient, shop: Shop) -> None:
    hold = shop.hold(client, party_size=1).json()
    # The hold's own seat is not counted against it (capacity 1).
    confirmed = shop.book(client, hold_id=hold["id"], start=SLOT, service_id=shop.service)
    assert confirmed.status_code == 201
    booking = confirmed.json()
    assert (booking["hold_id"], booking["start"], booking["end"]) == (
        hold["id"],
        hold["start"],
        hold["end"],
    )
    assert booking["resource_ids"] == hold["resource_ids"]
    read = client.get(f"/v1/holds/{hold['id']}", headers=shop.tenant.headers("read")).json()
    assert (read["status"], read["booking_id"]) == ("confirmed", booking["id"])
    again = shop.book(client, hold_id=hold["id"])
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "hold_released"
    # The booking now holds the seat the hold held.
    assert shop.hold(client, OVERLAPPING).status_code == 409


def test_a_confirmation_must_agree_with_its_hold(client: TestClient, shop: Shop) -> None:
    hold = shop.hold(client).json()
    disagreeing = {
        "start": OVERLAPPING,
        "party_size": 2,
        "duration": 60,
        "resource_ids": ["other"],
        "service_id": "other",
    }
    for field, value in disagreeing.items():
        refused = shop.book(client, hold_id=hold["id"], **{field: value})
        assert refused.status_code == 422, field
        assert refused.json()["error"]["field"] == field
    assert shop.book(client, hold_id=hold["id"], resource_ids=[shop.resource]).status_code == 201


def test_holds_of_another_organization_are_not_found(
    client: TestClient, shop: Shop, make_tenant: Callable[[str], Tenant]
) -> None:
    hold = shop.hold(client).json()
    stranger = make_tenant("stranger")
    for response in (
        client.get(f"/v1/holds/{hold['id']}", headers=stranger.headers("read")),
        client.delete(f"/v1/holds/{hold['id']}", headers=stranger.headers("write")),
        client.post("/v1/bookings", json={"hold_id": hold["id"]}, headers=stranger.headers()),
        client.get("/v1/holds/no-such-hold", headers=shop.tenant.headers("read")),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    # Untouched: the owner can still confirm it.
    assert shop.book(client, hold_id=hold["id"]).status_code == 201


def test_a_hold_names_only_its_organizations_objects(
    client: TestClient, shop: Shop, database: Database, make_tenant: Callable[[str], Tenant]
) -> None:
    stranger = make_tenant("stranger")
    foreign_resource = add_resource(database, stranger.org_id)
    foreign_service = add_service(database, stranger.org_id, [foreign_resource])
    assert shop.hold(client, resource_ids=[foreign_resource]).status_code == 404
    body = {"service_id": foreign_service, "start": SLOT}
    missing = client.post("/v1/holds", json=body, headers=shop.tenant.headers("write"))
    assert missing.status_code == 404
    outside_pool = add_resource(database, shop.tenant.org_id)
    refused = shop.hold(client, resource_ids=[outside_pool])
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "resource_ids.0"


INVALID = [
    ({"colour": "red"}, "colour"),
    ({"start": "tomorrow"}, "start"),
    ({"start": "2026-03-02T10:00:00"}, "start"),
    ({"duration": 45}, "duration"),
    ({"duration": 0}, "duration"),
    ({"party_size": 0}, "party_size"),
    ({"party_size": True}, "party_size"),
    ({"resource_ids": []}, "resource_ids"),
    ({"service_id": None}, "service_id"),
]


def test_invalid_holds_name_the_field(client: TestClient, shop: Shop) -> None:
    twice = ({"resource_ids": [shop.resource, shop.resource]}, "resource_ids.1")
    for body, field in [*INVALID, twice]:
        refused = client.post(
            "/v1/holds",
            json={"service_id": shop.service, "start": SLOT, **body},
            headers=shop.tenant.headers("write"),
        )
        assert refused.status_code == 422, body
        assert refused.json()["error"]["field"] == field, body


def test_slots_the_engine_refuses_are_refused_with_its_reasons(
    client: TestClient, shop: Shop
) -> None:
    cases = {
        "2026-03-02T10:05:00Z": "off_grid",
        "2026-03-02T16:45:00Z": "outside_hours",
        "2026-03-01T11:00:00Z": "min_notice",  # before now
    }
    for start, code in cases.items():
        refused = shop.hold(client, start)
        assert refused.status_code == 409, start
        assert code in {r["code"] for r in refused.json()["error"]["reasons"]}, start


def test_holds_need_a_write_key(client: TestClient, shop: Shop) -> None:
    body = {"service_id": shop.service, "start": SLOT}
    assert client.post("/v1/holds", json=body).status_code == 401
    read_only = client.post("/v1/holds", json=body, headers=shop.tenant.headers("read"))
    assert read_only.status_code == 403


def test_the_mode_picks_a_free_resource_of_the_pool(
    client: TestClient, database: Database, make_tenant: Callable[[str], Tenant]
) -> None:
    tenant = make_tenant("pool")
    first, second = add_resource(database, tenant.org_id), add_resource(database, tenant.org_id)
    shop = Shop(tenant, first, add_service(database, tenant.org_id, [first, second]))
    assert shop.hold(client).json()["resource_ids"] == [first]
    assert shop.hold(client).json()["resource_ids"] == [second]
    full = shop.hold(client)
    assert full.status_code == 409
    assert {r["resource_id"] for r in full.json()["error"]["reasons"]} == {first, second}


def test_every_listed_slot_can_be_held(
    client: TestClient, shop: Shop, database: Database, clock: FakeClock
) -> None:
    listed = sorted(_available_starts(database, shop, clock()))
    assert len(listed) == 31  # 09:00 to 16:30 every 15 minutes
    for start in listed:
        hold = shop.hold(client, start)
        assert hold.status_code == 201, start
        client.delete(f"/v1/holds/{hold.json()['id']}", headers=shop.tenant.headers("write"))
