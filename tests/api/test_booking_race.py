"""Booking races against a real server (RELIABILITY-NOTES §5.3), on SQLite and PostgreSQL.

Each backend gets one uvicorn server in a subprocess (two worker processes sharing the
database) on a fresh database. Each race fires its requests together from an
``httpx.AsyncClient`` behind an ``asyncio.Barrier``, on a slot of its own, and is judged on the
committed rows in the database, not only on the answers: no 5xx, never more seats sold than
exist. Races repeat ``OPENSLOTS_RACE_REPEAT`` times (default 3); ``pytest -s`` prints the
outcome and wall time of every batch.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from openslots.store import reservations
from openslots.store.database import Database
from openslots.store.migrate import upgrade
from tests.databases import fresh_postgres_database
from tests.reservation_setup import Org, add_org, add_resource, add_service
from tests.server import running_server

REPEAT = int(os.environ.get("OPENSLOTS_RACE_REPEAT", "3"))
WORKERS = 2
# A Monday far enough ahead that the server's real clock never makes it past.
SLOT = "2031-03-03T10:00:00Z"
OVERLAPPING = "2031-03-03T10:15:00Z"


@dataclass(frozen=True)
class Live:
    backend: str
    database: Database
    base_url: str
    org: Org


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """A running server on a fresh, migrated database of each backend."""
    place: AbstractContextManager[str]
    if request.param == "sqlite":
        place = nullcontext(f"sqlite:///{tmp_path_factory.mktemp('race') / 'race.db'}")
    else:
        place = fresh_postgres_database("openslots_race")
    with place as url:
        database = Database(url)
        try:
            upgrade(database)
            org = add_org(database, int(time.time()))
            with running_server(url, workers=WORKERS) as base_url:
                yield Live(request.param, database, base_url, org)
        finally:
            database.dispose()


@dataclass(frozen=True)
class Call:
    path: str
    body: dict[str, Any]
    headers: dict[str, str] | None = None


async def _fire(live: Live, calls: list[Call]) -> tuple[list[httpx.Response], float]:
    """Send every call at once; the answers in call order and the batch's wall time (s)."""
    limits = httpx.Limits(max_connections=len(calls), max_keepalive_connections=len(calls))
    async with httpx.AsyncClient(
        base_url=live.base_url, headers=live.org.headers, timeout=60, limits=limits
    ) as client:
        barrier = asyncio.Barrier(len(calls))

        async def send(call: Call) -> httpx.Response:
            await barrier.wait()
            return await client.post(call.path, json=call.body, headers=call.headers)

        started = time.perf_counter()
        answers = await asyncio.gather(*(send(call) for call in calls))
        return list(answers), time.perf_counter() - started


def race(live: Live, name: str, calls: list[Call]) -> list[httpx.Response]:
    answers, wall = asyncio.run(_fire(live, calls))
    statuses = Counter(a.status_code for a in answers)
    outcome = " ".join(f"{status}x{count}" for status, count in sorted(statuses.items()))
    print(f"[{live.backend}] {name}: {len(calls)} requests -> {outcome} in {wall:.3f} s")
    assert all(a.status_code < 500 for a in answers), [a.text for a in answers]
    return answers


def _committed(live: Live, resource_id: str) -> list[dict[str, Any]]:
    with live.database.read() as connection:
        return reservations.list_bookings(
            connection, live.org.org_id, resource_id=resource_id, status="confirmed"
        )


def _shop(live: Live, capacity: int = 1, **service: Any) -> tuple[str, str]:
    resource = add_resource(live.database, live.org.org_id, capacity=capacity)
    return resource, add_service(live.database, live.org.org_id, [resource], **service)


def _booking(service: str, start: str = SLOT, **fields: Any) -> Call:
    return Call("/v1/bookings", {"service_id": service, "start": start, **fields})


@pytest.mark.parametrize("capacity", [1, 3])
def test_simultaneous_bookings_never_exceed_capacity(live: Live, capacity: int) -> None:
    for run in range(REPEAT):
        resource, service = _shop(live, capacity)
        answers = race(live, f"capacity {capacity} run {run + 1}", [_booking(service)] * 50)
        statuses = Counter(a.status_code for a in answers)
        assert statuses == {201: capacity, 409: 50 - capacity}
        assert all(
            a.json()["error"]["code"] == "slot_taken" for a in answers if a.status_code == 409
        )
        committed = _committed(live, resource)
        assert len(committed) == capacity
        assert sorted(b["id"] for b in committed) == sorted(
            a.json()["id"] for a in answers if a.status_code == 201
        )


