"""Which zone each time of a calendar is read in, and how any iCalendar time becomes UTC.

**The calendar zone** reads all-day and floating times, and TZIDs nothing below can resolve:
``X-WR-TIMEZONE`` when it names a real zone, else the zone the caller passes (the resource's),
else UTC — never the server's local zone.

**A TZID** is resolved per calendar (:class:`ZoneResolver`), in this order:

1. an IANA name (``Europe/Berlin``), even when the file also has a VTIMEZONE for it (as
   icalendar does: tzdata knows the zone's history better than an exported rule);
2. a guess from the name: a Windows name (``Romance Standard Time``), also quoted, with a stray
   colon or Outlook's numbered copies (``Eastern Standard Time 1``); a globally unique id
   (``/mozilla.org/20070129_1/America/New_York``); an IANA name in the wrong case; the
   VTIMEZONE's ``X-LIC-LOCATION``; a display name (``(UTC+01:00) Amsterdam, Berlin, ...``);
3. with a VTIMEZONE of that TZID in the file, its own rules decide: the first guess is kept only
   if it has exactly the VTIMEZONE's offsets over the sync span, else any IANA zone that has
   them, else the VTIMEZONE itself (:class:`~openslots.sync.vtimezone.FileZone`). Either way the
   times are the file's, so no warning;
4. without a usable VTIMEZONE, the first guess, with a warning unless it was an exact Windows
   name; a display name whose cities match nothing gives its stated UTC offset (or the calendar
   zone, if that has it);
5. otherwise the calendar zone, with a warning: the series is kept, since the feed's author
   wrote a local time and the calendar's own zone is the likeliest one — dropping the series
   would show its owner free for sure, a guess shows them busy at the likely time.

A value written with ``Z`` and an unresolvable TZID stays in UTC (it names an instant already).

DST rule for local times (zoneinfo with ``fold=0``): a local time that does not exist (02:30 on
a spring-forward day) is read with the offset before the gap, so it lands after the gap (07:30Z
in New York = 03:30 EDT); an ambiguous one is the earlier of the two instants.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Component
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from openslots.sync.vtimezone import (
    FileZone,
    UnusableZone,
    matching_iana_zone,
    offsets_of,
)

__all__ = [
    "ResolvedZone",
    "ZoneResolver",
    "calendar_zone",
    "epoch",
    "zone_named",
]

# How many distinct VTIMEZONEs one calendar may have expanded: each costs a few milliseconds,
# and a hostile feed could name thousands.
MAX_VTIMEZONES = 50
_DISPLAY_NAME = re.compile(r"^\(UTC(?:([+-])(\d{1,2}):(\d{2}))?\)\s*(.*)$")
_NUMBERED_COPY = re.compile(r"^(.*?)\s+\d+$")


def zone_named(name: object) -> ZoneInfo | None:
    """The IANA zone called ``name``, or ``None`` when there is no such zone.

    Any failure counts as "no such zone": tzdata raises ``IsADirectoryError`` for ``Europe``
    and ``ValueError`` for paths such as ``../../etc/passwd``.
    """
    if not isinstance(name, str) or not name.strip():
        return None
    return _zone(name.strip())


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (OSError, ValueError, ZoneInfoNotFoundError):
        return None


def calendar_zone(calendar: Component, default_zone: str) -> tuple[ZoneInfo, list[str]]:
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


def epoch(value: date | datetime, zone: tzinfo) -> int:
    """``value`` as int seconds since the epoch; a date is its midnight in ``zone``, a naive
    datetime is read in ``zone``."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(), tzinfo=zone)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return int(value.timestamp())


@dataclass(frozen=True, slots=True)
class ResolvedZone:
    """Where a TZID led: ``zone`` is ``None`` when nothing resolved it (the caller reads the
    time in the calendar zone, or keeps a ``Z`` time in UTC); ``warning`` says what was
    guessed, for the problems of the series that use it."""

    zone: tzinfo | None
    warning: str | None


