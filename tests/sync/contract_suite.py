"""The connector contract suite: the behaviour every connector shows against its local server.

A connector's tests subclass :class:`ConnectorContract` and provide two fixtures, ``connector``
(the instance under test) and ``upstream`` (an :class:`Upstream` harness over its local server:
the example's in-memory service, Radicale, a loopback ICS server). The suite then checks the
promise of :mod:`openslots.sync.contract`: after each result is applied (with
``CalendarSnapshot.apply`` / ``CalendarDelta.apply``, the runner's semantics), the calendar's
events overlapping the window equal what upstream holds there. Events are compared as
``(start, end, kind)``; external ids are the connector's business.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Protocol

import pytest

from openslots.sync.contract import (
    BusyEvent,
    CalendarDelta,
    CalendarSnapshot,
    Connector,
    CursorExpired,
    SyncRequest,
    SyncResult,
    SyncWindow,
)

__all__ = ["DAY", "HOUR", "ConnectorContract", "Upstream"]

HOUR = 3600
DAY = 24 * HOUR
# 2026-12-01T00:00Z, a UTC midnight as the runner aligns windows.
T0 = 1_796_083_200
WINDOW = SyncWindow(T0, T0 + 10 * DAY)

Span = tuple[int, int, str]


class Upstream(Protocol):
    """A connector's local server, driven by the suite through one calendar, ``calendar``."""

    calendar: str

    def request(self, window: SyncWindow, cursors: dict[str, str]) -> SyncRequest:
        """A sync request for a connection to this server (settings, credentials, client)."""
        ...

    def put_event(self, ref: str, start: int, end: int) -> None:
        """Create, or replace, the busy one-off event ``ref`` at ``[start, end)`` UTC."""
        ...

    def delete_event(self, ref: str) -> None: ...

    def expire(self, cursor: str) -> str:
        """A cursor upstream now refuses as expired, standing for ``cursor`` (for example by
        compacting the server's history, or by a forged old sync token)."""
        ...


class _Mirror:
    """The events a runner would hold for the calendar after applying each result."""

    def __init__(self, calendar: str) -> None:
        self.calendar = calendar
        self.events: tuple[BusyEvent, ...] = ()
        self.cursor: str | None = None

    def apply(self, result: SyncResult, window: SyncWindow) -> CalendarSnapshot | CalendarDelta:
        [part] = [p for p in result.calendars if p.calendar == self.calendar]
        _check_bounded(part, window)
        self.events = part.apply(self.events, window)
        self.cursor = part.cursor
        return part

    def spans(self, window: SyncWindow) -> Counter[Span]:
        return Counter(
            (e.start, e.end, e.kind) for e in self.events if window.overlaps(e.start, e.end)
        )


def _check_bounded(part: CalendarSnapshot | CalendarDelta, window: SyncWindow) -> None:
    returned = part.events if isinstance(part, CalendarSnapshot) else part.upserted
    outside = [e for e in returned if not window.overlaps(e.start, e.end)]
    assert not outside, f"events outside the window {window} returned: {outside}"


