"""The availability cache: two app instances on one database (as two processes would be).

Instance 1 is warmed, every kind of change goes through instance 2, and instance 1 must answer
the new truth at once, exactly as a third instance without a cache does. Time-driven changes
(a hold expiring, min_notice and horizon at a minute boundary) are checked the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openslots.api.app import create_app
from openslots.api.cache import AvailabilityCache, CachedAnswer, time_class
from openslots.api.settings import ApiSettings
from openslots.store.database import Database
from tests.api.test_availability import MONDAY, NY, Shop, week
from tests.conftest import FakeClock


class Instances:
    """Instance 1 (cached, read), instance 2 (cached, where changes go), and a cold reference."""

    def __init__(self, first: Shop, second: Shop, cold: Shop) -> None:
        self.first, self.second, self.cold = first, second, cold

    def answer(self, service_id: str, expect: str, **params: Any) -> dict[str, Any]:
        """Instance 1's answer, checked against the cold one; ``expect`` is ``hit`` or ``miss``."""
        query = {"service_id": service_id, "start": MONDAY, "end": MONDAY, "timezone": NY, **params}
        response = self.first.get(**query)
        assert response.status_code == 200, response.text
        assert response.headers["x-cache"] == expect
        reference = self.cold.get(**query)
        assert reference.headers["x-cache"] == "miss"
        assert response.json() == reference.json()
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture
def instances(
    database_url: str,
    database: Database,
    clock: FakeClock,
    make_tenant: Callable[[str], Any],
) -> Iterator[Instances]:
    headers = make_tenant("acme").headers("admin")
    databases = [Database(database_url) for _ in range(3)]
    clients = [
        TestClient(create_app(ApiSettings(database=db, clock=clock, cache_entries=entries)))
        for db, entries in zip(databases, (1024, 1024, 0), strict=True)
    ]
    for client in clients:
        client.__enter__()
    try:
        yield Instances(*(Shop(client, headers) for client in clients))
    finally:
        for client in clients:
            client.__exit__(None, None, None)
        for db in databases:
            db.dispose()


def test_every_change_through_one_instance_reaches_the_other_at_once(
    instances: Instances,
) -> None:
    second = instances.second
    team = second.post("/v1/teams", {"name": "stylists", "schedule": week("mon")})["id"]
    alice = second.resource("alice", week("mon"))
    bob = second.resource("bob", team_id=team)  # the team's hours
    carol = second.resource("carol")  # the organization's hours (none yet)
    service = second.service([alice, bob, carol])
    headers = second.headers
    client = second.client

    previous = instances.answer(service, "miss")
    assert previous["slots"][0]["resource_ids"] == [alice, bob]
    assert instances.answer(service, "hit") == previous

    def changed(description: str) -> None:
        nonlocal previous
        answer = instances.answer(service, "miss")
        assert answer != previous, description
        assert instances.answer(service, "hit") == answer
        previous = answer

    def ok(response: Any) -> Any:
        assert response.status_code in {200, 201, 204}, response.text
        return response.json() if response.status_code != 204 else None

    block = second.block(alice, "2026-03-02T14:00:00Z", "2026-03-02T14:30:00Z")
    changed("a manual block")
    ok(client.delete(f"/v1/resources/{alice}/blocks/{block}", headers=headers))
    changed("a manual block deleted")
    booking = second.book(service, "2026-03-02T14:30:00Z", resource_ids=[alice])
    changed("a booking")
    ok(client.delete(f"/v1/bookings/{booking['id']}", headers=headers))
    changed("a booking cancelled")
    hold = second.post(
        "/v1/holds", {"service_id": service, "start": "2026-03-02T15:00:00Z", "resource_ids": [bob]}
    )
    changed("a hold")
    ok(client.delete(f"/v1/holds/{hold['id']}", headers=headers))
    changed("a hold released")
    ok(client.put(f"/v1/resources/{alice}/schedule", json=week("mon", "13:00", "14:00"),
                  headers=headers))  # fmt: skip
    changed("a resource's schedule")
    ok(client.put(f"/v1/teams/{team}/schedule", json=week("mon", "14:00", "15:00"),
                  headers=headers))  # fmt: skip
    changed("a team's schedule")
    ok(client.put("/v1/organization/schedule", json=week("mon", "15:00", "16:00"),
                  headers=headers))  # fmt: skip
    changed("the organization's hours")
    ok(client.patch(f"/v1/services/{service}", json={"interval": 15}, headers=headers))
    changed("the service's interval")
    location = second.location("salon", week("mon", "13:00", "14:00"))
    ok(client.patch(f"/v1/services/{service}", json={"location_id": location}, headers=headers))
    changed("the service's location")
    ok(client.put(f"/v1/locations/{location}/schedule", json=week("mon", "13:00", "15:00"),
                  headers=headers))  # fmt: skip
    changed("the location's hours")
    ok(client.patch(f"/v1/resources/{alice}", json={"capacity": 3}, headers=headers))
    changed("a resource's capacity")
    ok(client.patch(f"/v1/services/{service}", json={"resource_ids": [alice, carol]},
                    headers=headers))  # fmt: skip
    changed("the service's pool")
    ok(client.delete(f"/v1/resources/{alice}", headers=headers))
    changed("a resource of the pool deleted")
    assert previous["slots"] == []


