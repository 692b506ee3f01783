"""iCalendar data → busy occurrences in a window: DESIGN §5 "What counts as busy" for ICS and
CalDAV sources (Google and Graph map their own events onto the same result type).

:func:`normalize` is pure: bytes and a window in, a :class:`NormalizedCalendar` out. Rules:

* only VEVENTs count; each occurrence that overlaps the window ``[start, end)`` is returned
  whole (not clipped), as UTC epoch seconds;
* recurrences (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides, ``RANGE=THISANDFUTURE``) are
  expanded by recurring-ical-events, only around the window;
* all-day, floating and unresolvable-TZID times are read in the calendar zone
  (:mod:`openslots.sync.timezones`); an unresolvable TZID also records a problem;
* not busy: ``TRANSP:TRANSPARENT``, ``STATUS:CANCELLED`` (any case), occurrences the owner
  declined (an ATTENDEE in ``owner_emails`` with ``PARTSTAT=DECLINED``), zero length;
  ``STATUS:TENTATIVE`` gives kind ``tentative``, everything else ``busy``;
* one occurrence per external id (UID + RECURRENCE-ID), whatever the order of components;
* at most ``max_instances_per_series`` per series; a truncated series is reported, and a rule
  whose expansion would be far larger (``FREQ=SECONDLY`` bombs) is refused before expanding;
* a bad series or component is skipped and reported; only a body that does not parse at all
  raises :class:`~openslots.errors.FeedInvalid`.
"""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

import x_wr_timezone  # type: ignore[import-untyped]
from icalendar import Calendar, Component
from recurring_ical_events import CalendarQuery  # type: ignore[import-untyped]
from recurring_ical_events.util import (  # type: ignore[import-untyped]
    to_recurrence_ids,
)

from openslots.engine.model import BlockKind, BusyBlock
from openslots.errors import FeedInvalid
from openslots.sync.rule_cost import rule_cost
from openslots.sync.timezones import calendar_zone, epoch, zone_named

__all__ = [
    "NormalizedCalendar",
    "NormalizedEvent",
    "Problem",
    "normalize",
]

# dateutil steps through this many rule periods in about a quarter of a second.
MAX_WALKED_PERIODS = 100_000
# A series may produce this many times the cap inside the window before it is refused rather
# than expanded and truncated: dateutil materializes every instance of the window first.
REFUSE_FACTOR = 10
# Expansion runs a day wider than the window on each side, so times read in a zone other than
# the query's still reach the exact UTC filter below.
_MARGIN = timedelta(days=1)
_DATED_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE", "DUE")

ProblemKind = Literal["skipped", "truncated", "warning"]


@dataclass(frozen=True, slots=True)
class NormalizedEvent:
    """One busy occurrence: ``external_id`` is the UID alone for a single event; for an
    occurrence of a series, UID + ``#`` + its RECURRENCE-ID as ``YYYYMMDDTHHMMSS`` in UTC (local
    wall clock for floating times, midnight for dates), the key recurring-ical-events uses."""

    external_id: str
    start: int
    end: int
    kind: BlockKind


@dataclass(frozen=True, slots=True)
class Problem:
    """What normalization skipped, cut short or guessed; ``uid`` is ``None`` for the file."""

    kind: ProblemKind
    uid: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class NormalizedCalendar:
    """The busy occurrences of a feed in a window, sorted, and the problems met on the way."""

    events: tuple[NormalizedEvent, ...]
    problems: tuple[Problem, ...]
    source: str

    def blocks(self) -> tuple[BusyBlock, ...]:
        """The engine's blocks, attributed to ``source``."""
        return tuple(BusyBlock(e.start, e.end, e.kind, self.source) for e in self.events)


def normalize(
    data: bytes,
    window: tuple[int, int],
    *,
    default_zone: str,
    owner_emails: frozenset[str] = frozenset(),
    source: str,
    max_instances_per_series: int = 10_000,
) -> NormalizedCalendar:
    """The busy occurrences of the iCalendar ``data`` that overlap ``window`` (UTC seconds).

    ``default_zone`` is the resource's IANA zone, used when the calendar names none;
    ``owner_emails`` are the calendar owner's addresses (any case), for declined invitations;
    ``source`` names the blocks' origin (echoed in the engine's reasons).
    """
    owners = frozenset(address.strip().lower() for address in owner_emails)
    problems: list[Problem] = []
    found: dict[str, NormalizedEvent] = {}
    # icalendar reports guessed zones as Python warnings; here they are per-feed problems.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for calendar in _parse(data):
            _normalize_calendar(
                calendar,
                window=window,
                default_zone=default_zone,
                owners=owners,
                cap=max_instances_per_series,
                found=found,
                problems=problems,
            )
    problems.extend(Problem("warning", None, str(w.message)) for w in caught)
    events = tuple(sorted(found.values(), key=lambda e: (e.start, e.end, e.external_id)))
    return NormalizedCalendar(events, tuple(sorted(set(problems), key=_problem_order)), source)


