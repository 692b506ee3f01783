"""From one Google event resource (``events.list`` item, ``singleEvents=true``) to busy time.

The busy rules of DESIGN §5 as Google spells them (SYNC-NOTES §1.7): an event is *not* busy
when it is ``cancelled``, ``transparent``, declined by the owner (the ``self`` attendee, or an
attendee with one of the owner's addresses), a ``workingLocation`` or ``birthday`` entry, or
zero-length. ``outOfOffice`` is kind ``oof``; a ``tentative`` event or a tentative answer of
the owner is kind ``tentative``; ``focusTime`` and everything else is ``busy``.

Times: ``dateTime`` carries its offset (RFC 3339); an all-day ``date`` starts and ends
(exclusive) at midnight in the calendar's time zone, so a day in New York is 23 or 25 hours
long across DST changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from openslots.sync.contract import BlockKind, BusyEvent

__all__ = ["UnreadableEvent", "busy_event", "is_cancelled", "zone_named"]

_FREE_TYPES = frozenset({"workingLocation", "birthday"})


class UnreadableEvent(ValueError):
    """The item is not an event this connector can read (no times, wrong shapes); the
    message says what is wrong, for a :class:`~openslots.sync.contract.SyncProblem`."""


def is_cancelled(item: Mapping[str, Any]) -> bool:
    """A tombstone: Google may send only the ``id`` of a cancelled event, never read its
    times."""
    return item.get("status") == "cancelled"


def busy_event(
    item: Mapping[str, Any], zone: ZoneInfo, owner_emails: frozenset[str]
) -> BusyEvent | None:
    """The busy occurrence of ``item`` (whole, not clipped), or ``None`` when it is not busy.

    Raises :class:`UnreadableEvent` for an item without a usable id, start or end.
    """
    event_id = item.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise UnreadableEvent("event without an id")
    if is_cancelled(item) or item.get("transparency") == "transparent":
        return None
    if item.get("eventType") in _FREE_TYPES:
        return None
    answer = _owner_answer(item.get("attendees"), owner_emails)
    if answer == "declined":
        return None
    start = _instant(item.get("start"), zone, "start")
    end = _instant(item.get("end"), zone, "end")
    if end <= start:
        return None
    return BusyEvent(event_id, start, end, _kind(item, answer))


def _kind(item: Mapping[str, Any], answer: str | None) -> BlockKind:
    if item.get("eventType") == "outOfOffice":
        return "oof"
    if item.get("status") == "tentative" or answer == "tentative":
        return "tentative"
    return "busy"


def _owner_answer(attendees: object, owner_emails: frozenset[str]) -> str | None:
    if not isinstance(attendees, list):
        return None
    for attendee in attendees:
        if not isinstance(attendee, dict):
            continue
        email = attendee.get("email")
        mine = attendee.get("self") is True or (
            isinstance(email, str) and email.lower() in owner_emails
        )
        if mine:
            status = attendee.get("responseStatus")
            return status if isinstance(status, str) else None
    return None


def _instant(part: object, zone: ZoneInfo, name: str) -> int:
    if not isinstance(part, dict):
        raise UnreadableEvent(f"event {name} is missing or not an object")
    stamp, day = part.get("dateTime"), part.get("date")
    try:
        if isinstance(stamp, str):
            moment = datetime.fromisoformat(stamp)
            if moment.tzinfo is None:
                # RFC 3339 requires an offset; a floating time is read in the zone the event
                # names, else the calendar's.
                named = part.get("timeZone")
                local = zone_named(named) if isinstance(named, str) else None
                moment = moment.replace(tzinfo=local or zone)
            return int(moment.timestamp())
        if isinstance(day, str):
            midnight = datetime.combine(date.fromisoformat(day), time(0), tzinfo=zone)
            return int(midnight.timestamp())
    except ValueError as exc:
        raise UnreadableEvent(f"event {name} is not a valid date or time: {exc}") from exc
    raise UnreadableEvent(f"event {name} has neither date nor dateTime")


def zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone ``name``, or ``None`` if it is unknown or malformed."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
