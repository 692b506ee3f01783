"""A Hypothesis state machine over the sync runner (SQLite): upstream changes, snapshots,
deltas, failures and cursor expiries interleaved at random, two windows so that snapshots also
meet blocks outside their window.

The model is the contract's own ``apply``: after every step the connection's stored blocks
equal the model's, which only moves when a sync succeeded, by the result that sync returned.
So a failed sync never changes a block, and a successful one does exactly what the contract
says. After a successful sync the stored blocks inside its window also equal the upstream's.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import Counter

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from openslots.errors import CursorExpired, RateLimited, TransientError
from openslots.store.database import Database
from openslots.store.migrate import upgrade
from openslots.sync.contract import BusyEvent, SyncRequest, SyncResult, SyncWindow
from openslots.sync.registry import ConnectorRegistry
from openslots.sync.runner import sync_once
from tests.sync.test_runner import (
    DAY,
    HOUR,
    NOW,
    T0,
    WINDOW,
    FakeConnector,
    FakeUpstream,
    make_connection,
    stored,
)

WINDOWS = (WINDOW, SyncWindow(T0 + 20 * DAY, T0 + 50 * DAY))
CALENDARS = st.sampled_from(["work", "home"])
IDS = st.sampled_from(["a", "b", "c", "d"])
# Occurrences from before the first window to after the second, some straddling an edge.
SPANS = st.lists(
    st.tuples(
        st.integers(-5, 55).map(lambda d: T0 + d * DAY),
        st.sampled_from([HOUR, 2 * DAY]),
        st.sampled_from(["busy", "tentative", "oof"]),
    ).map(lambda t: (t[0], t[0] + t[1], t[2])),
    min_size=1,
    max_size=3,
    unique_by=lambda t: t[0],
)
FAILURES = st.sampled_from(
    [
        [],
        [TransientError("503")],
        [RateLimited("429", retry_after=30)],
        [CursorExpired("expired")],  # the retry without cursors succeeds
        [CursorExpired("expired"), TransientError("503")],  # the retry fails too
        [ValueError("bug")],
    ]
)


class RecordingConnector(FakeConnector):
    """Remembers the last result it returned: the model applies it when the sync succeeded."""

    last: SyncResult | None = None

    async def sync(self, request: SyncRequest) -> SyncResult:
        self.last = None
        result = self.upstream.answer(request)
        self.last = result
        return result


def _counted(events: dict[str, list[BusyEvent]]) -> dict[str, Counter[BusyEvent]]:
    return {calendar: Counter(found) for calendar, found in events.items() if found}


class RunnerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="openslots-runner-")
        self.database = Database(f"sqlite:///{self.directory}/runner.db")
        upgrade(self.database)
        self.upstream = FakeUpstream()
        self.connector = RecordingConnector(self.upstream)
        self.registry = ConnectorRegistry(discover=False)
        self.registry.register(self.connector)
        self.connection_id = make_connection(self.database)
        self.model: dict[str, list[BusyEvent]] = {}
        self.now = NOW

    def teardown(self) -> None:
        self.database.dispose()
        shutil.rmtree(self.directory, ignore_errors=True)

    @rule(calendar=CALENDARS, external_id=IDS, spans=SPANS)
    def put(self, calendar: str, external_id: str, spans: list[tuple[int, int, str]]) -> None:
        self.upstream.put(calendar, external_id, *spans)

    @rule(calendar=CALENDARS, external_id=IDS)
    def delete(self, calendar: str, external_id: str) -> None:
        self.upstream.delete(calendar, external_id)

    @rule(calendar=CALENDARS)
    def remove_calendar(self, calendar: str) -> None:
        self.upstream.remove_calendar(calendar)

    @rule()
    def expire_cursors(self) -> None:
        self.upstream.expire_cursors()

    @precondition(lambda self: self.upstream.objects or self.upstream.removed)
    @rule(window=st.sampled_from(WINDOWS), failures=FAILURES)
    def sync(self, window: SyncWindow, failures: list[Exception]) -> None:
        self.upstream.failures.extend(failures)
        self.now += HOUR
        outcome = asyncio.run(
            sync_once(
                self.database,
                self.registry,
                self.connection_id,
                self.now,
                window,
                random=lambda: 0.5,
            )
        )
        self.upstream.failures.clear()
        if outcome.status != "ok":
            assert outcome.status == "error"
            return
        result = self.connector.last
        assert result is not None
        for item in result.calendars:
            self.model[item.calendar] = list(item.apply(self.model.get(item.calendar, []), window))
        for calendar in result.removed_calendars:
            self.model.pop(calendar, None)
        # The contract's promise: inside the window, stored equals a fresh upstream snapshot.
        fresh = {
            calendar: [
                e
                for external_id in objects
                for e in self.upstream.in_window(calendar, external_id, window)
            ]
            for calendar, objects in self.upstream.objects.items()
        }
        inside = {
            calendar: [e for e in events if window.overlaps(e.start, e.end)]
            for calendar, events in stored(self.database, self.connection_id).items()
        }
        assert _counted(inside) == _counted(fresh)

    @invariant()
    def stored_blocks_equal_the_last_successful_report(self) -> None:
        assert _counted(stored(self.database, self.connection_id)) == _counted(self.model)


RunnerMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
TestRunnerStates = RunnerMachine.TestCase
