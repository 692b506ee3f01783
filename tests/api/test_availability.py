"""``GET /v1/availability``: the answer's shape, every option of DESIGN §4, and its errors.

Everything goes through the app over HTTP (TestClient) on SQLite and PostgreSQL; the catalog,
blocks and bookings are made through their routes too. The clock stands at 2026-03-01 12:00Z (a
Sunday); Monday 2026-03-02 is in EST (UTC-5).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import insert

NY = "America/New_York"
MONDAY = "2026-03-02"


def week(
    days: str = "mon", start: str = "09:00", end: str = "12:00", zone: str = NY
) -> dict[str, Any]:
    return {
        "timezone": zone,
        "rules": [{"day": d, "start": start, "end": end} for d in days.split()],
    }


class Shop:
    """One organization's catalog, made and queried through the API."""

    def __init__(self, client: Any, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def post(self, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        response = self.client.post(path, json=body, headers=self.headers)
        assert response.status_code == status, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def resource(self, name: str, schedule: dict[str, Any] | None = None, **fields: Any) -> str:
        body = {"name": name, "timezone": NY, **fields}
        if schedule is not None:
            body["schedule"] = schedule
        return str(self.post("/v1/resources", body)["id"])

    def location(self, name: str, schedule: dict[str, Any] | None = None) -> str:
        body = {"name": name, "timezone": NY, "schedule": schedule}
        return str(self.post("/v1/locations", body)["id"])

    def service(self, resource_ids: list[str], **fields: Any) -> str:
        body = {"name": "consult", "duration": 30, "resource_ids": resource_ids, **fields}
        return str(self.post("/v1/services", body)["id"])

    def block(self, resource_id: str, start: str, end: str, **fields: Any) -> str:
        body = {"start": start, "end": end, **fields}
        return str(self.post(f"/v1/resources/{resource_id}/blocks", body)["id"])

    def book(self, service_id: str, start: str, **fields: Any) -> dict[str, Any]:
        return self.post("/v1/bookings", {"service_id": service_id, "start": start, **fields})

    def get(self, path: str = "/v1/availability", **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.headers)

    def availability(self, service_id: str, **params: Any) -> dict[str, Any]:
        params = {"start": MONDAY, "end": MONDAY, "timezone": NY, **params}
        response = self.get(service_id=service_id, **params)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def starts(self, service_id: str, **params: Any) -> list[str]:
        """Local times (HH:MM) of the slots' starts."""
        return [s["start"][11:16] for s in self.availability(service_id, **params)["slots"]]


@pytest.fixture
def tenant(make_tenant: Callable[[str], Any]) -> Any:
    return make_tenant("acme")


@pytest.fixture
def shop(client: Any, tenant: Any) -> Shop:
    return Shop(client, tenant.headers("admin"))


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


# -- the answer -----------------------------------------------------------------------------


def test_the_answer_holds_slots_every_date_and_sources(shop: Shop) -> None:
    alice = shop.resource("alice", week("mon"))
    service = shop.service([alice])
    response = shop.get(service_id=service, start=MONDAY, end="2026-03-04", timezone=NY)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert set(answer) == {"timezone", "duration", "slots", "days", "sources"}
    assert answer["timezone"] == NY
    assert answer["duration"] == 30
    assert answer["sources"] == []
    assert answer["slots"][0] == {
        "start": "2026-03-02T09:00:00-05:00",
        "end": "2026-03-02T09:30:00-05:00",
        "resource_ids": [alice],
        "available": True,
        "capacity": 1,
        "available_capacity": 1,
    }
    assert [s["start"][11:16] for s in answer["slots"]] == [
        "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"
    ]  # fmt: skip
    assert list(answer["days"]) == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert answer["days"]["2026-03-02"] == answer["slots"]
    assert answer["days"]["2026-03-03"] == answer["days"]["2026-03-04"] == []


def test_format_days_leaves_the_slot_list_out(shop: Shop) -> None:
    alice = shop.resource("alice", week("mon"))
    service = shop.service([alice])
    full = shop.availability(service)
    days = shop.availability(service, format="days")
    assert "slots" not in days
    assert days["days"] == full["days"]
    assert days["sources"] == full["sources"] == []
    assert shop.availability(service, format="slots") == full


def test_dates_are_read_in_the_answer_zone_and_instants_may_carry_offsets(shop: Shop) -> None:
    alice = shop.resource("alice", week("mon tue", "09:00", "17:00"))
    service = shop.service([alice])
    by_date = shop.availability(service, start=MONDAY, end=MONDAY, timezone=NY)
    by_instant = shop.availability(
        service, start="2026-03-02T05:00:00Z", end="2026-03-03T05:00:00Z", timezone=NY
    )
    assert by_date == by_instant
    assert len(by_date["slots"]) == 16
    # In Tokyo the same dates are another window: Monday 09:00 NY is Monday 23:00 there.
    tokyo = shop.availability(service, start=MONDAY, end=MONDAY, timezone="Asia/Tokyo")
    assert [s["start"] for s in tokyo["slots"]] == [
        "2026-03-02T23:00:00+09:00",
        "2026-03-02T23:30:00+09:00",
    ]
    # A "+" of an offset sent unencoded arrives as a space, and still means "+".
    raw = shop.client.get(
        f"/v1/availability?service_id={service}&timezone={NY}"
        "&start=2026-03-02T14:00:00+09:00&end=2026-03-03T14:00:00+09:00",
        headers=shop.headers,
    )
    assert raw.status_code == 200, raw.text
    assert raw.json() == by_date


def test_a_window_across_the_dst_change_lists_every_local_date(shop: Shop) -> None:
    alice = shop.resource("alice", week("sat sun mon", "09:00", "10:00"))
    service = shop.service([alice])
    answer = shop.availability(service, start="2026-03-07", end="2026-03-09")
    assert list(answer["days"]) == ["2026-03-07", "2026-03-08", "2026-03-09"]
    assert [s["start"] for s in answer["slots"]] == [
        "2026-03-07T09:00:00-05:00",
        "2026-03-07T09:30:00-05:00",
        "2026-03-08T09:00:00-04:00",
        "2026-03-08T09:30:00-04:00",
        "2026-03-09T09:00:00-04:00",
        "2026-03-09T09:30:00-04:00",
    ]


# -- options --------------------------------------------------------------------------------


def test_explain_include_unavailable_and_first_available(shop: Shop) -> None:
    alice = shop.resource("alice", week("mon"))
    service = shop.service([alice])
    shop.block(alice, "2026-03-02T14:00:00Z", "2026-03-02T14:30:00Z")  # 09:00-09:30 NY
    assert shop.starts(service)[:2] == ["09:30", "10:00"]
    assert shop.starts(service, first_available="true") == ["09:30"]
    listed = shop.availability(service, include_unavailable="true")["slots"]
    assert [(s["start"][11:16], s["available"]) for s in listed[:2]] == [
        ("09:00", False),
        ("09:30", True),
    ]
    assert listed[0]["available_capacity"] == 0
    assert "reasons" not in listed[0]
    explained = shop.availability(service, explain="true")["slots"]
    assert explained[0]["reasons"] == [{"code": "busy", "resource_id": alice, "source": "manual"}]
    assert explained[1]["reasons"] == []


def test_tentative_blocks_count_unless_asked_otherwise(shop: Shop) -> None:
    alice = shop.resource("alice", week("mon"))
    service = shop.service([alice])
    shop.block(alice, "2026-03-02T14:00:00Z", "2026-03-02T14:30:00Z", kind="tentative")
    assert shop.starts(service)[0] == "09:30"
    assert shop.starts(service, tentative_as_busy="true")[0] == "09:30"
    assert shop.starts(service, tentative_as_busy="false")[0] == "09:00"


def test_party_size_and_seats(shop: Shop) -> None:
    room = shop.resource("room", week("mon"), capacity=2)
    service = shop.service([room])
    shop.book(service, "2026-03-02T14:00:00Z")  # 09:00 NY, one seat of two
    first = shop.availability(service)["slots"][0]
    assert (first["start"][11:16], first["capacity"], first["available_capacity"]) == (
        "09:00",
        2,
        1,
    )
    assert shop.starts(service, party_size=2)[0] == "09:30"


def test_modes_interval_and_duration(shop: Shop) -> None:
    alice = shop.resource("alice", week("mon"))
    bob = shop.resource("bob", week("mon"))
    service = shop.service([alice, bob], duration_options=[30, 60])
    shop.block(bob, "2026-03-02T14:30:00Z", "2026-03-02T15:00:00Z")  # bob busy 09:30-10:00
    both = shop.availability(service)["slots"]
    assert both[0]["resource_ids"] == [alice, bob]
    assert both[1]["resource_ids"] == [alice]
    combined = shop.availability(service, mode="combined", resource_id=[alice, bob])["slots"]
    assert [s["start"][11:16] for s in combined][:2] == ["09:00", "10:00"]
    assert combined[0]["resource_ids"] == [alice, bob]
    for mode in ("random", "balanced"):
        slots = shop.availability(service, mode=mode)["slots"]
        assert all(len(s["resource_ids"]) == 1 for s in slots)
        assert len(slots) == 6
    only_bob = shop.availability(service, resource_id=bob)["slots"]
    assert {tuple(s["resource_ids"]) for s in only_bob} == {(bob,)}
    assert len(shop.starts(service, interval=15)) == 11
    assert shop.starts(service, duration=60) == ["09:00", "10:00", "11:00"]


def test_reschedule_ignores_the_booking_even_far_from_the_window(shop: Shop) -> None:
    alice = shop.resource("alice", week("mon"))
    service = shop.service([alice])
    near = shop.book(service, "2026-03-02T15:00:00Z")  # 10:00 NY
    assert "10:00" not in shop.starts(service)
    assert "10:00" in shop.starts(service, reschedule_booking_id=near["id"])
    far = shop.book(service, "2026-06-01T13:00:00Z")  # three months later
    assert shop.starts(service, reschedule_booking_id=far["id"]) == shop.starts(service)
    response = shop.client.delete(f"/v1/bookings/{near['id']}", headers=shop.headers)
    assert response.status_code == 200, response.text
    error = error_of(shop.get(service_id=service, start=MONDAY, end=MONDAY,
                              reschedule_booking_id=near["id"]), 400)  # fmt: skip
    assert error["field"] == "reschedule_booking_id"


def test_location_hours_and_the_resources_that_work_there(shop: Shop) -> None:
    downtown = shop.location("downtown", week("mon", "10:00", "11:00"))
    uptown = shop.location("uptown", week("mon", "09:00", "10:00"))
    alice = shop.resource("alice", week("mon"))  # linked to no location: works anywhere
    bob = shop.resource("bob", week("mon"), location_ids=[uptown])
    service = shop.service([alice, bob], location_id=uptown)
    at_uptown = shop.availability(service)["slots"]
    assert [(s["start"][11:16], s["resource_ids"]) for s in at_uptown] == [
        ("09:00", [alice, bob]),
        ("09:30", [alice, bob]),
    ]
    # The query's location replaces the service's: its hours, and only who works there.
    at_downtown = shop.availability(service, location_id=downtown)["slots"]
    assert [(s["start"][11:16], s["resource_ids"]) for s in at_downtown] == [
        ("10:00", [alice]),
        ("10:30", [alice]),
    ]
    error = error_of(shop.get(service_id=service, start=MONDAY, end=MONDAY,
                              location_id=downtown, resource_id=bob), 400)  # fmt: skip
    assert error["field"] == "resource_id"


def test_sources_report_the_connections(shop: Shop, database: Any, clock: Any) -> None:
    from openslots.store.schema import connections

    alice = shop.resource("alice", week("mon"))
    service = shop.service([alice])
    plain = shop.availability(service)
    assert shop.availability(service, sync="true") == plain
    org_id = shop.get("/v1/organization").json()["id"]
    with database.write() as connection:
        for name, status, synced_ago in (("a", "ok", 300), ("b", "error", 300), ("c", "ok", 3600)):
            connection.execute(
                insert(connections).values(
                    id=f"00000000-0000-4000-8000-00000000000{name}",
                    org_id=org_id,
                    resource_id=alice,
                    provider="ics",
                    settings={},
                    sync_interval=900,
                    status=status,
                    last_success_at=clock() - synced_ago,
                    created_at=clock(),
                )
            )
    sources = shop.availability(service)["sources"]
    assert [(s["connection_id"][-1], s["status"], s["stale"]) for s in sources] == [
        ("a", "ok", False),
        ("b", "error", True),
        ("c", "ok", True),  # an hour without a sync, at a 15-minute interval
    ]
    assert sources[0] == {
        "connection_id": "00000000-0000-4000-8000-00000000000a",
        "resource_id": alice,
        "provider": "ics",
        "status": "ok",
        "synced_at": "2026-03-01T11:55:00Z",
        "stale": False,
    }


# -- errors ---------------------------------------------------------------------------------


BAD_PARAMETERS = [
    ({"start": "next monday"}, "start"),
    ({"start": "2026-02-30"}, "start"),
    ({"end": "2026-03-02T10:00:00"}, "end"),  # no offset
    ({"end": "2026-03-01"}, "end"),  # before the start
    ({"end": "2026-06-04"}, "end"),  # 95 days
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"mode": "shuffle"}, "mode"),
    ({"mode": "combined"}, "resource_id"),
    ({"duration": "0"}, "duration"),
    ({"duration": "45"}, "duration"),  # not one the service allows
    ({"duration": "half"}, "duration"),
    ({"interval": "1"}, "interval"),
    ({"party_size": "0"}, "party_size"),
    ({"first_available": "maybe"}, "first_available"),
    ({"format": "xml"}, "format"),
    ({"resource_ids": "x"}, "resource_ids"),  # misspelt: refused, not ignored
    ({"service_id": None}, "service_id"),
    ({"start": None}, "start"),
    ({"location_id": ""}, "location_id"),
]


