"""The Google Calendar connector: ``events.list`` with sync tokens, or ``freeBusy.query``.

Per calendar (:mod:`openslots_google.settings` says which), one sync is:

* **full** (no cursor, or a cursor made for another window or zone, see
  :mod:`openslots_google.cursor`): ``events.list`` with ``singleEvents=true`` (Google expands
  series, so every instance is its own object with its own id), ``timeMin``/``timeMax`` = the
  window and ``showDeleted=false``, paged until the page that carries ``nextSyncToken``; the
  answer is a :class:`CalendarSnapshot`;
* **incremental**: ``events.list`` with the stored ``syncToken`` and ``singleEvents=true`` only
  (``timeMin``, ``timeMax``, ``orderBy``, ``q``, ``showDeleted=false`` are refused next to a
  token); cancelled items are deletions, other items are upserts when busy inside the window,
  else deletions (changes are not bounded by the window, and a changed event may have become
  free or moved out); the answer is a :class:`CalendarDelta`;
* a ``410 Gone`` on an incremental request is answered with a full sync of that calendar (a
  snapshot, applied by the runner in one transaction like any other).

All-day events are read in the calendar's zone (``timeZone`` of the events list, else of the
calendar-list entry, else the resource's zone). Items that cannot be read are skipped and
reported as :class:`SyncProblem`. ``freeBusy.query`` mode (:mod:`openslots_google.freebusy`)
answers snapshots of anonymous busy periods and keeps no cursor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from openslots.sync.contract import (
    BusyEvent,
    CalendarDelta,
    CalendarSnapshot,
    Connector,
    FeedInvalid,
    SyncProblem,
    SyncRequest,
    SyncResult,
)

from . import settings as body
from .cursor import TokenCursor
from .events import UnreadableEvent, busy_event, is_cancelled, zone_named
from .freebusy import read_freebusy
from .session import CalendarGone, Forbidden, Session, SyncTokenGone

__all__ = ["GoogleConnector"]

_PAGE_SIZE = 2500  # Google's maximum; fewer requests per sync
_MAX_PAGES = 400  # a server that keeps answering nextPageToken must not hold a worker forever


class GoogleConnector(Connector):
    """Google Calendar over google-api-python-client (see the module docstring)."""

    provider = "google"

    def validate_settings(
        self, settings: Mapping[str, Any], credentials: Mapping[str, Any]
    ) -> None:
        body.validate_settings(settings, credentials)

    async def sync(self, request: SyncRequest) -> SyncResult:
        # The client library blocks (httplib2): the whole sync runs on one worker thread.
        return await asyncio.to_thread(_sync, request)


@dataclass
class _Calendar:
    id: str
    zone: str | None = None


@dataclass
class _Outcome:
    """One sync's request and what it found so far."""

    request: SyncRequest
    owners: frozenset[str]
    parts: list[CalendarSnapshot | CalendarDelta] = field(default_factory=list)
    problems: list[SyncProblem] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _sync(request: SyncRequest) -> SyncResult:
    session = Session(request.credentials, request.provider_config)
    try:
        return _sync_with(session, request)
    finally:
        session.close()


def _sync_with(session: Session, request: SyncRequest) -> SyncResult:
    calendars = _chosen_calendars(session, request.settings)
    owners = body.owner_emails(request.settings, request.owner_emails)
    outcome = _Outcome(request, owners)
    chosen = {c.id for c in calendars}
    # Calendars synced before but no longer chosen (or no longer owned) lose their events.
    outcome.removed.extend(sorted(set(request.cursors) - chosen))
    if request.settings.get("use_freebusy", False):
        read_freebusy(session, [c.id for c in calendars], request.window, outcome)
    else:
        for calendar in calendars:
            try:
                _read_calendar(session, calendar, outcome)
            except CalendarGone:
                outcome.removed.append(calendar.id)
                outcome.problems.append(SyncProblem(calendar.id, "calendar not found"))
            except Forbidden as exc:
                outcome.problems.append(SyncProblem(calendar.id, str(exc)))
    return SyncResult(
        calendars=tuple(outcome.parts),
        problems=tuple(outcome.problems),
        removed_calendars=tuple(dict.fromkeys(outcome.removed)),
        credentials=session.refreshed(),
    )


def _chosen_calendars(session: Session, settings: Mapping[str, Any]) -> list[_Calendar]:
    choice = body.calendar_choice(settings)
    if isinstance(choice, list):
        return [_Calendar(c) for c in choice]
    if choice == "primary":
        return [_Calendar("primary")]
    found: list[_Calendar] = []
    token: str | None = None
    for _ in range(_MAX_PAGES):
        page = session.call(
            "calendarList", "list", minAccessRole="owner", maxResults=250, pageToken=token
        )
        for entry in _items(page):
            if isinstance(entry.get("id"), str):
                zone = entry.get("timeZone")
                found.append(_Calendar(entry["id"], zone if isinstance(zone, str) else None))
        token = page.get("nextPageToken")
        if not token:
            return found
    raise FeedInvalid("Google's calendar list does not end")