def test_a_hold_expiring_ends_the_entries_that_counted_it(
    instances: Instances, clock: FakeClock
) -> None:
    second = instances.second
    alice = second.resource("alice", week("mon"))
    service = second.service([alice])
    clock.advance(10)  # 12:00:10: the hold expires inside this minute, with no write
    second.post(
        "/v1/holds",
        {"service_id": service, "start": "2026-03-02T14:00:00Z", "ttl_seconds": 30},
    )
    held = instances.answer(service, "miss")
    assert held["slots"][0]["start"] == "2026-03-02T09:30:00-05:00"
    clock.advance(29)  # 12:00:39, the hold still takes its seat
    assert instances.answer(service, "hit") == held
    clock.advance(1)  # 12:00:40 = expires_at: the seat is free again
    freed = instances.answer(service, "miss")
    assert freed["slots"][0]["start"] == "2026-03-02T09:00:00-05:00"
    assert time_class(clock()) == time_class(clock() - 30)


def test_notice_and_horizon_stay_exact_to_the_second(
    instances: Instances, clock: FakeClock
) -> None:
    second = instances.second
    alice = second.resource("alice", week("mon"))
    service = second.service([alice], min_notice=60, horizon=150)
    clock.now = 1_772_458_200  # 2026-03-02T13:30:00Z, 08:30 in New York

    def starts(expect: str) -> list[str]:
        return [s["start"][11:16] for s in instances.answer(service, expect)["slots"]]

    # now + 60 min = 09:30 exactly: kept; now + 150 min = 11:00 exactly: kept.
    assert starts("miss") == ["09:30", "10:00", "10:30", "11:00"]
    assert starts("hit") == ["09:30", "10:00", "10:30", "11:00"]
    clock.advance(1)  # one second later 09:30 is too soon
    assert starts("miss") == ["10:00", "10:30", "11:00"]
    clock.advance(58)  # 13:30:59: the same answer
    assert starts("hit") == ["10:00", "10:30", "11:00"]
    clock.advance(1)  # 13:31:00: a new minute, the horizon reaches 11:01
    assert starts("miss") == ["10:00", "10:30", "11:00"]
    clock.advance(-60)  # back to 13:30:00, whose entry still holds
    assert starts("hit") == ["09:30", "10:00", "10:30", "11:00"]


def test_each_query_has_its_own_entry(instances: Instances) -> None:
    second = instances.second
    alice = second.resource("alice", week("mon"))
    service = second.service([alice])
    plain = instances.answer(service, "miss")
    days = instances.answer(service, "miss", format="days")
    assert "slots" not in days
    assert instances.answer(service, "miss", timezone="UTC") != plain
    assert instances.answer(service, "miss", end="2026-03-03") != plain
    assert instances.answer(service, "hit") == plain
    assert instances.answer(service, "hit", format="days") == days
    # A date and the instant it means are one query.
    assert instances.answer(service, "hit", start="2026-03-02T05:00:00Z") == plain


