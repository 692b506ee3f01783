"""A feed's own VTIMEZONE as UTC offsets over a span of time, as a tzinfo, and the IANA zone
that keeps the same offsets over that span.

Only the span matters: normalization reads times inside the sync window (plus a margin), so a
VTIMEZONE is expanded there and nowhere else. Outlook's ``DTSTART:16010101T000000`` with a
yearly rule is the usual shape; RDATE lists (historic zones) and single-onset zones work too.

The VTIMEZONE is untrusted input, so its cost is bounded before anything is expanded: only
``FREQ=YEARLY`` rules are accepted (every real zone uses them; ``FREQ=SECONDLY`` in a STANDARD
block would be a CPU bomb for any rule walker) and at most :data:`MAX_ONSETS` onsets in all.

Local times follow zoneinfo's DST rule (see :mod:`openslots.sync.timezones`): a time in a gap
is read with the offset before the gap, an ambiguous one is the earlier instant (``fold=0``).
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from icalendar import Component
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from openslots.sync.rule_cost import never_recurs

__all__ = [
    "MAX_ONSETS",
    "FileZone",
    "Offsets",
    "UnusableZone",
    "matching_iana_zone",
    "offsets_of",
]

MAX_ONSETS = 5_000
# How far beyond the span onsets are expanded, so that the offset at the span's start is known
# and long events reaching over its ends are read right.
_REACH = 400 * 86400
# Seconds between samples when comparing a zone with an IANA zone: no zone changes its offset
# twice within six hours.
_SAMPLE_STEP = 6 * 3600
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


class UnusableZone(ValueError):
    """The VTIMEZONE cannot be read (missing offsets, a non-yearly rule, too many onsets)."""


@dataclass(frozen=True, slots=True)
class Offsets:
    """UTC offsets (seconds) as a step function of UTC epoch seconds: ``after[i]`` applies from
    ``times[i]`` on, ``initial`` before ``times[0]``; ``names[i]`` is that period's TZNAME and
    ``dst[i]`` its DST amount (seconds)."""

    times: tuple[int, ...]
    after: tuple[int, ...]
    initial: int
    names: tuple[str, ...]
    dst: tuple[int, ...]
    covered: tuple[int, int]  # where the onsets were expanded: the offsets are exact here

    def at(self, instant: int) -> int:
        """The offset in force at ``instant`` (UTC epoch seconds)."""
        index = bisect.bisect_right(self.times, instant)
        return self.after[index - 1] if index else self.initial


def offsets_of(vtimezone: Component, span: tuple[int, int]) -> Offsets:
    """The offsets of ``vtimezone`` around ``span`` (UTC epoch seconds), or
    :class:`UnusableZone`."""
    low, high = span[0] - _REACH, span[1] + _REACH
    onsets: list[tuple[int, int, int, str, int]] = []  # (utc, from, to, name, dst)
    for part in vtimezone.subcomponents:
        if part.name not in ("STANDARD", "DAYLIGHT"):
            continue
        fields: Any = part  # icalendar types property lookups as a union of every value type
        try:
            start = _wall(fields["DTSTART"].dt)
            before = _seconds(fields["TZOFFSETFROM"].td)
            after = _seconds(fields["TZOFFSETTO"].td)
        except (KeyError, AttributeError, TypeError) as error:
            raise UnusableZone(f"a {part.name} block lacks DTSTART or an offset") from error
        name = str(part.get("TZNAME", ""))
        dst = after - before if part.name == "DAYLIGHT" and after > before else 0
        # RFC 5545: an onset's local time is given in the offset before it.
        for wall in _onset_walls(part, start, (low + before, high + before)):
            onsets.append((wall - before, before, after, name, dst))
            if len(onsets) > MAX_ONSETS:
                raise UnusableZone(f"more than {MAX_ONSETS} onsets")
    if not onsets:
        raise UnusableZone("no STANDARD or DAYLIGHT block")
    onsets.sort()
    return Offsets(
        times=tuple(o[0] for o in onsets),
        after=tuple(o[2] for o in onsets),
        initial=onsets[0][1],
        names=tuple(o[3] for o in onsets),
        dst=tuple(o[4] for o in onsets),
        covered=(low, high),
    )


def _onset_walls(part: Component, start: int, span: tuple[int, int]) -> Iterable[int]:
    """The local onsets (wall clock as epoch seconds) of one STANDARD/DAYLIGHT block: inside
    ``span``, plus the last one before it."""
    rules: Any = part.get("RRULE")
    if rules is None:
        walls = [start]
        for rdates in _as_list(part.get("RDATE")):
            for value in getattr(rdates, "dts", []):
                moment = value.dt[0] if isinstance(value.dt, tuple) else value.dt
                walls.append(_wall(moment))
                if len(walls) > MAX_ONSETS:
                    raise UnusableZone(f"more than {MAX_ONSETS} onsets")
        before = [w for w in walls if w < span[0]]
        return sorted({*([max(before)] if before else []), *(w for w in walls if w >= span[0])})
    walls_found: set[int] = set()
    for rule in _as_list(rules):
        if str(rule.get("FREQ", [""])[0]).upper() != "YEARLY":
            raise UnusableZone("only yearly rules are read in a VTIMEZONE")
        # An impossible rule (30 February) has no onsets; dateutil would seek one until 9999.
        if not never_recurs(rule, _naive(start).date()):
            walls_found.update(_yearly(rule, start, span))
    return sorted(walls_found)


def _yearly(rule: Any, start: int, span: tuple[int, int]) -> list[int]:
    """The onsets of a yearly rule in ``span`` and the last one before it (wall clock)."""
    # dateutil walks naive wall-clock values; UNTIL (given in UTC) is read as wall clock too,
    # near enough for onsets months apart.
    text = ";".join(
        part
        for part in rule.to_ical().decode().split(";")
        if part.split("=", 1)[0].upper() not in ("UNTIL", "FREQ")
    )
    interval = max(1, int(rule.get("INTERVAL", [1])[0]))
    dtstart = _naive(start)
    until = _naive(_wall(rule["UNTIL"][0])) if rule.get("UNTIL") else None
    # dateutil walks every year from DTSTART (Outlook writes 1601): start two years before
    # the span instead, a whole number of intervals later, unless COUNT needs the walk.
    skip = (_naive(span[0]).year - 2 - dtstart.year) // interval * interval
    if skip > 0 and not rule.get("COUNT") and (until is None or until.year > dtstart.year + skip):
        with contextlib.suppress(ValueError):  # 29 February in a common year: walk instead
            dtstart = dtstart.replace(year=dtstart.year + skip)
    parsed: Any = rrulestr(f"FREQ=YEARLY;{text}" if text else "FREQ=YEARLY", dtstart=dtstart)
    if until is not None:
        parsed = parsed.replace(until=until)
    first, last = _naive(span[0]), _naive(span[1])
    found = [_wall(moment) for moment in parsed.between(first, last, inc=True)]
    previous = parsed.before(first)
    if previous is not None:
        found.append(_wall(previous))
    return found


class FileZone(tzinfo):
    """A tzinfo made from :class:`Offsets` (itself made from a feed's VTIMEZONE)."""

    def __init__(self, key: str, offsets: Offsets) -> None:
        self.key = key
        self._offsets = offsets
        # Transition instants as local wall clock, per fold, the way zoneinfo finds them: fold 0
        # uses the larger of the two offsets around each transition, fold 1 the smaller.
        walls: tuple[list[int], list[int]] = ([], [])
        previous = offsets.initial
        for instant, after in zip(offsets.times, offsets.after, strict=True):
            walls[0].append(instant + max(previous, after))
            walls[1].append(instant + min(previous, after))
            previous = after
        self._walls = walls

    def _index(self, moment: datetime) -> int:
        local = _wall(moment)
        return bisect.bisect_right(self._walls[moment.fold], local) - 1

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        if dt is None:
            return None
        index = self._index(dt)
        offset = self._offsets.after[index] if index >= 0 else self._offsets.initial
        return timedelta(seconds=offset)

    def dst(self, dt: datetime | None) -> timedelta | None:
        if dt is None:
            return None
        index = self._index(dt)
        return timedelta(seconds=self._offsets.dst[index] if index >= 0 else 0)

    def tzname(self, dt: datetime | None) -> str | None:
        if dt is None:
            return self.key
        index = self._index(dt)
        return (self._offsets.names[index] if index >= 0 else "") or self.key

    def fromutc(self, dt: datetime) -> datetime:
        instant = _wall(dt)
        offsets = self._offsets
        index = bisect.bisect_right(offsets.times, instant) - 1
        offset = offsets.after[index] if index >= 0 else offsets.initial
        local = dt + timedelta(seconds=offset)
        if index >= 0:
            before = offsets.after[index - 1] if index > 0 else offsets.initial
            # The second pass through a wall-clock hour repeated by a fall-back transition.
            if before > offset and instant - offsets.times[index] < before - offset:
                return local.replace(fold=1)
        return local

    def __repr__(self) -> str:
        return f"FileZone({self.key!r})"


@functools.cache
def _iana_names() -> tuple[str, ...]:
    # Sorted, so the first match is the same on every machine.
    usual = sorted(set(WINDOWS_TO_OLSON.values()))
    return (*usual, *sorted(zoneinfo.available_timezones() - set(usual)))


def matching_iana_zone(offsets: Offsets, preferred: Sequence[str] = ()) -> ZoneInfo | None:
    """The IANA zone with exactly the offsets of ``offsets`` wherever they were expanded,
    trying ``preferred`` names first, then the zones Windows names map to (the usual zone of
    each region), then every zone by name; ``None`` when none matches."""
    span = offsets.covered
    inside = [t for t in offsets.times if span[0] <= t <= span[1]]
    # Each transition exactly and a second before it, so a zone changing an hour apart differs;
    # these few rule out almost every zone at once, the regular samples then check the rest.
    quick = [span[0], span[1], *inside, *(t - 1 for t in inside)]
    regular = range(span[0], span[1], _SAMPLE_STEP)
    quick_expected = [offsets.at(t) for t in quick]
    regular_expected = [offsets.at(t) for t in regular]
    for name in (*preferred, *_iana_names()):
        zone = _zone(name)
        if (
            zone is not None
            and all(_offset(zone, t) == e for t, e in zip(quick, quick_expected, strict=True))
            and all(_offset(zone, t) == e for t, e in zip(regular, regular_expected, strict=True))
        ):
            return zone
    return None


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (OSError, ValueError, zoneinfo.ZoneInfoNotFoundError):
        return None


def _offset(zone: tzinfo, instant: int) -> int:
    delta = datetime.fromtimestamp(instant, zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _seconds(delta: timedelta) -> int:
    return int(delta.total_seconds())


def _wall(moment: date | datetime) -> int:
    """A wall-clock reading as seconds since 1970-01-01T00:00 (its zone, if any, ignored)."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return (moment.replace(tzinfo=UTC) - _EPOCH) // _SECOND


def _naive(wall: int) -> datetime:
    """The naive wall-clock reading ``wall`` seconds after 1970-01-01T00:00 (dateutil walks
    rules on these)."""
    return (_EPOCH + timedelta(seconds=wall)).replace(tzinfo=None)