def _read_calendar(session: Session, calendar: _Calendar, outcome: _Outcome) -> None:
    request = outcome.request
    window = (request.window.start, request.window.end)
    cursor = TokenCursor.load(request.cursors.get(calendar.id))
    if cursor is not None and cursor.window == window and cursor.zone == request.default_zone:
        try:
            items, zone, token = _list_events(session, calendar, {"syncToken": cursor.token})
        except SyncTokenGone:
            pass  # answered below with a full sync, which the runner applies atomically
        else:
            zone = zone or request.default_zone
            outcome.parts.append(_delta(items, calendar.id, zone, token, outcome))
            return
    full = {
        "timeMin": _rfc3339(request.window.start),
        "timeMax": _rfc3339(request.window.end),
        "showDeleted": False,
    }
    try:
        items, zone, token = _list_events(session, calendar, full)
    except SyncTokenGone as exc:
        raise FeedInvalid("Google answered 410 to a request without a sync token") from exc
    events: dict[str, BusyEvent] = {}
    for item in items:
        _, event = _read(item, calendar.id, zone or request.default_zone, outcome)
        if event is not None and request.window.overlaps(event.start, event.end):
            events[event.external_id] = event
    new_cursor = TokenCursor(window, request.default_zone, token).dump() if token else None
    outcome.parts.append(CalendarSnapshot(calendar.id, tuple(events.values()), new_cursor))


def _delta(
    items: list[dict[str, Any]], calendar: str, zone: str, token: str | None, outcome: _Outcome
) -> CalendarDelta:
    request = outcome.request
    upserted: dict[str, BusyEvent] = {}
    deleted: dict[str, None] = {}
    for item in items:
        event_id = item.get("id")
        if not isinstance(event_id, str) or not event_id:
            outcome.problems.append(SyncProblem(calendar, "changed event without an id"))
            continue
        # Later items of the same id supersede earlier ones (a page boundary between them).
        upserted.pop(event_id, None)
        deleted.pop(event_id, None)
        if is_cancelled(item):
            deleted[event_id] = None
            continue
        readable, event = _read(item, calendar, zone, outcome)
        if not readable:
            continue  # keep what is stored rather than drop a block nothing replaces
        if event is not None and request.window.overlaps(event.start, event.end):
            upserted[event_id] = event
        else:
            deleted[event_id] = None
    window = (request.window.start, request.window.end)
    cursor = TokenCursor(window, request.default_zone, token).dump() if token else None
    return CalendarDelta(calendar, tuple(upserted.values()), tuple(deleted), cursor)


def _read(
    item: dict[str, Any], calendar: str, zone: str, outcome: _Outcome
) -> tuple[bool, BusyEvent | None]:
    """Whether ``item`` could be read (else it is reported), and its busy event if busy."""
    try:
        tz = zone_named(zone) or zone_named(outcome.request.default_zone) or ZoneInfo("UTC")
        return True, busy_event(item, tz, outcome.owners)
    except UnreadableEvent as exc:
        event_id = item.get("id") if isinstance(item.get("id"), str) else None
        outcome.problems.append(SyncProblem(calendar, str(exc), event_id))
        return False, None


def _list_events(
    session: Session, calendar: _Calendar, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """All items of one ``events.list`` run, the calendar's zone, and ``nextSyncToken``."""
    items: list[dict[str, Any]] = []
    zone = calendar.zone
    page_token: str | None = None
    for _ in range(_MAX_PAGES):
        page = session.call(
            "events",
            "list",
            calendarId=calendar.id,
            singleEvents=True,
            maxResults=_PAGE_SIZE,
            pageToken=page_token,
            **params,
        )
        items.extend(_items(page))
        if isinstance(page.get("timeZone"), str) and page["timeZone"]:
            zone = page["timeZone"]
        page_token = page.get("nextPageToken")
        if not page_token:
            token = page.get("nextSyncToken")
            return items, zone, token if isinstance(token, str) and token else None
    raise FeedInvalid(f"Google's event list of {calendar.id!r} does not end")


def _items(page: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = page.get("items", [])
    if not isinstance(items, list):
        raise FeedInvalid("Google answered a list whose items are not a list")
    # A non-object item has no id to report it under; it cannot name a block either.
    return [item for item in items if isinstance(item, dict)]


def _rfc3339(instant: int) -> str:
    return datetime.fromtimestamp(instant, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