def test_bad_parameters_are_400_naming_them(shop: Shop) -> None:
    alice = shop.resource("alice", week("mon"))
    service = shop.service([alice])
    for path in ("/v1/availability", "/v1/availability/scenario"):
        for params, field in BAD_PARAMETERS:
            query = {"service_id": service, "start": MONDAY, "end": MONDAY, **params}
            response = shop.get(path, **{k: v for k, v in query.items() if v is not None})
            error = error_of(response, 400)
            assert (error["code"], error["field"]) == ("validation_error", field), (path, params)


def test_resource_ids_outside_the_pool_or_twice_are_400(shop: Shop) -> None:
    alice = shop.resource("alice", week("mon"))
    other = shop.resource("other", week("mon"))
    service = shop.service([alice])
    for resource_ids in ([other], [alice, alice]):
        response = shop.get(service_id=service, start=MONDAY, end=MONDAY, resource_id=resource_ids)
        assert error_of(response, 400)["field"] == "resource_id"


def test_the_93_day_limit_is_exact(shop: Shop) -> None:
    alice = shop.resource("alice", week("mon"))
    service = shop.service([alice])
    assert shop.get(service_id=service, start=MONDAY, end="2026-06-02").status_code == 200
    response = shop.get(service_id=service, start=MONDAY, end="2026-06-03")
    assert error_of(response, 400)["field"] == "end"