def test_sources_are_read_fresh_on_a_hit(instances: Instances, database: Database) -> None:
    from sqlalchemy import insert, update

    from openslots.store.schema import connections

    second = instances.second
    alice = second.resource("alice", week("mon"))
    service = second.service([alice])
    assert instances.answer(service, "miss")["sources"] == []
    org_id = second.get("/v1/organization").json()["id"]
    with database.write() as connection:
        connection.execute(
            insert(connections).values(
                id="00000000-0000-4000-8000-000000000001",
                org_id=org_id,
                resource_id=alice,
                provider="ics",
                settings={},
                sync_interval=900,
                status="ok",
                last_success_at=None,
                created_at=0,
            )
        )
    sources = instances.answer(service, "hit")["sources"]
    assert [(s["synced_at"], s["stale"]) for s in sources] == [(None, True)]
    with database.write() as connection:
        connection.execute(update(connections).values(last_success_at=1_772_366_100))
    sources = instances.answer(service, "hit")["sources"]
    assert [(s["synced_at"], s["stale"]) for s in sources] == [("2026-03-01T11:55:00Z", False)]


def test_cache_entries_zero_turns_the_cache_off(instances: Instances) -> None:
    cold = instances.cold
    alice = instances.second.resource("alice", week("mon"))
    service = instances.second.service([alice])
    query = {"service_id": service, "start": MONDAY, "end": MONDAY}
    for _ in range(3):
        assert cold.get(**query).headers["x-cache"] == "miss"
    cache = cold.client.app.state.availability_cache
    assert not cache.enabled
    assert len(cache) == 0


# -- the cache itself -----------------------------------------------------------------------


def answer(size: int) -> CachedAnswer:
    return CachedAnswer(b"x" * size, ("r",))


def test_least_recently_used_entries_go_first() -> None:
    cache = AvailabilityCache(2)
    cache.put("a", answer(1), 0, None)
    cache.put("b", answer(1), 0, None)
    assert cache.get("a", 0) is not None  # a is now the most recent
    cache.put("c", answer(1), 0, None)
    assert cache.get("b", 0) is None
    assert cache.get("a", 0) is not None
    assert cache.get("c", 0) is not None


def test_the_byte_budget_and_entry_limits_hold() -> None:
    cache = AvailabilityCache(100, max_bytes=10, max_entry_bytes=6)
    cache.put("big", answer(7), 0, None)
    assert cache.get("big", 0) is None
    for key in "abc":
        cache.put(key, answer(4), 0, None)
    assert len(cache) == 2
    assert cache.get("a", 0) is None


def test_entries_hold_from_their_computation_until_their_expiry() -> None:
    cache = AvailabilityCache(10)
    cache.put("k", answer(1), 100, 160)
    assert cache.get("k", 99) is None  # before it was computed: dropped
    cache.put("k", answer(1), 100, 160)
    assert cache.get("k", 159) is not None
    assert cache.get("k", 160) is None
    assert AvailabilityCache(0).enabled is False


def test_an_answer_joins_the_sources_of_the_moment() -> None:
    cached = CachedAnswer(b'{"slots":[]', ("r",))
    first = cached.body(b"[]")
    assert first == b'{"slots":[],"sources":[]}'
    assert cached.body(b"[]") is first  # the same sources: the same bytes, no copy
    assert cached.body(b'[{"stale":true}]') == b'{"slots":[],"sources":[{"stale":true}]}'


def test_time_classes_keep_minute_boundaries_apart() -> None:
    assert time_class(120) != time_class(121)
    assert time_class(121) == time_class(179)
    assert time_class(179) != time_class(180)


def test_windows_from_before_1972_are_not_cached(instances: Instances, clock: FakeClock) -> None:
    # Liberia's offset had seconds until 1972: its candidates were not on whole minutes.
    second = instances.second
    monrovia = {
        "timezone": "Africa/Monrovia",
        "rules": [{"day": "mon", "start": "09:00", "end": "10:00"}],
    }
    alice = second.resource("alice", monrovia, timezone="Africa/Monrovia")
    service = second.service([alice])
    clock.now = 34_214_400  # 1971-02-01T00:00:00Z
    old = {"start": "1971-03-01", "end": "1971-03-01", "timezone": "Africa/Monrovia"}
    first = instances.answer(service, "miss", **old)
    assert first["slots"][0]["start"] == "1971-03-01T09:00:00-00:44:30"
    assert instances.answer(service, "miss", **old) == first
