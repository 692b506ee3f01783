"""The sync runner on both backends, with an in-memory upstream behind a connector registered
in process: snapshots and deltas applied as the contract's ``apply`` says, failures that leave
the blocks byte-identical, ``needs_reauth``, the backoff schedule and cursor expiry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import insert, select

from openslots.errors import AuthRevoked, CursorExpired, RateLimited, TransientError
from openslots.store import sync_state
from openslots.store.catalog import create_org, new_id
from openslots.store.database import Database
from openslots.store.schema import busy_blocks, connections, resources
from openslots.sync.contract import (
    BusyEvent,
    CalendarDelta,
    CalendarSnapshot,
    Connector,
    SyncRequest,
    SyncResult,
    SyncWindow,
)
from openslots.sync.registry import ConnectorRegistry
from openslots.sync.runner import Backoff, sync_once

HOUR = 3600
DAY = 24 * HOUR
T0 = 1_772_323_200  # 2026-03-01T00:00:00Z
WINDOW = SyncWindow(T0, T0 + 30 * DAY)
NOW = T0 + 12 * HOUR


@dataclass
class FakeUpstream:
    """An in-memory calendar service: objects by calendar, each a tuple of occurrences, with a
    change log so it can answer deltas. A cursor is ``"<version>@<window start>:<end>"``;
    cursors older than ``valid_from`` are expired. ``failures`` are raised by the next syncs."""

    objects: dict[str, dict[str, tuple[BusyEvent, ...]]] = field(default_factory=dict)
    log: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    version: int = 0
    valid_from: int = 0
    failures: list[Exception] = field(default_factory=list)
    calls: list[Mapping[str, str]] = field(default_factory=list)

    def _touch(self, calendar: str, external_id: str) -> None:
        self.version += 1
        self.log.setdefault(calendar, []).append((self.version, external_id))

    def put(self, calendar: str, external_id: str, *spans: tuple[int, int, str]) -> None:
        self.removed.discard(calendar)
        self.objects.setdefault(calendar, {})[external_id] = tuple(
            BusyEvent(external_id, start, end, kind)  # type: ignore[arg-type]
            for start, end, kind in spans
        )
        self._touch(calendar, external_id)

    def delete(self, calendar: str, external_id: str) -> None:
        self.objects.get(calendar, {}).pop(external_id, None)
        self._touch(calendar, external_id)

    def remove_calendar(self, calendar: str) -> None:
        # Logged as deletions too: a calendar created again under the same name must not
        # answer a delta that forgets the objects it had before.
        for external_id in sorted(self.objects.pop(calendar, {})):
            self._touch(calendar, external_id)
        self.removed.add(calendar)
        self.version += 1

    def expire_cursors(self) -> None:
        self.valid_from = self.version + 1

    def in_window(self, calendar: str, external_id: str, window: SyncWindow) -> list[BusyEvent]:
        occurrences = self.objects.get(calendar, {}).get(external_id, ())
        return [e for e in occurrences if window.overlaps(e.start, e.end)]

    def answer(self, request: SyncRequest) -> SyncResult:
        self.calls.append(dict(request.cursors))
        if self.failures:
            raise self.failures.pop(0)
        window = request.window
        mark = f"@{window.start}:{window.end}"
        new_cursor = f"{self.version}{mark}"
        answers: list[CalendarSnapshot | CalendarDelta] = []
        for calendar in sorted(self.objects):
            cursor = request.cursors.get(calendar)
            if cursor is not None and int(cursor.partition("@")[0]) < self.valid_from:
                raise CursorExpired("sync token expired", calendar)
            if cursor is None or not cursor.endswith(mark):
                events = [
                    e
                    for external_id in sorted(self.objects[calendar])
                    for e in self.in_window(calendar, external_id, window)
                ]
                answers.append(CalendarSnapshot(calendar, tuple(events), new_cursor))
                continue
            since = int(cursor.partition("@")[0])
            touched = sorted({i for v, i in self.log.get(calendar, []) if v > since})
            upserted = [e for i in touched for e in self.in_window(calendar, i, window)]
            deleted = [i for i in touched if not self.in_window(calendar, i, window)]
            answers.append(CalendarDelta(calendar, tuple(upserted), tuple(deleted), new_cursor))
        removed = tuple(sorted(self.removed))
        return SyncResult(tuple(answers), removed_calendars=removed)


class FakeConnector(Connector):
    provider = "fake"

    def __init__(self, upstream: FakeUpstream) -> None:
        self.upstream = upstream

    def validate_settings(
        self, settings: Mapping[str, Any], credentials: Mapping[str, Any]
    ) -> None:
        pass

    async def sync(self, request: SyncRequest) -> SyncResult:
        return self.upstream.answer(request)


def make_connection(database: Database) -> str:
    """An organization, a resource and a ``fake`` connection of it; the connection's id."""
    with database.write() as connection:
        org = create_org(connection, "Sync", f"sync-{new_id()[:8]}", NOW)
        resource_id = new_id()
        connection.execute(
            insert(resources).values(
                id=resource_id, org_id=org["id"], name="Room", timezone="Europe/Paris", version=0
            )
        )
        connection_id = new_id()
        connection.execute(
            insert(connections).values(
                id=connection_id,
                org_id=org["id"],
                resource_id=resource_id,
                provider="fake",
                settings={},
                created_at=NOW,
            )
        )
    return connection_id