def test_other_organizations_ids_are_404(shop: Shop, make_tenant: Callable[[str], Any]) -> None:
    mine = shop.resource("alice", week("mon"))
    my_service = shop.service([mine])
    theirs = Shop(shop.client, make_tenant("globex").headers("admin"))
    their_resource = theirs.resource("bob", week("mon"))
    their_service = theirs.service([their_resource])
    their_location = theirs.location("hq")
    their_booking = theirs.book(their_service, "2026-03-02T14:00:00Z")["id"]
    base = {"start": MONDAY, "end": MONDAY}
    for path in ("/v1/availability", "/v1/availability/scenario"):
        for params in (
            {"service_id": their_service},
            {"service_id": str(uuid.uuid4())},
            {"service_id": my_service, "resource_id": their_resource},
            {"service_id": my_service, "location_id": their_location},
            {"service_id": my_service, "reschedule_booking_id": their_booking},
        ):
            response = shop.get(path, **base, **params)
            assert error_of(response, 404)["code"] == "not_found"
            for secret in (their_service, their_resource, their_location, their_booking):
                assert secret not in response.text
    assert theirs.get(service_id=their_service, **base).status_code == 200


def test_a_key_is_required_and_read_scope_suffices(shop: Shop, tenant: Any) -> None:
    alice = shop.resource("alice", week("mon"))
    service = shop.service([alice])
    params = {"service_id": service, "start": MONDAY, "end": MONDAY}
    anonymous = shop.client.get("/v1/availability", params=params)
    assert error_of(anonymous, 401)["code"] == "unauthorized"
    reader = Shop(shop.client, tenant.headers("read"))
    assert reader.get(**params).status_code == 200
    assert reader.get("/v1/availability/scenario", **params).status_code == 200