def _problem_order(problem: Problem) -> tuple[str, str, str]:
    return (problem.kind, problem.uid or "", problem.reason)


def _parse(data: bytes) -> list[Calendar]:
    """Every VCALENDAR in ``data`` (feeds may concatenate several), or :class:`FeedInvalid`."""
    try:
        calendars = Calendar.from_ical(data.removeprefix(b"\xef\xbb\xbf"), multiple=True)
    # icalendar raises ValueError for bad content lines, but tzdata leaks OSError for a TZID
    # such as "Europe" and other errors exist: nothing may escape as anything but FeedInvalid.
    except Exception as error:
        raise FeedInvalid(f"the calendar data does not parse: {error}") from error
    if not calendars:
        raise FeedInvalid("the calendar data holds no VCALENDAR")
    return list(calendars)


def _normalize_calendar(
    calendar: Calendar,
    *,
    window: tuple[int, int],
    default_zone: str,
    owners: frozenset[str],
    cap: int,
    found: dict[str, NormalizedEvent],
    problems: list[Problem],
) -> None:
    zone, zone_warnings = calendar_zone(calendar, default_zone)
    problems.extend(Problem("warning", None, text) for text in zone_warnings)
    # Before X-WR-TIMEZONE is applied: it turns the naive times of unknown TZIDs into aware ones.
    for component in calendar.walk("VEVENT"):
        # A component too broken to read is reported when its series is expanded.
        with contextlib.suppress(Exception):
            _check_zones(_uid(component), [component], zone, problems)
    if zone_named(calendar.get("X-WR-TIMEZONE")) is not None:
        # X-WR-TIMEZONE moves UTC-anchored series to the calendar's wall clock (SYNC-NOTES
        # §5.5). Not with ``timezone=``: that would override every explicit TZID too.
        try:
            calendar = x_wr_timezone.to_standard(calendar)
        except Exception as error:
            problems.append(Problem("warning", None, f"X-WR-TIMEZONE not applied: {error}"))
    span_start = datetime.fromtimestamp(window[0], UTC).astimezone(zone) - _MARGIN
    span_stop = datetime.fromtimestamp(window[1], UTC).astimezone(zone) + _MARGIN
    for uid, components in _series(calendar).items():
        try:
            occurrences = _expand(
                uid,
                components,
                window=window,
                span=(span_start, span_stop),
                cap=cap,
                problems=problems,
            )
            for component, start, end, recurrence_id in occurrences:
                event = _busy(
                    uid,
                    component,
                    (start, end),
                    recurrence_id,
                    zone=zone,
                    window=window,
                    owners=owners,
                )
                if event is not None:
                    previous = found.get(event.external_id)
                    # The same occurrence twice (duplicated override, repeated VCALENDAR): keep
                    # one, chosen by value so the answer does not depend on component order.
                    if previous is None or _order(event) < _order(previous):
                        found[event.external_id] = event
        except Exception as error:  # one bad series never drops the rest of the calendar
            problems.append(Problem("skipped", uid, f"{type(error).__name__}: {error}"))


def _order(event: NormalizedEvent) -> tuple[int, int, str]:
    return (event.start, event.end, event.kind)


def _series(calendar: Calendar) -> dict[str, list[Component]]:
    """The VEVENTs grouped by UID; one without a UID is its own series, named by its content."""
    groups: dict[str, list[Component]] = defaultdict(list)
    for component in calendar.walk("VEVENT"):
        groups[_uid(component)].append(component)
    # Sorted so that the answer does not depend on the order of the file's components.
    return {uid: sorted(group, key=lambda c: c.to_ical()) for uid, group in groups.items()}


def _uid(component: Component) -> str:
    """The UID, or for a component without one a name made from its content."""
    uid = component.get("UID")
    if uid is None or not str(uid):
        return f"no-uid-{hashlib.sha256(component.to_ical()).hexdigest()[:16]}"
    return str(uid)