def registry_for(upstream: FakeUpstream) -> ConnectorRegistry:
    registry = ConnectorRegistry(discover=False)
    registry.register(FakeConnector(upstream))
    return registry


def stored(database: Database, connection_id: str) -> dict[str, list[BusyEvent]]:
    with database.read() as connection:
        return sync_state.stored_events(connection, connection_id)


def raw_blocks(database: Database, connection_id: str) -> list[tuple[Any, ...]]:
    with database.read() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                select(busy_blocks)
                .where(busy_blocks.c.connection_id == connection_id)
                .order_by(busy_blocks.c.id)
            )
        ]


def state(database: Database, connection_id: str) -> Any:
    with database.read() as connection:
        return connection.execute(
            select(connections).where(connections.c.id == connection_id)
        ).one()


def resource_version(database: Database, connection_id: str) -> int:
    with database.read() as connection:
        return int(
            connection.execute(
                select(resources.c.version)
                .join(connections, connections.c.resource_id == resources.c.id)
                .where(connections.c.id == connection_id)
            ).scalar_one()
        )


def ev(external_id: str, start: int, end: int, kind: str = "busy") -> BusyEvent:
    return BusyEvent(external_id, start, end, kind)  # type: ignore[arg-type]


class Sync:
    """A runner bound to one connection, with a fixed jitter draw."""

    def __init__(self, database: Database, upstream: FakeUpstream, draw: float = 0.5) -> None:
        self.database = database
        self.upstream = upstream
        self.registry = registry_for(upstream)
        self.connection_id = make_connection(database)
        self.draw = draw

    def __call__(self, now: int = NOW, window: SyncWindow = WINDOW) -> Any:
        return asyncio.run(
            sync_once(
                self.database,
                self.registry,
                self.connection_id,
                now,
                window,
                random=lambda: self.draw,
            )
        )


