"""``/v1/bookings``: direct bookings, seats, buffers, cancellation, listing and idempotency.

Through the app (TestClient) on SQLite and PostgreSQL, FakeClock at 2026-03-01T12:00:00Z,
resources open 09:00-17:00 UTC, services of 30 minutes on a 15-minute grid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openslots.engine import Query, compute_availability
from openslots.engine.scenario import format_instant, parse_instant
from openslots.store import blocks, catalog, reservations
from openslots.store.database import Database
from openslots.store.scenarios import load_scenario
from tests.conftest import FakeClock, Tenant
from tests.reservation_setup import add_resource, add_service

SLOT = "2026-03-02T10:00:00Z"


@dataclass(frozen=True)
class Shop:
    tenant: Tenant
    resource: str
    service: str

    def book(
        self, client: TestClient, start: str = SLOT, key: str | None = None, **fields: Any
    ) -> Any:
        headers = self.tenant.headers("write")
        if key is not None:
            headers["Idempotency-Key"] = key
        body = {"service_id": self.service, "start": start, **fields}
        return client.post("/v1/bookings", json=body, headers=headers)

    def cancel(self, client: TestClient, booking_id: str) -> Any:
        return client.delete(f"/v1/bookings/{booking_id}", headers=self.tenant.headers("write"))


@pytest.fixture
def make_shop(database: Database, make_tenant: Callable[[str], Tenant]) -> Callable[..., Shop]:
    def make(capacity: int = 1, **service: Any) -> Shop:
        tenant = make_tenant("shop")
        resource = add_resource(database, tenant.org_id, capacity=capacity)
        return Shop(tenant, resource, add_service(database, tenant.org_id, [resource], **service))

    return make


@pytest.fixture
def shop(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop()


def _confirmed(database: Database, shop: Shop) -> list[dict[str, Any]]:
    """The committed, confirmed bookings of the shop's resource."""
    with database.read() as connection:
        return reservations.list_bookings(
            connection, shop.tenant.org_id, resource_id=shop.resource, status="confirmed"
        )


def test_a_booking_records_its_slot_and_the_services_buffers(
    client: TestClient, make_shop: Callable[..., Shop], clock: FakeClock
) -> None:
    shop = make_shop(buffer_before=5, buffer_after=15)
    created = shop.book(client)
    assert created.status_code == 201
    booking = created.json()
    assert booking["start"] == SLOT
    assert booking["end"] == "2026-03-02T10:30:00Z"
    assert booking["resource_ids"] == [shop.resource]
    assert (booking["buffer_before"], booking["buffer_after"]) == (5, 15)
    assert (booking["status"], booking["party_size"], booking["hold_id"]) == ("confirmed", 1, None)
    assert booking["created_at"] == format_instant(clock())
    read = client.get(f"/v1/bookings/{booking['id']}", headers=shop.tenant.headers("read"))
    assert read.json() == booking


def test_the_recorded_buffers_hold_after_the_service_changes(
    client: TestClient, make_shop: Callable[..., Shop], database: Database
) -> None:
    shop = make_shop(buffer_after=15)
    assert shop.book(client).status_code == 201  # occupies 10:00-10:45
    with database.write() as connection:
        catalog.update_object(
            connection, shop.tenant.org_id, "services", shop.service, {"buffer_after": 0}
        )
    refused = shop.book(client, "2026-03-02T10:30:00Z")
    assert refused.status_code == 409
    assert refused.json()["error"]["reasons"][0]["resource_id"] == shop.resource
    assert shop.book(client, "2026-03-02T10:45:00Z").status_code == 201


def test_a_resource_takes_as_many_bookings_as_its_capacity(
    client: TestClient, make_shop: Callable[..., Shop], database: Database
) -> None:
    shop = make_shop(capacity=2)
    assert [shop.book(client).status_code for _ in range(3)] == [201, 201, 409]
    assert shop.book(client, "2026-03-02T10:15:00Z").json()["error"]["reasons"] == [
        {"code": "full", "resource_id": shop.resource}
    ]
    assert len(_confirmed(database, shop)) == 2