def _check_zones(
    uid: str, components: list[Component], zone: ZoneInfo, problems: list[Problem]
) -> None:
    """Record each TZID icalendar could not resolve (it parses those as floating times)."""
    for component in components:
        for name in _DATED_PROPERTIES:
            for prop in _as_list(component.get(name)):
                tzid = getattr(prop, "params", {}).get("TZID")
                if tzid is not None and _is_naive(prop):
                    problems.append(
                        Problem("warning", uid, f"unknown TZID {tzid!r}, read in {zone.key}")
                    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _is_naive(prop: Any) -> bool:
    """Whether a date-time property (or any value of a list one, RDATE periods included) is
    naive."""
    values = [getattr(v, "dt", None) for v in getattr(prop, "dts", [])] or [
        getattr(prop, "dt", None)
    ]
    values = [v[0] if isinstance(v, tuple) else v for v in values]
    return any(isinstance(v, datetime) and v.tzinfo is None for v in values)


Occurrence = tuple[Component, date | datetime, date | datetime, date | datetime | None]


def _expand(
    uid: str,
    components: list[Component],
    *,
    window: tuple[int, int],
    span: tuple[datetime, datetime],
    cap: int,
    problems: list[Problem],
) -> list[Occurrence]:
    """The occurrences of one series around the window, at most ``cap`` of them."""
    for component in components:
        cost = rule_cost(component, window)
        if cost.walked > MAX_WALKED_PERIODS or cost.in_window > REFUSE_FACTOR * cap:
            raise ValueError(
                f"recurrence rule too expensive to expand ({cost.walked} periods to walk, "
                f"up to {cost.in_window} instances in the window)"
            )
    mini = Calendar()
    for component in components:
        mini.add_component(component)
    recurring = any(name in c for c in components for name in ("RRULE", "RDATE", "RECURRENCE-ID"))
    found: list[Occurrence] = []
    for query_series in CalendarQuery(mini).series:
        taken = list(islice(query_series.between(*span), cap + 1))
        if len(taken) > cap:
            taken = sorted(taken)[:cap]
            problems.append(Problem("truncated", uid, f"more than {cap} occurrences in window"))
        for o in taken:
            found.append(
                (o.as_component(False), o.start, o.end, _recurrence_id(o) if recurring else None)
            )
    return found


def _recurrence_id(occurrence: Any) -> date | datetime:
    """The RECURRENCE-ID an occurrence has or would have, normalized like recurring-ical-events
    does (UTC without tzinfo; floating times and dates as local wall clock)."""
    # The component the occurrence was made from; the library has no public accessor for it.
    adapter = occurrence._adapter
    if adapter.recurrence_ids and occurrence.start != adapter.start:
        # Generated from a RANGE=THISANDFUTURE override, which reports its own RECURRENCE-ID
        # for all of them (python-recurring-ical-events#222): undo the override's move.
        original: date | datetime = occurrence.start - adapter.move_recurrences_by
        return cast("date | datetime", to_recurrence_ids(original)[0])
    ids = occurrence.recurrence_ids or to_recurrence_ids(occurrence.start)
    return cast("date | datetime", ids[0])


def _busy(
    uid: str,
    component: Component,
    times: tuple[date | datetime, date | datetime],
    recurrence_id: date | datetime | None,
    *,
    zone: ZoneInfo,
    window: tuple[int, int],
    owners: frozenset[str],
) -> NormalizedEvent | None:
    """The busy occurrence, or ``None`` when it does not count (DESIGN §5)."""
    first, last = sorted(epoch(value, zone) for value in times)
    if first == last or last <= window[0] or first >= window[1]:
        return None
    if str(component.get("TRANSP", "OPAQUE")).strip().upper() == "TRANSPARENT":
        return None
    status = str(component.get("STATUS", "CONFIRMED")).strip().upper()
    if status == "CANCELLED" or _declined(component, owners):
        return None
    kind: BlockKind = "tentative" if status == "TENTATIVE" else "busy"
    return NormalizedEvent(_external_id(uid, recurrence_id), first, last, kind)


def _declined(component: Component, owners: frozenset[str]) -> bool:
    if not owners:
        return False
    for attendee in _as_list(component.get("ATTENDEE")):
        address = str(attendee).strip().lower().removeprefix("mailto:")
        partstat = str(getattr(attendee, "params", {}).get("PARTSTAT", "")).upper()
        if address in owners and partstat == "DECLINED":
            return True
    return False


def _external_id(uid: str, recurrence_id: date | datetime | None) -> str:
    """UID alone for a single event; UID + ``#`` + the RECURRENCE-ID for an occurrence."""
    if recurrence_id is None:
        return uid
    if isinstance(recurrence_id, datetime) and recurrence_id.tzinfo is not None:
        recurrence_id = recurrence_id.astimezone(UTC).replace(tzinfo=None)
    return f"{uid}#{recurrence_id.strftime('%Y%m%dT%H%M%S')}"