class ZoneResolver:
    """Resolves the TZIDs of one calendar (see the module docstring); memoized per TZID.

    ``span`` (UTC epoch seconds) is where times will be read: a VTIMEZONE is compared with IANA
    zones, and expanded, only around it.
    """

    def __init__(self, calendar: Component, fallback: ZoneInfo, span: tuple[int, int]) -> None:
        self._fallback = fallback
        self._span = span
        self._vtimezones: dict[str, Component] = {}
        self._expanded = 0
        # Sorted so that duplicate TZIDs pick the same VTIMEZONE whatever the file order.
        for component in sorted(calendar.walk("VTIMEZONE"), key=lambda c: c.to_ical()):
            tzid = str(component.get("TZID", ""))
            self._vtimezones.setdefault(tzid, component)
            self._vtimezones.setdefault(_clean(tzid).casefold(), component)
        self._memo: dict[str, ResolvedZone] = {}

    def resolve(self, tzid: str) -> ResolvedZone:
        """The zone ``tzid`` names in this calendar."""
        found = self._memo.get(tzid)
        if found is None:
            found = self._memo[tzid] = self._resolve(tzid)
        return found

    def _resolve(self, tzid: str) -> ResolvedZone:
        exact = zone_named(tzid)
        if exact is not None:
            return ResolvedZone(exact, None)
        vtimezone = self._vtimezones.get(tzid) or self._vtimezones.get(_clean(tzid).casefold())
        guesses = _guesses(tzid, vtimezone)
        if vtimezone is not None:
            if self._expanded >= MAX_VTIMEZONES:
                problem = f"more than {MAX_VTIMEZONES} VTIMEZONEs in use; {tzid!r} not read"
            else:
                self._expanded += 1
                try:
                    zone = _from_vtimezone(vtimezone, self._span, guesses.names())
                    return ResolvedZone(zone, None)
                except (UnusableZone, ValueError, KeyError, TypeError) as error:
                    problem = f"VTIMEZONE {tzid!r} not usable ({error})"
        else:
            problem = None
        guessed = guesses.first(self._fallback, self._span)
        if guessed is not None:
            zone, how, exact_windows = guessed
            notes = [n for n in (problem, None if exact_windows else how) if n]
            return ResolvedZone(zone, "; ".join(notes) or None)
        reason = f"{problem}; " if problem else ""
        return ResolvedZone(None, f"{reason}unknown TZID {tzid!r}, read in {self._fallback}")


def _clean(tzid: str) -> str:
    """A TZID without the quotes, spaces, slashes and stray colons exports leave around it."""
    return tzid.strip().strip('"').strip().rstrip(":").strip().strip("/")


@dataclass(frozen=True, slots=True)
class _Guesses:
    """IANA names a TZID may mean, best first, each with how it was found."""

    tzid: str
    found: tuple[tuple[str, str, bool], ...]  # (name, how, exact Windows name)
    display_offset: int | None  # the "(UTC+hh:mm)" of a display name, in seconds

    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in self.found)

    def first(self, fallback: ZoneInfo, span: tuple[int, int]) -> tuple[tzinfo, str, bool] | None:
        for name, how, exact_windows in self.found:
            zone = zone_named(name)
            if zone is not None:
                return zone, how, exact_windows
        if self.display_offset is None:
            return None
        offset = self.display_offset
        if any(_offset_at(fallback, t) == offset for t in (span[0], span[1])):
            how = f"display-name TZID {self.tzid!r} read in {fallback}, which has its offset"
            return fallback, how, False
        stated = timezone(timedelta(seconds=offset))
        return stated, f"display-name TZID {self.tzid!r} read as its stated offset {stated}", False


