"""Which zone a calendar's zone-less times are read in, and how any iCalendar time becomes UTC.

icalendar resolves a ``TZID`` through the file's own VTIMEZONE, an IANA name or a Windows
name (``Romance Standard Time`` → Europe/Paris). What it cannot resolve (``Nowhere/Land``,
``Eastern Standard Time 1``) it leaves *naive*, exactly like a floating time. Here both are
read in the **calendar zone**: ``X-WR-TIMEZONE`` when it names a real zone, else the zone the
caller passes (the resource's), else UTC — the fallback chain of RELIABILITY-NOTES §6.3 after
the VTIMEZONE step icalendar already did. Never the server's local zone.

DST rule for local times (zoneinfo with ``fold=0``): a local time that does not exist (02:30 on
a spring-forward day) is read with the offset before the gap, so it lands after the gap (07:30Z
in New York = 03:30 EDT); an ambiguous one is the earlier of the two instants.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar

__all__ = ["calendar_zone", "epoch", "zone_named"]


def zone_named(name: object) -> ZoneInfo | None:
    """The IANA zone called ``name``, or ``None`` when there is no such zone.

    Any failure counts as "no such zone": tzdata raises ``IsADirectoryError`` for ``Europe``
    and ``ValueError`` for paths such as ``../../etc/passwd``.
    """
    if not isinstance(name, str) or not name.strip():
        return None
    try:
        return ZoneInfo(name.strip())
    except (OSError, ValueError, ZoneInfoNotFoundError):
        return None


def calendar_zone(calendar: Calendar, default_zone: str) -> tuple[ZoneInfo, list[str]]:
    """The zone for this calendar's all-day, floating and unresolved times, with warnings.

    ``X-WR-TIMEZONE`` if it names a zone, else ``default_zone``, else UTC.
    """
    warnings: list[str] = []
    declared = calendar.get("X-WR-TIMEZONE")
    if declared is not None:
        zone = zone_named(str(declared))
        if zone is not None:
            return zone, warnings
        warnings.append(f"X-WR-TIMEZONE {str(declared)!r} is not a known zone; ignored")
    zone = zone_named(default_zone)
    if zone is not None:
        return zone, warnings
    warnings.append(
        f"default zone {default_zone!r} is not a known zone; reading local times as UTC"
    )
    return ZoneInfo("UTC"), warnings


def epoch(value: date | datetime, zone: ZoneInfo) -> int:
    """``value`` as int seconds since the epoch; a date is its midnight in ``zone``, a naive
    datetime is read in ``zone``."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), tzinfo=zone)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return int(value.astimezone(UTC).timestamp())