def test_snapshot_delta_failure_expiry(database: Database) -> None:
    upstream = FakeUpstream()
    sync = Sync(database, upstream)
    cid = sync.connection_id
    upstream.put("work", "a", (T0 + HOUR, T0 + 2 * HOUR, "busy"))
    upstream.put("work", "b", (T0 + DAY, T0 + DAY + HOUR, "tentative"))
    # An occurrence outside the window is never stored.
    upstream.put(
        "home", "c", (T0 - DAY, T0 - DAY + HOUR, "busy"), (T0 + 2 * DAY, T0 + 3 * DAY, "oof")
    )

    assert sync().status == "ok"
    assert upstream.calls[-1] == {}
    assert stored(database, cid) == {
        "work": [
            ev("a", T0 + HOUR, T0 + 2 * HOUR),
            ev("b", T0 + DAY, T0 + DAY + HOUR, "tentative"),
        ],
        "home": [ev("c", T0 + 2 * DAY, T0 + 3 * DAY, "oof")],
    }
    row = state(database, cid)
    assert (row.status, row.last_success_at, row.last_error, row.failures) == ("ok", NOW, None, 0)
    cursors = json.loads(row.cursor)
    assert set(cursors) == {"home", "work"}
    with database.read() as connection:
        assert set(connection.execute(select(busy_blocks.c.source)).scalars()) == {
            f"{cid}:work",
            f"{cid}:home",
        }

    # Delta: a changed, one deleted, one added; the runner sends the stored cursors.
    upstream.put("work", "a", (T0 + 5 * HOUR, T0 + 6 * HOUR, "busy"))
    upstream.delete("work", "b")
    upstream.put("work", "d", (T0 + 3 * DAY, T0 + 3 * DAY + HOUR, "busy"))
    version = resource_version(database, cid)
    assert sync(NOW + HOUR).status == "ok"
    assert upstream.calls[-1] == cursors
    assert stored(database, cid) == {
        "work": [ev("a", T0 + 5 * HOUR, T0 + 6 * HOUR), ev("d", T0 + 3 * DAY, T0 + 3 * DAY + HOUR)],
        "home": [ev("c", T0 + 2 * DAY, T0 + 3 * DAY, "oof")],
    }
    assert resource_version(database, cid) > version

    # Failure: blocks identical to the byte, cursors kept, the error recorded.
    before = raw_blocks(database, cid)
    cursor_before = state(database, cid).cursor
    upstream.put("work", "e", (T0 + 4 * DAY, T0 + 4 * DAY + HOUR, "busy"))
    upstream.failures.append(TransientError("upstream answered 503"))
    outcome = sync(NOW + 2 * HOUR)
    assert outcome.status == "error"
    assert raw_blocks(database, cid) == before
    row = state(database, cid)
    assert (row.status, row.cursor, row.last_success_at) == ("error", cursor_before, NOW + HOUR)
    assert row.last_error == "upstream_unavailable: upstream answered 503"

    # Cursor expiry: one retry without cursors, its snapshot swapped in; the next sync is a
    # plain delta again.
    upstream.expire_cursors()
    upstream.delete("home", "c")
    assert sync(NOW + 3 * HOUR).status == "ok"
    assert upstream.calls[-2] == json.loads(cursor_before)
    assert upstream.calls[-1] == {}
    assert stored(database, cid) == {
        "work": [
            ev("a", T0 + 5 * HOUR, T0 + 6 * HOUR),
            ev("d", T0 + 3 * DAY, T0 + 3 * DAY + HOUR),
            ev("e", T0 + 4 * DAY, T0 + 4 * DAY + HOUR),
        ],
    }
    row = state(database, cid)
    assert (row.status, row.last_error, row.failures, row.next_attempt_at) == ("ok", None, 0, None)
    upstream.remove_calendar("work")
    assert sync(NOW + 4 * HOUR).status == "ok"
    assert stored(database, cid) == {}
    # The emptied "home" calendar still exists upstream and keeps its cursor; "work" lost its.
    assert set(json.loads(state(database, cid).cursor)) == {"home"}


def test_snapshot_replaces_only_inside_the_window(database: Database) -> None:
    upstream = FakeUpstream()
    sync = Sync(database, upstream)
    upstream.put("work", "early", (T0 + HOUR, T0 + 2 * HOUR, "busy"))
    upstream.put("work", "late", (T0 + 20 * DAY, T0 + 20 * DAY + HOUR, "busy"))
    assert sync().status == "ok"
    upstream.delete("work", "early")
    upstream.delete("work", "late")
    # A later window: the cursor was made for another window, so a snapshot comes back; it
    # replaces the late block (inside the new window) and keeps the early one (outside).
    later = SyncWindow(T0 + 10 * DAY, T0 + 40 * DAY)
    assert sync(window=later).status == "ok"
    assert stored(database, sync.connection_id) == {"work": [ev("early", T0 + HOUR, T0 + 2 * HOUR)]}


