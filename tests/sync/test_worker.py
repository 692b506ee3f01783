"""Leases and the sync worker on both backends: claiming due connections, one worker per
connection at a time, take-over after a lease expires, and schedules after success and failure.
The multi-process test (three `openslots worker` processes, kill -9) is test_scale_out.py."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, update

from openslots.credentials import CredentialCipher, generate_key
from openslots.errors import TransientError
from openslots.store import catalog, leases
from openslots.store.connections import create_connection
from openslots.store.database import Database
from openslots.store.schema import busy_blocks, connections
from openslots.store.sync_state import LeaseLost, record_failure
from openslots.sync.contract import (
    CalendarDelta,
    CalendarSnapshot,
    Connector,
    SyncProblem,
    SyncRequest,
    SyncResult,
)
from openslots.sync.registry import ConnectorRegistry
from openslots.sync.runner import Backoff, sync_window
from openslots.sync.services import ProviderLimits, SyncServices
from openslots.sync.worker import SyncWorker, WorkerSettings
from tests.conftest import FakeClock
from tests.sync.fake_calendar import FakeCalendars, FakeConnector

HOUR = 3600


def services_for(calendars: FakeCalendars, cipher: CredentialCipher) -> SyncServices:
    registry = ConnectorRegistry(discover=False)
    registry.register(FakeConnector(calendars))
    return SyncServices(
        registry=registry,
        http_client=lambda: pytest.fail("the fake connector makes no HTTP request"),
        cipher=cipher,
        backoff=Backoff(base=60, cap=600),
        random=lambda: 0.5,
    )


class Setup:
    def __init__(self, database: Database, clock: FakeClock) -> None:
        self.database = database
        self.clock = clock
        self.calendars = FakeCalendars()
        self.cipher = CredentialCipher([generate_key()])
        self.services = services_for(self.calendars, self.cipher)
        with database.write() as connection:
            org = catalog.create_org(connection, "acme", f"acme-{id(self)}", clock())
            self.org_id = org["id"]
            self.resource_id = catalog.create(
                connection, self.org_id, "resources", {"name": "room", "timezone": "UTC"}
            )["id"]

    def connect(self, calendar: str, *spans: tuple[int, int], interval: int = 900) -> str:
        self.calendars.add(calendar, *spans)
        with self.database.write() as connection:
            return str(
                create_connection(
                    connection,
                    self.org_id,
                    resource_id=self.resource_id,
                    provider="fake",
                    settings={"calendar": calendar},
                    credentials=self.cipher.encrypt({"token": "secret-token"}),
                    sync_interval=interval,
                    now=self.clock(),
                )["id"]
            )

    def worker(self, name: str, **settings: Any) -> SyncWorker:
        return SyncWorker(
            self.database, self.services, WorkerSettings(**settings), name=name, clock=self.clock
        )

    def row(self, connection_id: str) -> Any:
        with self.database.read() as connection:
            return connection.execute(
                select(connections).where(connections.c.id == connection_id)
            ).one()

    def blocks(self, connection_id: str) -> list[tuple[int, int]]:
        with self.database.read() as connection:
            rows = connection.execute(
                select(busy_blocks.c.start_at, busy_blocks.c.end_at)
                .where(busy_blocks.c.connection_id == connection_id)
                .order_by(busy_blocks.c.start_at)
            )
            return [(r.start_at, r.end_at) for r in rows]


@pytest.fixture
def setup(database: Database, clock: FakeClock) -> Setup:
    return Setup(database, clock)


def soon(clock: FakeClock) -> tuple[int, int]:
    start = clock() + 2 * HOUR
    return start, start + HOUR


def test_a_tick_syncs_what_is_due_and_schedules_the_next(setup: Setup) -> None:
    span = soon(setup.clock)
    first = setup.connect("a", span)
    second = setup.connect("b", span, interval=60)
    worker = setup.worker("w1")
    try:
        assert sorted(worker.tick()) == sorted([first, second])
        worker.drain()
        assert setup.blocks(first) == [span]
        row = setup.row(first)
        assert (row.status, row.lease_owner, row.due_at) == ("ok", None, setup.clock() + 900)
        assert setup.row(second).due_at == setup.clock() + 60
        # Nothing is due now: the next tick claims nothing.
        assert worker.tick() == []
        setup.clock.advance(60)
        assert worker.tick() == [second]
        worker.drain()
    finally:
        worker.stop()
    assert setup.calendars.calls == {"a": 1, "b": 2}


def test_a_failure_is_retried_after_its_backoff_and_reauth_is_not(setup: Setup) -> None:
    flaky = setup.connect("flaky", soon(setup.clock))
    revoked = setup.connect("revoked", soon(setup.clock))
    setup.calendars.failures["flaky"] = TransientError("upstream is down", retry_after=None)
    setup.calendars.tokens["revoked"] = "rotated-upstream"
    worker = setup.worker("w1")
    try:
        worker.tick()
        worker.drain()
        flaky_row, revoked_row = setup.row(flaky), setup.row(revoked)
        assert flaky_row.status == "error"
        assert flaky_row.due_at == setup.clock() + 30  # full jitter: 0.5 x base 60
        assert (revoked_row.status, revoked_row.due_at) == ("needs_reauth", None)
        setup.clock.advance(30)
        del setup.calendars.failures["flaky"]
        assert worker.tick() == [flaky]  # the revoked one is never claimed again
        worker.drain()
        assert setup.row(flaky).status == "ok"
    finally:
        worker.stop()


def test_a_leased_connection_is_not_claimed_until_the_lease_expires(setup: Setup) -> None:
    span = soon(setup.clock)
    cid = setup.connect("a", span)
    with setup.database.write() as connection:
        assert leases.claim_due(connection, "dead-worker", setup.clock(), 120, 10) == [cid]
    worker = setup.worker("w2", lease_seconds=120)
    try:
        assert worker.tick() == []
        setup.clock.advance(120)
        assert worker.tick() == [cid]  # expired: taken over
        worker.drain()
    finally:
        worker.stop()
    assert setup.row(cid).status == "ok"
    assert setup.blocks(cid) == [span]


def test_a_worker_that_lost_its_lease_writes_nothing(setup: Setup) -> None:
    cid = setup.connect("a", soon(setup.clock))
    now = setup.clock()
    with setup.database.write() as connection:
        leases.claim_due(connection, "slow", now, 10, 10)
    with setup.database.write() as connection:
        assert leases.claim(connection, "fast", cid, now + 11, 120)
    outcome = asyncio.run(setup.services.sync(setup.database, cid, now, lease_owner="slow"))
    assert outcome.status == "lost_lease"
    assert setup.blocks(cid) == []
    row = setup.row(cid)
    assert (row.lease_owner, row.status) == ("fast", "pending")
    with setup.database.write() as connection, pytest.raises(LeaseLost):
        record_failure(
            connection, cid, message="x", status="error", failures=1, next_attempt_at=0,
            lease_owner="slow",
        )  # fmt: skip


def test_renewing_keeps_a_long_sync_its_lease(setup: Setup) -> None:
    cid = setup.connect("a", soon(setup.clock))
    with setup.database.write() as connection:
        leases.claim_due(connection, "w1", setup.clock(), 10, 10)
    setup.clock.advance(8)
    with setup.database.write() as connection:
        assert leases.renew(connection, "w1", [cid], setup.clock(), 10) == [cid]
        assert leases.renew(connection, "other", [cid], setup.clock(), 10) == []
    setup.clock.advance(8)  # 16 s after the claim, 8 after the renewal: still held
    with setup.database.write() as connection:
        assert leases.claim_due(connection, "w2", setup.clock(), 10, 10) == []
        assert leases.holder(connection, cid, setup.clock()) == "w1"


def test_concurrent_claims_never_overlap(setup: Setup) -> None:
    """Four claimers at once over one pool of due connections (SKIP LOCKED on PostgreSQL,
    serialized writes on SQLite): every connection is claimed exactly once."""
    ids = {setup.connect(f"c{i}", soon(setup.clock)) for i in range(60)}
    claimed: dict[str, list[str]] = {}
    barrier = threading.Barrier(4)

    def claimer(name: str) -> None:
        barrier.wait()
        got: list[str] = []
        while True:
            with setup.database.write() as connection:
                batch = leases.claim_due(connection, name, setup.clock(), 120, 7)
            if not batch:
                break
            got += batch
        claimed[name] = got

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [cid for got in claimed.values() for cid in got]
    assert sorted(everything) == sorted(ids)


def test_the_scheduler_runs_ticks_by_itself(setup: Setup) -> None:
    clock: Callable[[], int] = lambda: int(time.time())  # noqa: E731
    setup.clock = clock  # type: ignore[assignment]
    cid = setup.connect("a", (clock() + HOUR, clock() + 2 * HOUR), interval=1)
    worker = SyncWorker(
        setup.database,
        setup.services,
        WorkerSettings(poll_seconds=0.1, lease_seconds=5),
        name="scheduled",
        clock=clock,
    )
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while setup.calendars.calls["a"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert setup.calendars.calls["a"] >= 2  # the first sync, and again a second later
    assert setup.row(cid).status == "ok"


def test_the_window_is_aligned_to_utc_days() -> None:
    window = sync_window(1_796_083_200 + 5 * HOUR, 1, 120)
    assert (window.start, window.end) == (1_796_083_200 - 86_400, 1_796_083_200 + 120 * 86_400)


def test_a_disabled_connection_is_not_claimed(setup: Setup) -> None:
    cid = setup.connect("a", soon(setup.clock))
    with setup.database.write() as connection:
        connection.execute(
            update(connections).where(connections.c.id == cid).values(status="disabled")
        )
        assert leases.claim_due(connection, "w", setup.clock(), 120, 10) == []


class _Scripted(Connector):
    """Answers each sync with the next scripted result."""

    provider = "scripted"

    def __init__(self, results: list[SyncResult]) -> None:
        self.results = results

    def validate_settings(self, settings: Any, credentials: Any) -> None:
        pass

    async def sync(self, request: SyncRequest) -> SyncResult:
        return self.results.pop(0)


def test_problems_stay_until_the_calendar_is_read_again(setup: Setup) -> None:
    """An unchanged feed answers an empty delta with no problems: the broken series it had is
    still broken, so its problem stays until the next snapshot reads the calendar again."""
    broken = SyncProblem("default", "bad RRULE", "series-1")
    snapshot = CalendarSnapshot("default", (), cursor="v1")
    results = [
        SyncResult((snapshot,), (broken,)),
        SyncResult((CalendarDelta("default", (), (), cursor="v1"),)),
        SyncResult((CalendarSnapshot("default", (), cursor="v2"),)),
    ]
    setup.services.registry.register(_Scripted(results))
    with setup.database.write() as connection:
        cid = create_connection(
            connection,
            setup.org_id,
            resource_id=setup.resource_id,
            provider="scripted",
            settings={},
            credentials=None,
            sync_interval=900,
            now=setup.clock(),
        )["id"]
    expected = [{"calendar": "default", "external_id": "series-1", "message": "bad RRULE"}]
    for problems in (expected, expected, None):
        assert asyncio.run(setup.services.sync(setup.database, cid, setup.clock())).status == "ok"
        assert setup.row(cid).problems == problems


def test_credentials_a_connector_returns_replace_the_stored_ones(setup: Setup) -> None:
    """A refreshed OAuth token comes back in the result and is stored encrypted with it."""
    refreshed = {"refresh_token": "rotated-refresh-token-secret"}
    results = [SyncResult((CalendarSnapshot("default", ()),), credentials=refreshed)]
    setup.services.registry.register(_Scripted(results))
    with setup.database.write() as connection:
        cid = create_connection(
            connection,
            setup.org_id,
            resource_id=setup.resource_id,
            provider="scripted",
            settings={},
            credentials=setup.cipher.encrypt({"refresh_token": "old"}),
            sync_interval=900,
            now=setup.clock(),
        )["id"]
    assert asyncio.run(setup.services.sync(setup.database, cid, setup.clock())).status == "ok"
    stored = setup.row(cid).credentials
    assert b"rotated-refresh-token-secret" not in stored
    assert setup.cipher.decrypt(stored) == refreshed


def test_a_provider_limit_holds_across_event_loops(setup: Setup) -> None:
    """Worker threads each run their own loop; the limit is per process, not per loop."""
    setup.services.limits = ProviderLimits({"fake": 2})
    setup.calendars.delay = 0.2
    ids = [setup.connect(f"c{i}", soon(setup.clock)) for i in range(6)]
    threads = [
        threading.Thread(
            target=lambda cid=cid: asyncio.run(
                setup.services.sync(setup.database, cid, setup.clock())
            )
        )
        for cid in ids
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert setup.calendars.peak == 2
    assert all(setup.row(cid).status == "ok" for cid in ids)
