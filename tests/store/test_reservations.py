"""Holds, bookings and idempotency rows in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from openslots.store import reservations, versions
from openslots.store.catalog import NotFound
from openslots.store.database import Database
from tests.conftest import FakeClock
from tests.reservation_setup import add_org, add_resource, add_service

T0 = 1_772_445_600  # 2026-03-02T10:00:00Z
MIN = 60


@dataclass(frozen=True)
class Setup:
    org_id: str
    other_org_id: str
    service_id: str
    r1: str
    r2: str


@pytest.fixture
def setup(database: Database, clock: FakeClock) -> Setup:
    org = add_org(database, clock())
    other = add_org(database, clock(), "other")
    r1 = add_resource(database, org.org_id)
    r2 = add_resource(database, org.org_id)
    service = add_service(database, org.org_id, [r1, r2])
    return Setup(org.org_id, other.org_id, service, r1, r2)


def _slot(s: Setup, start: int, resource_ids: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "service_id": s.service_id,
        "resource_ids": resource_ids,
        "start": start,
        "end": start + 30 * MIN,
        "party_size": 1,
        "buffer_before": 5,
        "buffer_after": 10,
        **extra,
    }


def test_a_hold_is_read_back_only_by_its_organization(database: Database, setup: Setup) -> None:
    with database.write() as connection:
        hold = reservations.create_hold(
            connection, setup.org_id, _slot(setup, T0, [setup.r2, setup.r1], expires_at=T0), T0
        )
    assert hold["resource_ids"] == sorted([setup.r1, setup.r2])
    assert (hold["start"], hold["end"], hold["expires_at"]) == (T0, T0 + 30 * MIN, T0)
    assert (hold["buffer_before"], hold["buffer_after"]) == (5, 10)
    assert hold["released_at"] is None
    assert hold["booking_id"] is None
    with database.read() as connection:
        assert reservations.get_hold(connection, setup.org_id, hold["id"]) == hold
        with pytest.raises(NotFound):
            reservations.get_hold(connection, setup.other_org_id, hold["id"])


def test_only_live_holds_and_confirmed_bookings_take_seats(
    database: Database, setup: Setup
) -> None:
    now = T0 - 3600
    with database.write() as connection:
        live = reservations.create_hold(
            connection, setup.org_id, _slot(setup, T0, [setup.r1], expires_at=now + 1), now
        )
        reservations.create_hold(  # expired: a hold is live while now < expires_at
            connection, setup.org_id, _slot(setup, T0, [setup.r1], expires_at=now), now
        )
        released = reservations.create_hold(
            connection, setup.org_id, _slot(setup, T0, [setup.r1], expires_at=now + 60), now
        )
        reservations.release_hold(connection, setup.org_id, released["id"], now)
        kept = reservations.create_booking(
            connection, setup.org_id, _slot(setup, T0, [setup.r1]), now
        )
        gone = reservations.create_booking(
            connection, setup.org_id, _slot(setup, T0, [setup.r1]), now
        )
        reservations.cancel_booking(connection, setup.org_id, gone["id"], now)
        reservations.create_booking(  # outside the window
            connection, setup.org_id, _slot(setup, T0 + 86_400, [setup.r1]), now
        )
    with database.read() as connection:
        seen = reservations.reservations_in_window(
            connection, [setup.r1, setup.r2], T0, T0 + 3600, now
        )
    assert seen[setup.r2] == []
    assert sorted(b.id for b in seen[setup.r1]) == sorted([kept["id"], f"hold:{live['id']}"])
    taken = {b.id: b for b in seen[setup.r1]}[kept["id"]]
    assert (taken.start, taken.end, taken.party_size) == (T0, T0 + 30 * MIN, 1)
    assert (taken.buffer_before, taken.buffer_after) == (5, 10)


def test_a_booking_from_a_hold_releases_it(database: Database, setup: Setup) -> None:
    with database.write() as connection:
        hold = reservations.create_hold(
            connection, setup.org_id, _slot(setup, T0, [setup.r1], expires_at=T0), T0 - 60
        )
        booking = reservations.create_booking(
            connection, setup.org_id, _slot(setup, T0, [setup.r1], hold_id=hold["id"]), T0 - 30
        )
    with database.read() as connection:
        hold = reservations.get_hold(connection, setup.org_id, hold["id"])
        seen = reservations.reservations_in_window(connection, [setup.r1], T0, T0 + 1, T0 - 30)
    assert booking["hold_id"] == hold["id"]
    assert hold["booking_id"] == booking["id"]
    assert hold["released_at"] == T0 - 30
    assert [b.id for b in seen[setup.r1]] == [booking["id"]]


def test_changes_bump_the_versions_of_their_resources(database: Database, setup: Setup) -> None:
    def version() -> tuple[int, ...]:
        with database.read() as connection:
            return versions.read_versions(
                connection, setup.org_id, setup.service_id, [setup.r1, setup.r2]
            )

    seen = [version()]
    with database.write() as connection:
        hold = reservations.create_hold(
            connection, setup.org_id, _slot(setup, T0, [setup.r1], expires_at=T0), T0
        )
    seen.append(version())
    with database.write() as connection:
        reservations.release_hold(connection, setup.org_id, hold["id"], T0)
    seen.append(version())
    with database.write() as connection:
        booking = reservations.create_booking(
            connection, setup.org_id, _slot(setup, T0, [setup.r1]), T0
        )
    seen.append(version())
    with database.write() as connection:
        reservations.cancel_booking(connection, setup.org_id, booking["id"], T0)
    seen.append(version())
    r1_versions = [v[2 if setup.r1 < setup.r2 else 3] for v in seen]
    r2_versions = [v[3 if setup.r1 < setup.r2 else 2] for v in seen]
    assert r1_versions == sorted(set(r1_versions))  # strictly increasing: every change counted
    assert len(set(r2_versions)) == 1


def test_cancelling_twice_changes_nothing(database: Database, setup: Setup) -> None:
    with database.write() as connection:
        booking = reservations.create_booking(
            connection, setup.org_id, _slot(setup, T0, [setup.r1]), T0
        )
        first = reservations.cancel_booking(connection, setup.org_id, booking["id"], T0 + 1)
        second = reservations.cancel_booking(connection, setup.org_id, booking["id"], T0 + 2)
        with pytest.raises(NotFound):
            reservations.cancel_booking(connection, setup.other_org_id, booking["id"], T0)
    assert first == second
    assert (first["status"], first["cancelled_at"]) == ("cancelled", T0 + 1)


def test_listing_filters_and_pages_in_start_order(database: Database, setup: Setup) -> None:
    with database.write() as connection:
        made = [
            reservations.create_booking(connection, setup.org_id, _slot(setup, start, ids), T0)
            for start, ids in [
                (T0 + 7200, [setup.r1]),
                (T0, [setup.r2]),
                (T0 + 3600, [setup.r1, setup.r2]),
                (T0 + 86_400, [setup.r1]),
            ]
        ]
        reservations.cancel_booking(connection, setup.org_id, made[3]["id"], T0)
    with database.read() as connection:

        def ids(**filters: Any) -> list[str]:
            found = reservations.list_bookings(connection, setup.org_id, **filters)
            return [b["id"] for b in found]

        in_order = [made[1]["id"], made[2]["id"], made[0]["id"], made[3]["id"]]
        assert ids() == in_order
        assert ids(resource_id=setup.r1) == [made[2]["id"], made[0]["id"], made[3]["id"]]
        # Overlap with [T0 + 30 min, T0 + 2 h): the 10:00 booking ends at 10:30, so it is out.
        assert ids(start=T0 + 30 * MIN, end=T0 + 7200) == [made[2]["id"]]
        assert ids(status="cancelled") == [made[3]["id"]]
        assert ids(limit=2) == in_order[:2]
        assert ids(limit=2, after=in_order[1]) == in_order[2:]
        assert ids(after=in_order[-1]) == []
        assert reservations.list_bookings(connection, setup.other_org_id) == []
        with pytest.raises(NotFound):
            reservations.list_bookings(connection, setup.other_org_id, after=in_order[0])


def test_an_idempotency_key_keeps_its_first_answer(database: Database, setup: Setup) -> None:
    body = {"id": "b1", "z": [1, 2], "a": None}
    first = reservations.SavedResponse(reservations.request_hash({"x": 1, "y": 2}), 201, body, T0)
    with database.write() as connection:
        reservations.save_response(connection, setup.org_id, "key-1", first)
    with database.read() as connection:
        saved = reservations.saved_response(connection, setup.org_id, "key-1")
        assert saved == first
        assert list(saved.body) == ["id", "z", "a"]  # replayed byte for byte
        assert reservations.saved_response(connection, setup.other_org_id, "key-1") is None
    assert first.request_hash == reservations.request_hash({"y": 2, "x": 1})
    assert first.request_hash != reservations.request_hash({"x": 1, "y": 3})


def test_a_second_answer_for_a_key_is_refused(database: Database, setup: Setup) -> None:
    answer = reservations.SavedResponse("h", 201, {"n": 1}, T0)
    with database.write() as connection:
        reservations.save_response(connection, setup.org_id, "k", answer)

    def book_and_save() -> None:
        with database.write() as connection:
            reservations.create_booking(connection, setup.org_id, _slot(setup, T0, [setup.r1]), T0)
            reservations.save_response(
                connection, setup.org_id, "k", answer._replace(body={"n": 2})
            )

    with pytest.raises(reservations.KeyInUse):
        book_and_save()
    with database.write() as connection:
        # Keys are per organization; and the losing transaction above left nothing behind.
        reservations.save_response(connection, setup.other_org_id, "k", answer)
        assert reservations.list_bookings(connection, setup.org_id) == []
        reservations.forget_response(connection, setup.org_id, "k")
        assert reservations.saved_response(connection, setup.org_id, "k") is None
        assert reservations.saved_response(connection, setup.other_org_id, "k") == answer
