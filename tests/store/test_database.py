"""The database handle: transactions, and writers serialized per resource, on both backends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from openslots.store import reservations, versions
from openslots.store.database import Database, WriteConflict, normalize_url
from openslots.store.schema import bookings, organizations
from tests.reservation_setup import add_org, add_resource, add_service

T0 = 1_772_445_600  # 2026-03-02T10:00:00Z


def _in_threads(count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in ``count`` threads released together; re-raises the first error."""
    barrier = threading.Barrier(count)

    def run(i: int) -> object:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_urls_get_the_drivers_we_ship() -> None:
    assert normalize_url("postgresql://u@h:5432/d") == "postgresql+psycopg://u@h:5432/d"
    assert normalize_url("postgres://u:p@h/d") == "postgresql+psycopg://u:p@h/d"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_failed_write_leaves_nothing(database: Database) -> None:
    def fail() -> None:
        with database.write() as connection:
            add = organizations.insert().values(id="o1", slug="o1", name="o", created_at=0)
            connection.execute(add)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    with database.read() as connection:
        assert connection.execute(select(func.count()).select_from(organizations)).scalar() == 0


def test_sqlite_is_configured_for_concurrent_writers(tmp_path: object) -> None:
    database = Database(f"sqlite:///{tmp_path}/pragmas.db")
    try:
        with database.read() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        database.dispose()


def test_a_second_writer_on_the_same_resources_waits(database: Database) -> None:
    org = add_org(database, T0)
    resource = add_resource(database, org.org_id)
    first_in = threading.Event()
    times: dict[str, float] = {}

    def first() -> None:
        with database.serialized([resource]) as connection:
            versions.bump_resources(connection, [resource])
            first_in.set()
            time.sleep(0.3)
            times["first_out"] = time.monotonic()

    def second() -> None:
        first_in.wait()
        with database.serialized([resource]) as connection:
            times["second_in"] = time.monotonic()
            versions.bump_resources(connection, [resource])

    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(first), pool.submit(second)]:
            done.result()
    assert times["second_in"] >= times["first_out"]


def test_postgresql_writers_on_other_resources_run_alongside(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite has one writer at a time")
    org = add_org(database, T0)
    one, two = add_resource(database, org.org_id), add_resource(database, org.org_id)
    first_in, second_done = threading.Event(), threading.Event()

    def first() -> None:
        with database.serialized([one]):
            first_in.set()
            # Still holding ``one``: the writer on ``two`` must get through meanwhile.
            assert second_done.wait(5)

    def second() -> None:
        first_in.wait()
        with database.serialized([two]) as connection:
            versions.bump_resources(connection, [two])
        second_done.set()

    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(first), pool.submit(second)]:
            done.result()


def test_opposite_lock_orders_never_deadlock(database: Database) -> None:
    org = add_org(database, T0)
    a, b = add_resource(database, org.org_id), add_resource(database, org.org_id)

    def work(i: int) -> None:
        ids = [a, b] if i % 2 else [b, a]
        with database.serialized(ids) as connection:
            # Update the rows one at a time in the caller's order: without the locks taken
            # up front in id order, half of these transactions would wait on the other half.
            for resource_id in ids:
                versions.bump_resources(connection, [resource_id])
                time.sleep(0.005)

    _in_threads(12, work)


def test_a_postgresql_deadlock_victim_is_told_to_retry(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite writers never hold one lock while waiting for another")
    org = add_org(database, T0)
    a, b = add_resource(database, org.org_id), add_resource(database, org.org_id)
    both_in = threading.Barrier(2)

    def cross(i: int) -> str:
        mine, theirs = (a, b) if i else (b, a)
        try:
            with database.serialized([mine]) as connection:
                both_in.wait()
                # Reaching for a row outside the lock, in opposite orders: a real deadlock.
                versions.bump_resources(connection, [theirs])
        except WriteConflict:
            return "retry"
        return "committed"

    assert sorted(_in_threads(2, cross)) == ["committed", "retry"]


def test_a_check_then_insert_under_the_lock_never_oversells(database: Database) -> None:
    """The pattern every booking follows: read the seats taken, then insert, serialized."""
    org = add_org(database, T0)
    resource = add_resource(database, org.org_id)
    service = add_service(database, org.org_id, [resource])
    slot = {
        "service_id": service,
        "resource_ids": [resource],
        "start": T0,
        "end": T0 + 1800,
        "party_size": 1,
        "buffer_before": 0,
        "buffer_after": 0,
    }

    def attempt(_: int) -> bool:
        with database.serialized([resource]) as connection:
            taken = reservations.reservations_in_window(connection, [resource], T0, T0 + 1, T0)
            if taken[resource]:
                return False
            time.sleep(0.01)  # widen the window a racing writer would need
            reservations.create_booking(connection, org.org_id, slot, T0)
            return True

    outcomes = _in_threads(16, attempt)
    assert outcomes.count(True) == 1
    with database.read() as connection:
        assert connection.execute(select(func.count()).select_from(bookings)).scalar() == 1