def test_failure_keeps_blocks_identical_for_every_kind_of_error(database: Database) -> None:
    upstream = FakeUpstream()
    sync = Sync(database, upstream)
    upstream.put("work", "a", (T0 + HOUR, T0 + 2 * HOUR, "busy"))
    assert sync().status == "ok"
    before = raw_blocks(database, sync.connection_id)
    upstream.delete("work", "a")
    errors: list[Exception] = [
        RateLimited("slow down", retry_after=10),
        ValueError("https://user:hunter2@calendar.example/secret"),
        CursorExpired("gone"),  # and the retry fails too
    ]
    upstream.failures.extend([errors[0], errors[1], errors[2], CursorExpired("again")])
    for _ in range(3):
        assert sync().status == "error"
        assert raw_blocks(database, sync.connection_id) == before
    row = state(database, sync.connection_id)
    assert row.failures == 3
    assert row.last_error == "cursor_expired: again"
    # An unexpected exception's text is not stored: it could hold a secret.
    upstream.failures.append(ValueError("https://user:hunter2@calendar.example/secret"))
    outcome = sync()
    assert outcome.error == "internal error (ValueError)"
    assert "hunter2" not in state(database, sync.connection_id).last_error


def test_revoked_credentials_need_reauth_and_stop_syncing(database: Database) -> None:
    upstream = FakeUpstream()
    sync = Sync(database, upstream)
    upstream.put("work", "a", (T0 + HOUR, T0 + 2 * HOUR, "busy"))
    assert sync().status == "ok"
    before = raw_blocks(database, sync.connection_id)
    upstream.failures.append(AuthRevoked("invalid_grant"))
    outcome = sync(NOW + HOUR)
    assert (outcome.status, outcome.next_attempt_at) == ("needs_reauth", None)
    row = state(database, sync.connection_id)
    assert (row.status, row.next_attempt_at, row.last_error) == (
        "needs_reauth",
        None,
        "auth_revoked: invalid_grant",
    )
    calls = len(upstream.calls)
    assert sync(NOW + 2 * HOUR).status == "skipped"
    assert len(upstream.calls) == calls
    assert raw_blocks(database, sync.connection_id) == before


def test_backoff_schedule_with_retry_after(database: Database) -> None:
    upstream = FakeUpstream()
    sync = Sync(database, upstream, draw=0.5)
    upstream.put("work", "a", (T0 + HOUR, T0 + 2 * HOUR, "busy"))
    upstream.failures.extend(
        [
            TransientError("503"),  # ceiling 30: 15
            TransientError("503"),  # ceiling 60: 30
            RateLimited("429", retry_after=300),  # ceiling 120: 60 < Retry-After 300
            RateLimited("429", retry_after=5),  # ceiling 240: 120 > Retry-After 5
            TransientError("503"),  # ceiling 480: 240
        ]
    )
    waits = []
    for step in range(5):
        now = NOW + step * 1000
        outcome = sync(now)
        assert outcome.status == "error"
        assert state(database, sync.connection_id).next_attempt_at == outcome.next_attempt_at
        waits.append(outcome.next_attempt_at - now)
    assert waits == [15, 30, 300, 120, 240]
    assert sync(NOW + 10_000).status == "ok"
    row = state(database, sync.connection_id)
    assert (row.failures, row.next_attempt_at, row.status) == (0, None, "ok")


@pytest.mark.parametrize(
    ("failures", "draw", "retry_after", "expected"),
    [
        (1, 0.0, None, 0),
        (1, 0.999, None, 30),
        (3, 0.25, None, 30),
        (20, 0.5, None, 1800),  # capped at an hour
        (500, 0.999, None, 3597),  # no overflow
        (2, 0.1, 12.5, 13),
    ],
)
def test_backoff_delay(
    failures: int, draw: float, retry_after: float | None, expected: int
) -> None:
    assert Backoff().delay(failures, draw, retry_after) == expected
