"""One calendar → a snapshot or a delta of its busy events (blocking: runs in a worker thread).

Snapshot: a ``calendar-query`` REPORT for VEVENTs in the window, widened by a day on each side
because the server matches all-day and floating times in its own idea of the calendar's zone;
every object it returns is normalized here (client-side expansion, exact window).

Delta, when the cursor fits the request (same window and basis, see :mod:`.cursor`):

* with a sync token: unchanged token, nothing to do; else ``sync-collection`` from the
  cursor's token, and each changed member is loaded and normalized; a deleted member, or one
  that no longer has an occurrence in the window, is deleted by href. A token the server no
  longer accepts (``DAV:valid-sync-token``: Radicale 403, Xandikos 412) or a truncated answer
  gives a snapshot instead (allowed by the contract);
* without sync-collection (scan): unchanged ctag, nothing to do; else the window's query
  again, sending the objects whose data changed and deleting those no longer returned.

A calendar is read by token when the server reports a ``DAV:sync-token`` for it, else by
scan. A server that reports one but then refuses the sync-collection REPORT itself (some
do) gets a scan snapshot, and is scanned while that cursor lasts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from caldav.collection import Calendar
from caldav.davclient import DAVClient
from caldav.lib import error

from openslots.sync.contract import CalendarDelta, CalendarSnapshot, SyncProblem
from openslots_caldav.cursor import Basis, Cursor, digest
from openslots_caldav.discovery import CalendarInfo, href_of
from openslots_caldav.events import ObjectEvents, object_events

__all__ = ["CalendarRead", "read_calendar"]

_DAY = 86_400
_VALID_SYNC_TOKEN = "{DAV:}valid-sync-token"
# Statuses that mean "this token is no longer good" when no precondition says so.
_EXPIRED_STATUSES = frozenset({403, 409, 412})
_SUPPORTED_REPORT = "{DAV:}supported-report"
_NOT_IMPLEMENTED = 501


class _NoSyncCollection(Exception):
    """The server refused the sync-collection REPORT as such (not the token)."""


@dataclass(frozen=True, slots=True)
class CalendarRead:
    """What reading one calendar gave: its part of the result and the problems met."""

    part: CalendarSnapshot | CalendarDelta
    problems: tuple[SyncProblem, ...]


def read_calendar(
    client: DAVClient, info: CalendarInfo, basis: Basis, cursor: Cursor | None
) -> CalendarRead:
    """Read ``info`` for ``basis`` from ``cursor`` (see the module docstring). Raises
    caldav's errors for requests that fail; the caller decides what they mean."""
    calendar = Calendar(client=client, url=info.url)
    usable = cursor if cursor is not None and cursor.fits(basis) else None
    if usable is not None and usable.token is None:
        return _scan_delta(calendar, info, basis, usable)
    if usable is not None and usable.token is not None and info.sync_token is not None:
        try:
            delta = _token_delta(calendar, info, basis, usable.token)
        except _NoSyncCollection:
            return _snapshot(calendar, info, basis, scan=True)
        if delta is not None:
            return delta
    return _snapshot(calendar, info, basis, scan=info.sync_token is None)


def _snapshot(calendar: Calendar, info: CalendarInfo, basis: Basis, *, scan: bool) -> CalendarRead:
    found = _in_window(calendar, info, basis)
    objects = [read for read, _ in found.values()]
    events = tuple(e for o in objects for e in o.events)
    problems = tuple(p for o in objects for p in o.problems)
    if scan or info.sync_token is None:
        digests = {href: data_digest for href, (_, data_digest) in found.items()}
        cursor = Cursor.of_scan(basis, info.ctag, digests)
    else:
        cursor = Cursor.of_token(basis, info.sync_token)
    return CalendarRead(CalendarSnapshot(info.id, events, cursor.encode()), problems)


def _token_delta(
    calendar: Calendar, info: CalendarInfo, basis: Basis, token: str
) -> CalendarRead | None:
    """The changes since ``token``, or ``None`` when the server no longer accepts it; raises
    :class:`_NoSyncCollection` when it does not do sync-collection after all."""
    if token == info.sync_token:
        return _delta(info, [], [], Cursor.of_token(basis, token))
    get_objects = cast(Callable[..., Any], calendar.get_objects_by_sync_token)
    try:
        changes = get_objects(sync_token=token, load_objects=True, disable_fallback=True)
    except error.DAVError as exc:
        if _SUPPORTED_REPORT in exc.preconditions or exc.status == _NOT_IMPLEMENTED:
            raise _NoSyncCollection from exc
        if _expired(exc):
            return None
        raise
    if changes.truncated or not changes.sync_token:
        return None
    removed = {href_of(url) for url in changes.deleted_urls}
    objects: list[ObjectEvents] = []
    deleted: list[str] = []
    for obj in changes:
        href = href_of(obj.url)
        data = None if href in removed else obj.data
        if data is None:  # removed, or gone before it could be loaded
            deleted.append(href)
        else:
            objects.append(_events(info, basis, href, data)[0])
    return _delta(info, objects, deleted, Cursor.of_token(basis, str(changes.sync_token)))


def _scan_delta(
    calendar: Calendar, info: CalendarInfo, basis: Basis, cursor: Cursor
) -> CalendarRead:
    if info.ctag is not None and info.ctag == cursor.ctag:
        return _delta(info, [], [], cursor)
    found = _in_window(calendar, info, basis)
    changed = [read for href, (read, d) in found.items() if cursor.objects.get(href) != d]
    gone = set(cursor.objects) - set(found)
    digests = {href: data_digest for href, (_, data_digest) in found.items()}
    return _delta(info, changed, gone, Cursor.of_scan(basis, info.ctag, digests))


def _delta(
    info: CalendarInfo, objects: list[ObjectEvents], deleted: Iterable[str], cursor: Cursor
) -> CalendarRead:
    """A delta: the events of ``objects``; deleted, every href of ``deleted`` and every object
    left without an occurrence in the window (changed out of it, or made free)."""
    events = tuple(e for o in objects for e in o.events)
    emptied = {o.href for o in objects if not o.events}
    problems = tuple(p for o in objects for p in o.problems)
    gone = tuple(sorted(set(deleted) | emptied))
    return CalendarRead(CalendarDelta(info.id, events, gone, cursor.encode()), problems)


def _in_window(
    calendar: Calendar, info: CalendarInfo, basis: Basis
) -> dict[str, tuple[ObjectEvents, str]]:
    """Every object the window's time-range query returns, normalized, with the digest of
    its data, by href."""
    search = cast(Callable[..., list[Any]], calendar.search)
    found = search(
        event=True,
        start=datetime.fromtimestamp(basis.window.start - _DAY, UTC),
        end=datetime.fromtimestamp(basis.window.end + _DAY, UTC),
        expand=False,
        # The exact filter is normalization's, in the calendar's zone.
        post_filter=False,
    )
    read: dict[str, tuple[ObjectEvents, str]] = {}
    for obj in found:
        href = href_of(obj.url)
        data = obj.data
        if data is not None:
            read[href] = _events(info, basis, href, data)
    return read


def _events(
    info: CalendarInfo, basis: Basis, href: str, data: str | bytes
) -> tuple[ObjectEvents, str]:
    raw = data.encode() if isinstance(data, str) else data
    return object_events(info.id, href, raw, basis), digest(raw)


def _expired(exc: error.DAVError) -> bool:
    return _VALID_SYNC_TOKEN in exc.preconditions or exc.status in _EXPIRED_STATUSES