def test_overlapping_unequal_intervals_book_once(live: Live) -> None:
    for run in range(REPEAT):
        resource, service = _shop(live)
        calls = [_booking(service, SLOT if i % 2 else OVERLAPPING) for i in range(50)]
        answers = race(live, f"10:00 vs 10:15 run {run + 1}", calls)
        assert Counter(a.status_code for a in answers) == {201: 1, 409: 49}
        assert len(_committed(live, resource)) == 1


def test_party_sizes_never_overflow_a_group_services_seats(live: Live) -> None:
    seats = 7
    for run in range(REPEAT):
        resource, service = _shop(live, seats=seats)
        parties = [1 + i % 3 for i in range(30)]
        answers = race(
            live, f"seats {seats} run {run + 1}", [_booking(service, party_size=p) for p in parties]
        )
        sold = sum(p for p, a in zip(parties, answers, strict=True) if a.status_code == 201)
        committed = _committed(live, resource)
        assert sum(b["party_size"] for b in committed) == sold
        assert sold <= seats
        # Serialized checks refuse a party only when too few seats are left, and seats only
        # ever run out: every refused party is larger than what is left at the end.
        refused = [p for p, a in zip(parties, answers, strict=True) if a.status_code == 409]
        assert all(p > seats - sold for p in refused)


def test_the_same_hold_confirmed_concurrently_books_once(live: Live) -> None:
    for run in range(REPEAT):
        resource, service = _shop(live)
        hold = httpx.post(
            f"{live.base_url}/v1/holds",
            json={"service_id": service, "start": SLOT},
            headers=live.org.headers,
        ).json()
        calls = [Call("/v1/bookings", {"hold_id": hold["id"]})] * 10
        answers = race(live, f"one hold confirmed 10x run {run + 1}", calls)
        assert Counter(a.status_code for a in answers) == {201: 1, 409: 9}
        assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {
            "hold_released"
        }
        assert len(_committed(live, resource)) == 1


def test_overlapping_holds_keep_their_seats_through_confirmation(live: Live) -> None:
    """Two overlapping holds fill a capacity-2 resource; their confirmations race 20 direct
    bookings of the overlap. The seats pass from hold to booking with no gap in between."""
    for run in range(REPEAT):
        resource, service = _shop(live, capacity=2)
        holds = [
            httpx.post(
                f"{live.base_url}/v1/holds",
                json={"service_id": service, "start": start},
                headers=live.org.headers,
            ).json()["id"]
            for start in (SLOT, OVERLAPPING)
        ]
        calls = [Call("/v1/bookings", {"hold_id": h}) for h in holds]
        calls += [_booking(service, OVERLAPPING)] * 20
        answers = race(live, f"2 holds vs 20 bookings run {run + 1}", calls)
        assert [a.status_code for a in answers[:2]] == [201, 201]
        assert Counter(a.status_code for a in answers[2:]) == {409: 20}
        assert sorted(b["hold_id"] for b in _committed(live, resource)) == sorted(holds)


def test_an_expired_hold_loses_to_the_live_hold_on_its_slot(live: Live) -> None:
    """Of two overlapping holds confirmed together, exactly one books: the one still live."""
    shops = [_shop(live) for _ in range(REPEAT)]
    expired = [
        httpx.post(
            f"{live.base_url}/v1/holds",
            json={"service_id": service, "start": SLOT, "ttl_seconds": 1},
            headers=live.org.headers,
        ).json()["id"]
        for _, service in shops
    ]
    time.sleep(1.1)  # the server's clock counts whole seconds
    for run, ((resource, service), old) in enumerate(zip(shops, expired, strict=True)):
        new = httpx.post(
            f"{live.base_url}/v1/holds",
            json={"service_id": service, "start": OVERLAPPING},
            headers=live.org.headers,
        )
        assert new.status_code == 201
        calls = [Call("/v1/bookings", {"hold_id": h}) for h in (old, new.json()["id"])]
        answers = race(live, f"expired vs live hold run {run + 1}", calls)
        assert [a.status_code for a in answers] == [409, 201]
        assert answers[0].json()["error"]["code"] == "hold_expired"
        assert [b["hold_id"] for b in _committed(live, resource)] == [new.json()["id"]]


def test_one_idempotency_key_sent_ten_times_books_once(live: Live) -> None:
    for run in range(REPEAT):
        resource, service = _shop(live)
        key = f"order-{resource}"
        call = Call(
            "/v1/bookings", {"service_id": service, "start": SLOT}, {"Idempotency-Key": key}
        )
        answers = race(live, f"same key 10x run {run + 1}", [call] * 10)
        assert {a.status_code for a in answers} == {201}
        assert len({a.content for a in answers}) == 1
        replayed = [a.headers.get("Idempotent-Replayed") for a in answers]
        assert replayed.count("true") == 9
        assert replayed.count(None) == 1
        assert [b["id"] for b in _committed(live, resource)] == [answers[0].json()["id"]]
