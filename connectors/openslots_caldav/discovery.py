"""Which calendars a connection syncs, and what the server says about each before it is read.

Calendars are the ones named in the settings, else the URL itself when it is a calendar
collection, else every calendar of the account's principal (found from the URL through
``DAV:current-user-principal`` and ``calendar-home-set``) that can hold events. A calendar is
named by its collection path (``/alice/work/``), which stays the same however it was found.

Each calendar is described by one PROPFIND (depth 0): its sync token, ctag and
``calendar-timezone``, read *before* its events, so a change made while they are read shows
up again in the next delta instead of being lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, cast
from urllib.parse import urljoin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from caldav.collection import Calendar
from caldav.davclient import DAVClient
from caldav.elements import cdav, dav
from caldav.elements.base import ValuedBaseElement
from caldav.lib import error
from caldav.lib.url import URL
from icalendar import Calendar as ICalendar

from openslots.sync.contract import SyncProblem
from openslots_caldav.settings import Connection

__all__ = ["CalendarInfo", "Discovered", "collection_path", "discover", "href_of"]

_CALDAV = "{urn:ietf:params:xml:ns:caldav}"
_CALENDAR = f"{_CALDAV}calendar"
_RESOURCETYPE = "{DAV:}resourcetype"
_COMPONENTS = f"{_CALDAV}supported-calendar-component-set"
_SYNC_TOKEN = "{DAV:}sync-token"
_CTAG = "{http://calendarserver.org/ns/}getctag"
_TIMEZONE = f"{_CALDAV}calendar-timezone"
_NOT_FOUND = 404


class _GetCTag(ValuedBaseElement):
    # CalendarServer's extension; caldav has no element class for it.
    tag: ClassVar[str | None] = _CTAG


def _state_props() -> list[Any]:
    return [
        dav.ResourceType(),
        cdav.SupportedCalendarComponentSet(),
        dav.SyncToken(),
        _GetCTag(),
        cdav.CalendarTimeZone(),
    ]


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """One calendar collection: ``id`` (its path), absolute ``url``, its sync token and ctag
    when the server has them, and ``zone``, the IANA zone of its ``calendar-timezone``."""

    id: str
    url: str
    sync_token: str | None
    ctag: str | None
    zone: str | None


@dataclass(frozen=True, slots=True)
class Discovered:
    """The calendars to read; ``missing`` names calendars the server does not have (404),
    ``unreadable`` those that exist but could not be described (they keep their events)."""

    calendars: tuple[CalendarInfo, ...]
    missing: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()
    problems: tuple[SyncProblem, ...] = ()


def collection_path(url: str | URL) -> str:
    """The canonical path of a collection, ending with a slash."""
    path = href_of(url)
    return path if path.endswith("/") else f"{path}/"


def href_of(url: str | URL) -> str:
    """The canonical (quoted) path of a resource, the same however the server spelled it."""
    return str(URL.objectify(url).canonical().path)


def discover(client: DAVClient, connection: Connection) -> Discovered:
    """The calendars of ``connection``. Raises caldav's errors when the server cannot be
    asked at all (the caller translates them); a configured calendar that cannot be described
    is a problem, one that does not exist is missing."""
    if connection.calendars:
        return _described(client, list(connection.calendars), configured=True)
    try:
        props = _describe(client, connection.url)
    except error.DAVError as exc:
        if _status(exc) == 401:
            raise
        props = {}  # not a calendar we can read here: ask the principal
    if _is_calendar(props):
        found = _info(connection.url, props)
        if _holds_events(props):
            return Discovered((found[0],), problems=found[1])
        problem = SyncProblem(found[0].id, "calendar holds no events (VEVENT); not synced")
        return Discovered((), problems=(problem,))
    principal = client.get_principal()
    urls = [str(calendar.url) for calendar in client.get_calendars(principal)]
    return _described(client, urls, configured=False)


def _described(client: DAVClient, urls: list[str], *, configured: bool) -> Discovered:
    calendars: list[CalendarInfo] = []
    missing: list[str] = []
    unreadable: list[str] = []
    problems: list[SyncProblem] = []
    for url in urls:
        name = collection_path(url)
        try:
            props = _describe(client, url)
        except error.DAVError as exc:
            status = _status(exc)
            if status == 401:
                raise
            if status == _NOT_FOUND:
                missing.append(name)
                problems.append(SyncProblem(name, "calendar not found on the server"))
            else:
                unreadable.append(name)
                reason = f"HTTP {status}" if status else type(exc).__name__
                problems.append(SyncProblem(name, f"calendar cannot be read ({reason})"))
            continue
        if not _is_calendar(props) or not _holds_events(props):
            # A discovered collection that holds no events is simply not synced.
            if configured:
                problems.append(SyncProblem(name, "not a calendar collection that holds events"))
            continue
        info, zone_problems = _info(url, props)
        calendars.append(info)
        problems.extend(zone_problems)
    return Discovered(tuple(calendars), tuple(missing), tuple(unreadable), tuple(problems))


def _describe(client: DAVClient, url: str) -> dict[str, Any]:
    get_properties = cast(
        Callable[[list[Any]], dict[str, Any]],
        Calendar(client=client, url=url).get_properties,
    )
    return get_properties(_state_props())


def _status(exc: error.DAVError) -> int | None:
    return exc.status


def _is_calendar(props: dict[str, Any]) -> bool:
    types = props.get(_RESOURCETYPE)
    return isinstance(types, list) and _CALENDAR in types


def _holds_events(props: dict[str, Any]) -> bool:
    # RFC 4791 §5.2.3: without the property, a calendar accepts every component type.
    components = props.get(_COMPONENTS)
    return not isinstance(components, list) or "VEVENT" in components


def _info(url: str, props: dict[str, Any]) -> tuple[CalendarInfo, tuple[SyncProblem, ...]]:
    absolute = urljoin(url, collection_path(url))
    zone, problems = _zone(collection_path(url), props.get(_TIMEZONE))
    info = CalendarInfo(
        id=collection_path(url),
        url=absolute,
        sync_token=_text(props.get(_SYNC_TOKEN)),
        ctag=_text(props.get(_CTAG)),
        zone=zone,
    )
    return info, problems


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _zone(calendar: str, value: object) -> tuple[str | None, tuple[SyncProblem, ...]]:
    """The IANA zone of a ``calendar-timezone`` (a VCALENDAR with one VTIMEZONE), if any."""
    text = _text(value)
    if text is None:
        return None, ()
    try:
        timezones = ICalendar.from_ical(text).walk("VTIMEZONE")
    except Exception:  # icalendar raises several types for bad input; any means "no zone"
        timezones = []
    for timezone in timezones:
        for name in (timezone.get("TZID"), timezone.get("X-LIC-LOCATION")):
            if name is not None and _is_zone(str(name)):
                return str(name).strip(), ()
    problem = SyncProblem(
        calendar, "calendar-timezone names no IANA zone; all-day events use the resource's zone"
    )
    return None, (problem,)


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name.strip())
    except (OSError, ValueError, ZoneInfoNotFoundError):
        return False
    return True