def test_party_sizes_fill_a_group_services_seats(
    client: TestClient, make_shop: Callable[..., Shop], database: Database
) -> None:
    shop = make_shop(seats=4)
    outcomes = [shop.book(client, party_size=p).status_code for p in (3, 2, 1, 1)]
    assert outcomes == [201, 409, 201, 409]
    assert sum(b["party_size"] for b in _confirmed(database, shop)) == 4


def test_durations_the_service_allows(client: TestClient, make_shop: Callable[..., Shop]) -> None:
    shop = make_shop(duration_options=[30, 60])
    long = shop.book(client, duration=60)
    assert long.status_code == 201
    assert long.json()["end"] == "2026-03-02T11:00:00Z"
    refused = shop.book(client, "2026-03-02T12:00:00Z", duration=45)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "duration"


def test_cancelling_frees_the_seats_at_once(
    client: TestClient, shop: Shop, database: Database, clock: FakeClock
) -> None:
    booking = shop.book(client).json()
    assert shop.book(client).status_code == 409
    cancelled = shop.cancel(client, booking["id"])
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancelled_at"] == format_instant(clock())
    with database.read() as connection:
        day = (
            parse_instant("2026-03-02T00:00:00Z", "t"),
            parse_instant("2026-03-03T00:00:00Z", "t"),
        )
        scenario = load_scenario(connection, shop.tenant.org_id, shop.service, Query(*day), clock())
    assert SLOT in {format_instant(s.start) for s in compute_availability(scenario).slots}
    rebooked = shop.book(client)
    assert rebooked.status_code == 201
    assert shop.cancel(client, booking["id"]).json() == cancelled.json()  # no-op the 2nd time
    assert [b["id"] for b in _confirmed(database, shop)] == [rebooked.json()["id"]]


def test_a_busy_block_refuses_the_slot_with_its_source(
    client: TestClient, shop: Shop, database: Database
) -> None:
    block = {"start": parse_instant(SLOT, "t"), "end": parse_instant(SLOT, "t") + 3600}
    with database.write() as connection:
        blocks.create_manual_block(connection, shop.tenant.org_id, shop.resource, block)
    refused = shop.book(client)
    assert refused.status_code == 409
    assert refused.json()["error"]["reasons"] == [
        {"code": "busy", "resource_id": shop.resource, "source": "manual"}
    ]


@pytest.mark.parametrize("scope", ["read", None])
def test_booking_needs_a_write_key(client: TestClient, shop: Shop, scope: str | None) -> None:
    headers = shop.tenant.headers(scope) if scope else {}
    body = {"service_id": shop.service, "start": SLOT}
    answer = client.post("/v1/bookings", json=body, headers=headers)
    assert answer.status_code == (403 if scope else 401)


def test_invalid_bookings_name_the_field(client: TestClient, shop: Shop) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"start": SLOT}, "service_id"),
        ({"service_id": shop.service}, "start"),
        ({"service_id": shop.service, "start": "soon"}, "start"),
        ({"service_id": shop.service, "start": SLOT, "party_size": 0}, "party_size"),
        ({"service_id": shop.service, "start": SLOT, "duration": 60}, "duration"),
        ({"service_id": shop.service, "start": SLOT, "note": "hi"}, "note"),
    ]
    for body, field in cases:
        refused = client.post("/v1/bookings", json=body, headers=shop.tenant.headers("write"))
        assert refused.status_code == 422, body
        assert refused.json()["error"]["field"] == field, body


def test_bookings_of_another_organization_are_not_found(
    client: TestClient, shop: Shop, make_shop: Callable[..., Shop]
) -> None:
    booking = shop.book(client).json()
    stranger = make_shop()
    headers = stranger.tenant.headers("write")
    assert client.get(f"/v1/bookings/{booking['id']}", headers=headers).status_code == 404
    assert client.delete(f"/v1/bookings/{booking['id']}", headers=headers).status_code == 404
    foreign_service = client.post(
        "/v1/bookings", json={"service_id": shop.service, "start": SLOT}, headers=headers
    )
    assert foreign_service.status_code == 404
    listed = client.get("/v1/bookings", headers=headers, params={"resource_id": shop.resource})
    assert listed.status_code == 404
    assert client.get("/v1/bookings", headers=headers).json() == {"items": [], "next_after": None}
    assert shop.book(client).status_code == 409  # still booked