class ConnectorContract:
    """Subclass with ``connector`` and ``upstream`` fixtures. A connector that can only send
    snapshots (a plain ICS feed) sets ``supports_delta = False``."""

    supports_delta = True

    # What the suite put upstream: ref -> (start, end).
    @pytest.fixture
    def model(self) -> dict[str, tuple[int, int]]:
        return {}

    def _sync(
        self, connector: Connector, upstream: Upstream, window: SyncWindow, mirror: _Mirror
    ) -> SyncResult:
        cursors = {mirror.calendar: mirror.cursor} if mirror.cursor is not None else {}
        return asyncio.run(connector.sync(upstream.request(window, cursors)))

    def _put(
        self, upstream: Upstream, model: dict[str, tuple[int, int]], ref: str, s: int, e: int
    ) -> None:
        upstream.put_event(ref, s, e)
        model[ref] = (s, e)

    def _expected(self, model: dict[str, tuple[int, int]], window: SyncWindow) -> Counter[Span]:
        return Counter((s, e, "busy") for s, e in model.values() if window.overlaps(s, e))

    def _round(
        self,
        connector: Connector,
        upstream: Upstream,
        model: dict[str, tuple[int, int]],
        mirror: _Mirror,
        window: SyncWindow = WINDOW,
    ) -> CalendarSnapshot | CalendarDelta:
        part = mirror.apply(self._sync(connector, upstream, window, mirror), window)
        assert mirror.spans(window) == self._expected(model, window)
        return part

    def test_snapshot_of_a_window(
        self, connector: Connector, upstream: Upstream, model: dict[str, tuple[int, int]]
    ) -> None:
        self._put(upstream, model, "inside", T0 + DAY, T0 + DAY + HOUR)
        self._put(upstream, model, "straddles-start", T0 - HOUR, T0 + HOUR)
        self._put(upstream, model, "straddles-end", WINDOW.end - HOUR, WINDOW.end + HOUR)
        mirror = _Mirror(upstream.calendar)
        part = self._round(connector, upstream, model, mirror)
        assert isinstance(part, CalendarSnapshot)
        assert len(part.events) == 3

    def test_events_outside_the_window_are_not_returned(
        self, connector: Connector, upstream: Upstream, model: dict[str, tuple[int, int]]
    ) -> None:
        # Half-open: ending at the window's start, or starting at its end, is outside.
        self._put(upstream, model, "ends-at-start", T0 - HOUR, T0)
        self._put(upstream, model, "starts-at-end", WINDOW.end, WINDOW.end + HOUR)
        self._put(upstream, model, "far-future", WINDOW.end + 30 * DAY, WINDOW.end + 31 * DAY)
        self._put(upstream, model, "inside", T0 + 2 * DAY, T0 + 2 * DAY + HOUR)
        mirror = _Mirror(upstream.calendar)
        part = self._round(connector, upstream, model, mirror)
        assert isinstance(part, CalendarSnapshot)
        assert [(e.start, e.end) for e in part.events] == [model["inside"]]
        # Changes outside the window stay out of deltas too; moving an event out removes it.
        self._put(upstream, model, "new-far", WINDOW.end + 40 * DAY, WINDOW.end + 41 * DAY)
        self._put(upstream, model, "inside", WINDOW.end + 2 * DAY, WINDOW.end + 3 * DAY)
        self._round(connector, upstream, model, mirror)
        assert mirror.spans(WINDOW) == Counter()

    def test_cursor_round_trip(
        self, connector: Connector, upstream: Upstream, model: dict[str, tuple[int, int]]
    ) -> None:
        self._put(upstream, model, "kept", T0 + DAY, T0 + DAY + HOUR)
        self._put(upstream, model, "moved", T0 + 2 * DAY, T0 + 2 * DAY + HOUR)
        self._put(upstream, model, "deleted", T0 + 3 * DAY, T0 + 3 * DAY + HOUR)
        mirror = _Mirror(upstream.calendar)
        self._round(connector, upstream, model, mirror)
        assert mirror.cursor is not None or not self.supports_delta
        self._put(upstream, model, "moved", T0 + 4 * DAY, T0 + 4 * DAY + 2 * HOUR)
        upstream.delete_event("deleted")
        del model["deleted"]
        self._put(upstream, model, "added", T0 + 5 * DAY, T0 + 5 * DAY + HOUR)
        part = self._round(connector, upstream, model, mirror)
        if self.supports_delta:
            assert isinstance(part, CalendarDelta)
            # Only what changed travels; "kept" is not sent again.
            assert len(part.upserted) == 2
        # And again from the new cursor: the chain keeps going.
        upstream.delete_event("kept")
        del model["kept"]
        self._round(connector, upstream, model, mirror)

    def test_unchanged_upstream_gives_an_empty_delta(
        self, connector: Connector, upstream: Upstream, model: dict[str, tuple[int, int]]
    ) -> None:
        self._put(upstream, model, "a", T0 + DAY, T0 + DAY + HOUR)
        mirror = _Mirror(upstream.calendar)
        self._round(connector, upstream, model, mirror)
        part = self._round(connector, upstream, model, mirror)
        if self.supports_delta:
            assert isinstance(part, CalendarDelta)
            assert part.upserted == ()
            assert part.deleted_ids == ()

    def test_expired_cursor_raises_or_sends_a_snapshot(
        self, connector: Connector, upstream: Upstream, model: dict[str, tuple[int, int]]
    ) -> None:
        self._put(upstream, model, "a", T0 + DAY, T0 + DAY + HOUR)
        mirror = _Mirror(upstream.calendar)
        self._round(connector, upstream, model, mirror)
        if mirror.cursor is None:
            pytest.skip("this connector keeps no cursor")
        self._put(upstream, model, "b", T0 + 2 * DAY, T0 + 2 * DAY + HOUR)
        mirror.cursor = upstream.expire(mirror.cursor)
        try:
            part = self._round(connector, upstream, model, mirror)
        except CursorExpired:
            # The runner's answer: sync again without the cursor.
            mirror.cursor = None
            part = self._round(connector, upstream, model, mirror)
        assert isinstance(part, CalendarSnapshot)

    def test_a_cursor_of_another_window_is_not_used_for_a_stale_delta(
        self, connector: Connector, upstream: Upstream, model: dict[str, tuple[int, int]]
    ) -> None:
        # Present all along but outside the first window: a delta from the old cursor would
        # never mention it, yet the next day's window contains it.
        self._put(upstream, model, "next-day", WINDOW.end + HOUR, WINDOW.end + 2 * HOUR)
        mirror = _Mirror(upstream.calendar)
        self._round(connector, upstream, model, mirror)
        later = SyncWindow(WINDOW.start + DAY, WINDOW.end + DAY)
        self._round(connector, upstream, model, mirror, later)
        assert mirror.spans(later) == Counter(
            {(WINDOW.end + HOUR, WINDOW.end + 2 * HOUR, "busy"): 1}
        )
