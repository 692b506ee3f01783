"""Graph event JSON to busy time (DESIGN §5 "What counts as busy", SYNC-NOTES §2.3).

Not busy: ``showAs`` ``free`` or ``workingElsewhere``, ``isCancelled``, the mailbox owner's
``responseStatus`` ``declined``, zero-length events, and series masters (calendarView already
returns every occurrence; a master would count its first one twice). ``tentative`` becomes kind
``tentative``, ``oof`` kind ``oof``; ``busy``, ``unknown`` and anything unexpected stay busy.

Times are asked for in UTC (``Prefer: outlook.timezone="UTC"``). All-day events are dates, not
instants: their days are anchored at midnight in the mailbox's zone. Graph renders them either
as the dates' midnights or as those midnights converted to UTC; both are read back to the
nearest local midnight, so either rendering gives the same days.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from openslots.sync.contract import BlockKind, BusyEvent, SyncWindow

__all__ = ["Mapped", "external_id", "map_item", "zone_named"]

_KINDS: dict[str, BlockKind | None] = {
    "free": None,
    "workingelsewhere": None,
    "tentative": "tentative",
    "oof": "oof",
    "busy": "busy",
    "unknown": "busy",
}
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?Z?\Z")
# The store keeps external ids in 500 characters; Graph ids are about 150.
_MAX_ID_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Mapped:
    """One delta item read: ``event`` when it is busy inside the window; otherwise ``problem``
    says why it was skipped, or neither is set (removed, not busy, outside the window)."""

    external_id: str
    event: BusyEvent | None = None
    problem: str | None = None


def external_id(graph_id: str) -> str:
    """The block's external id for a Graph event id (hashed when implausibly long)."""
    if len(graph_id) <= _MAX_ID_LENGTH:
        return graph_id
    return "sha256:" + hashlib.sha256(graph_id.encode()).hexdigest()


def zone_named(name: object) -> tzinfo | None:
    """The zone a Graph ``timeZone`` names: an IANA key, a Windows name (``GMT Standard
    Time``) or ``UTC``; ``None`` for custom or unknown zones (``tzone://Microsoft/Custom``)."""
    if not isinstance(name, str) or not name.strip():
        return None
    name = name.strip()
    if name.upper() in {"UTC", "ETC/UTC", "Z"}:
        return UTC
    key = WINDOWS_TO_OLSON.get(name, name)
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def map_item(item: Any, window: SyncWindow, all_day_zone: tzinfo) -> Mapped | None:
    """Read one item of a calendarView (delta) page; ``None`` when it has no usable id."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
        return None
    ident = external_id(item["id"])
    if "@removed" in item or item.get("type") == "seriesMaster":
        return Mapped(ident)
    if item.get("isCancelled") is True:
        return Mapped(ident)
    status = item.get("responseStatus")
    if isinstance(status, dict) and status.get("response") == "declined":
        return Mapped(ident)
    show_as = item.get("showAs")
    kind = _KINDS.get(show_as.lower(), "busy") if isinstance(show_as, str) else "busy"
    if kind is None:
        return Mapped(ident)
    try:
        if item.get("isAllDay") is True:
            start, end = _day(item.get("start"), all_day_zone), _day(item.get("end"), all_day_zone)
        else:
            start, end = _instant(item.get("start")), _instant(item.get("end"))
    except ValueError as exc:
        return Mapped(ident, problem=f"event skipped: {exc}")
    if end < start:
        return Mapped(ident, problem="event skipped: it ends before it starts")
    if end == start or not window.overlaps(start, end):
        return Mapped(ident)
    return Mapped(ident, event=BusyEvent(ident, start, end, kind))


def _parse(value: object) -> datetime:
    """A dateTimeTimeZone as an aware datetime on its zone's wall clock."""
    if not isinstance(value, dict):
        raise ValueError("it has no start or end time")
    text, zone_name = value.get("dateTime"), value.get("timeZone", "UTC")
    match = _DATETIME.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"unreadable time {text!r}")
    zone = zone_named(zone_name)
    if zone is None:
        raise ValueError(f"unknown time zone {zone_name!r}")
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError as exc:
        raise ValueError(f"unreadable time {text!r}") from exc


def _instant(value: object) -> int:
    return int(_parse(value).timestamp())


def _day(value: object, all_day_zone: tzinfo) -> int:
    given = _parse(value)
    if given.time() == time(0):
        day: date = given.date()
    else:
        # A midnight in the mailbox's zone rendered in UTC: back to that zone, to the nearest
        # local midnight (a rendering in another zone is off by hours, never by half a day).
        local = given.astimezone(all_day_zone)
        day = (local.replace(tzinfo=None) + timedelta(hours=12)).date()
    return int(datetime.combine(day, time(0), tzinfo=all_day_zone).timestamp())