def _guesses(tzid: str, vtimezone: Component | None) -> _Guesses:
    found: list[tuple[str, str, bool]] = []
    seen: set[str] = set()

    def add(name: str | None, how: str, exact_windows: bool = False) -> None:
        if name and name not in seen:
            seen.add(name)
            found.append((name, how.format(name=name, tzid=tzid), exact_windows))

    cleaned = _clean(tzid)
    windows = _windows_names()
    add(
        windows.get(cleaned.casefold()),
        "Windows TZID {tzid!r} read as {name}",
        cleaned in WINDOWS_TO_OLSON,
    )
    copy = _NUMBERED_COPY.match(cleaned)
    if copy:
        add(windows.get(copy.group(1).casefold()), "TZID {tzid!r} read as {name}")
    parts = cleaned.split("/")
    for start in range(1, len(parts)):
        suffix = "/".join(parts[start:])
        add(suffix if zone_named(suffix) else None, "TZID {tzid!r} guessed as {name}")
    add(_iana_names().get(cleaned.casefold()), "TZID {tzid!r} read as {name}")
    if vtimezone is not None:
        add(
            _iana_names().get(str(vtimezone.get("X-LIC-LOCATION", "")).strip().casefold()),
            "TZID {tzid!r} read as its X-LIC-LOCATION {name}",
        )
    display = _DISPLAY_NAME.match(cleaned)
    offset = None
    if display:
        sign, hours, minutes, places = display.groups()
        offset = (
            0
            if sign is None
            else (1 if sign == "+" else -1) * (int(hours) * 3600 + int(minutes) * 60)
        )
        for place in places.split(","):
            for name in _cities().get(_plain(place), ()):
                zone = zone_named(name)
                if zone is not None and offset in {_offset_at(zone, t) for t in _YEAR_PROBES}:
                    add(name, "display-name TZID {tzid!r} read as {name}")
    return _Guesses(tzid, tuple(found), offset)


# A January and a July instant: a zone's standard offset is one of the two.
_YEAR_PROBES = (1767225600, 1782864000)  # 2026-01-01, 2026-07-01 (UTC)


def _offset_at(zone: tzinfo, instant: int) -> int:
    delta = datetime.fromtimestamp(instant, zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


@functools.cache
def _windows_names() -> dict[str, str]:
    return {name.casefold(): iana for name, iana in WINDOWS_TO_OLSON.items()}


@functools.cache
def _iana_names() -> dict[str, str]:
    return {name.casefold(): name for name in sorted(zoneinfo.available_timezones())}


@functools.cache
def _cities() -> dict[str, tuple[str, ...]]:
    """IANA zones by their plain city name (``sao paulo`` → America/Sao_Paulo)."""
    cities: dict[str, list[str]] = {}
    for name in sorted(zoneinfo.available_timezones()):
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/")):
            cities.setdefault(_plain(name.rsplit("/", 1)[1]), []).append(name)
    return {city: tuple(names) for city, names in cities.items()}


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("_", " "))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip().casefold()


# Zones made from VTIMEZONEs, by the VTIMEZONE's bytes, the span and the guesses: CalDAV
# normalizes object by object, each carrying the same VTIMEZONE. Keyed by content, so one
# feed's definition is never another's (unlike icalendar's cache by TZID).
_MADE: dict[tuple[bytes, tuple[int, int], tuple[str, ...]], tzinfo] = {}
_MADE_MAX = 256


def _from_vtimezone(
    vtimezone: Component, span: tuple[int, int], preferred: tuple[str, ...]
) -> tzinfo:
    """The zone ``vtimezone`` defines around ``span``: an IANA zone with the same offsets
    (``preferred`` ones first), else the VTIMEZONE itself."""
    key = (vtimezone.to_ical(), span, preferred)
    made = _MADE.get(key)
    if made is None:
        offsets = offsets_of(vtimezone, span)
        made = matching_iana_zone(offsets, preferred) or FileZone(
            str(vtimezone.get("TZID", "")), offsets
        )
        if len(_MADE) >= _MADE_MAX:
            _MADE.clear()
        _MADE[key] = made
    return made