def test_listing_bookings(client: TestClient, make_shop: Callable[..., Shop]) -> None:
    shop = make_shop(capacity=3)
    made = [
        shop.book(client, start).json()["id"]
        for start in ("2026-03-02T11:00:00Z", SLOT, "2026-03-03T10:00:00Z", SLOT)
    ]
    shop.cancel(client, made[3])
    headers = shop.tenant.headers("read")

    def listed(**params: Any) -> Any:
        return client.get("/v1/bookings", headers=headers, params=params)

    in_order = [*sorted([made[1], made[3]]), made[0], made[2]]
    assert [b["id"] for b in listed().json()["items"]] == in_order
    page = listed(limit=2).json()
    assert [b["id"] for b in page["items"]] == in_order[:2]
    rest = listed(limit=2, after=page["next_after"]).json()
    assert [b["id"] for b in rest["items"]] == in_order[2:]
    window = {"start": "2026-03-02T10:30:00Z", "end": "2026-03-03T00:00:00Z"}
    assert [b["id"] for b in listed(**window).json()["items"]] == [made[0]]
    confirmed = listed(status="confirmed", resource_id=shop.resource).json()["items"]
    assert {b["id"] for b in confirmed} == {made[0], made[1], made[2]}
    for params, field in [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"start": "2026-03-02"}, "start"),
        ({"start": SLOT, "end": SLOT}, "end"),
        ({"status": "pending"}, "status"),
    ]:
        refused = listed(**params)
        assert refused.status_code == 400, params
        assert refused.json()["error"]["field"] == field, params


# -- Idempotency-Key --------------------------------------------------------------------


def test_a_retry_with_the_same_key_replays_the_first_answer(
    client: TestClient, shop: Shop, database: Database
) -> None:
    first = shop.book(client, key="order-17")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    # The same request, with the same instant written in another offset.
    again = shop.book(client, "2026-03-02T11:00:00+01:00", key="order-17")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert len(_confirmed(database, shop)) == 1


def test_a_key_reused_for_another_request_is_refused(
    client: TestClient, shop: Shop, database: Database
) -> None:
    assert shop.book(client, key="k").status_code == 201
    other = shop.book(client, "2026-03-02T11:00:00Z", key="k")
    assert other.status_code == 422
    assert other.json()["error"]["field"] == "Idempotency-Key"
    assert len(_confirmed(database, shop)) == 1


def test_a_refusal_is_replayed_too(client: TestClient, shop: Shop) -> None:
    taken = shop.book(client).json()
    refused = shop.book(client, key="late")
    assert refused.status_code == 409
    shop.cancel(client, taken["id"])
    replayed = shop.book(client, key="late")
    assert (replayed.status_code, replayed.content) == (409, refused.content)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert shop.book(client, key="fresh").status_code == 201


def test_invalid_requests_do_not_use_up_a_key(client: TestClient, shop: Shop) -> None:
    assert shop.book(client, key="k", party_size=0).status_code == 422
    assert shop.book(client, key="k").status_code == 201


def test_keys_belong_to_their_organization(
    client: TestClient, shop: Shop, make_shop: Callable[..., Shop]
) -> None:
    other = make_shop()
    mine, theirs = shop.book(client, key="same"), other.book(client, key="same")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]


def test_a_key_is_forgotten_after_a_day(client: TestClient, shop: Shop, clock: FakeClock) -> None:
    later = "2026-03-05T10:00:00Z"
    first = shop.book(client, later, key="k").json()
    shop.cancel(client, first["id"])
    clock.advance(86_399)
    assert shop.book(client, later, key="k").json()["id"] == first["id"]
    clock.advance(2)
    renewed = shop.book(client, later, key="k")
    assert renewed.status_code == 201
    assert "Idempotent-Replayed" not in renewed.headers
    assert renewed.json()["id"] != first["id"]


def test_keys_must_be_short_and_not_blank(client: TestClient, shop: Shop) -> None:
    for key in ("x" * 201, " "):
        refused = shop.book(client, key=key)
        assert refused.status_code == 400
        assert refused.json()["error"]["field"] == "Idempotency-Key"
